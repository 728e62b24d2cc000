"""Japanese search over public challenges: two-character words, ranking, facets, pagination."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from matchmaker.services import search
from tests import factories
from tests.challenge_helpers import reembeds  # noqa: F401  (autouse fixture)
from tests.pages import get_page, page_text

TODAY = date(2026, 6, 1)
NEUTRAL = {
    "background": "人口は12万人。市の現状を整理する。", "problem": "担当職員が少なく、対応が追いつかない。", "causes": "人手不足",
    "affected": "市民", "target_state": "市民が安心して暮らせる状態", "kpis": "満足度: 60% → 80%", "constraints": "特になし",
    "offerings": "職員の関与", "domains": ["economy"], "collaboration_forms": ["pilot"], "contact_department": "企画課",
}


def make(title: str, *, status: str = "published", days: int = 0, **fields):
    """A challenge with neutral text (no 防災, no 農業) except where the test says so."""
    values = {**NEUTRAL, **fields}
    published_at = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=days)
    return factories.make_challenge(title=title, status=status, published_at=published_at, **values)


def ids(params: search.SearchParams) -> list[int]:
    return search.search(params, TODAY).ids


@pytest.fixture()
def corpus(db):
    c = {
        "bousai": make("避難所運営の省力化", problem="大雨のたびに避難所の受付に職員が張り付き、防災担当の負担が大きい。", days=1),
        "bousai_closed": make("防災無線の聞こえにくさ", status="closed", days=2),
        "nougyou": make("担い手不足への対応", background="市内の農業従事者は10年で3割減った。", days=3),
        "choju": make("農業被害を減らす鳥獣対策", problem="シカとイノシシによる農業被害が年間4,000万円に達している。", days=4),
        "other": make("図書館の利用促進", days=5),
        "draft": make("防災訓練の参加者を増やしたい", status="draft"),
        "review": make("農業体験の受け入れ", status="in_review"),
    }
    db.session.commit()
    return c


def test_two_character_query_finds_exactly_the_published_challenges_containing_it(corpus):
    assert set(ids(search.SearchParams(q="防災"))) == {corpus["bousai"].id, corpus["bousai_closed"].id}
    assert set(ids(search.SearchParams(q="農業"))) == {corpus["nougyou"].id, corpus["choju"].id}


def test_a_word_absent_everywhere_finds_nothing(corpus):
    assert ids(search.SearchParams(q="観光船")) == []


def test_longer_queries_rank_by_relevance(corpus):
    ranked = ids(search.SearchParams(q="農業 鳥獣被害"))
    assert ranked == [corpus["choju"].id]
    ranked = ids(search.SearchParams(q="農業"))
    assert ranked[0] == corpus["choju"].id  # in the title, twice in the text


def test_every_term_must_match_and_width_is_normalised(db, corpus):
    ai = make("ＡＩ相談窓口の検証", problem="問い合わせが年間1万件あり、回答に平均3日かかっている。AIの活用も含めて検討したい。")
    db.session.commit()
    assert ids(search.SearchParams(q="ai")) == [ai.id]
    assert ids(search.SearchParams(q="AI 防災")) == []


def test_a_long_term_matches_text_with_a_particle_in_between(db, corpus):
    watch = make("高齢者の見守りの担い手確保")
    db.session.commit()
    assert ids(search.SearchParams(q="高齢者見守り")) == [watch.id]


def test_domain_labels_are_searchable(db, corpus):
    tagged = make("避難の呼びかけ", domains=["disaster"])
    db.session.commit()
    assert tagged.id in ids(search.SearchParams(q="減災"))


def test_facets_filter_and_count_the_other_facets(db, corpus):
    corpus["choju"].domains = ["agriculture"]
    corpus["nougyou"].domains = ["agriculture", "economy"]
    corpus["choju"].organisation.prefecture = "長野県"
    corpus["choju"].collaboration_forms = ["pilot", "joint_research"]
    db.session.commit()

    result = search.search(search.SearchParams(domain="agriculture"), TODAY)
    assert set(result.ids) == {corpus["nougyou"].id, corpus["choju"].id}
    domain_counts = {f.value: f.count for f in result.facets["domain"]}
    assert domain_counts["agriculture"] == 2 and domain_counts["economy"] == 4  # own facet ignores its filter
    assert {f.value: f.count for f in result.facets["prefecture"]} == {"兵庫県": 1, "長野県": 1}
    assert {f.value for f in result.facets["domain"] if f.selected} == {"agriculture"}

    result = search.search(search.SearchParams(domain="agriculture", prefecture="長野県", form="joint_research"), TODAY)
    assert result.ids == [corpus["choju"].id]
    assert search.search(search.SearchParams(q="防災", domain="agriculture"), TODAY).ids == []


def test_open_and_closed_by_deadline(db, corpus):
    corpus["other"].deadline = TODAY - timedelta(days=1)  # published but past its deadline
    corpus["bousai"].deadline = TODAY  # the deadline day itself is still open
    db.session.commit()
    open_ids = set(ids(search.SearchParams(state="open")))
    closed_ids = set(ids(search.SearchParams(state="closed")))
    assert corpus["bousai"].id in open_ids and corpus["nougyou"].id in open_ids
    assert closed_ids == {corpus["other"].id, corpus["bousai_closed"].id}
    counts = {f.value: f.count for f in search.search(search.SearchParams(), TODAY).facets["state"]}
    assert counts == {"open": 3, "closed": 2}


def test_newest_first_without_a_query_and_pagination(corpus):
    every = ids(search.SearchParams(page_size=50))
    assert every == [corpus[k].id for k in ("other", "choju", "nougyou", "bousai_closed", "bousai")]
    result = search.search(search.SearchParams(page=2, page_size=2), TODAY)
    assert result.ids == every[2:4]
    assert (result.total, result.pages, result.page) == (5, 3, 2)
    assert search.search(search.SearchParams(page=99, page_size=2), TODAY).ids == every[4:]


def test_the_index_is_reused_until_a_challenge_changes(app, db, corpus):
    first = search.challenge_index()
    assert search.challenge_index() is first
    assert app.extensions[search.EXTENSION_KEY] is first
    corpus["review"].status = "published"
    corpus["review"].published_at = datetime.now(UTC)
    db.session.commit()
    rebuilt = search.challenge_index()
    assert rebuilt is not first
    assert corpus["review"].id in ids(search.SearchParams(q="農業"))


# --- the page -------------------------------------------------------------------------------

def test_search_page_shows_matches_facets_and_keeps_the_query(client, corpus):
    page = get_page(client, "public.challenges", q="防災")
    results = page_text(page.find(class_="results"))
    assert "避難所運営の省力化" in results and "防災無線の聞こえにくさ" in results
    assert "担い手不足への対応" not in results and "防災訓練の参加者を増やしたい" not in results
    assert "「防災」の検索結果：2件" in page_text(page)
    assert page.find("input", attrs={"name": "q"})["value"] == "防災"
    state = page.find(id="facet-state")
    assert state.find("li", attrs={"data-value": "open"}).find(class_="count").text == "1"


def test_search_page_facet_links_and_pagination(app, client, corpus):
    app.config["PAGE_SIZE"] = 2
    page = get_page(client, "public.challenges")
    assert "5件（新着順）" in page_text(page)
    assert page.find("a", rel="next")
    link = page.find(id="facet-domain").find("li", attrs={"data-value": "economy"}).a["href"]
    assert "domain=economy" in link
    page = get_page(client, "public.challenges", domain="economy", page=3)
    assert "図書館の利用促進" not in page_text(page)
    assert page.find("a", rel="prev")


def test_bad_facet_values_are_ignored(client, corpus):
    page = get_page(client, "public.challenges", domain="<script>", state="maybe", page="x")
    assert "5件" in page_text(page)
