"""Similar challenges of other municipalities (ヨコ展開): only relevant ones, with the solutions that went
somewhere on them as far as the reader may see, and the case library in the navigation.

Pages are embedded with the bundled encoder, as in tests/test_recommend_pages.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import url_for

from embeddings.recommender import Recommendation
from matchmaker.services import similar, vectors
from tests import factories
from tests.pages import get_page
from tests.pipeline_factories import make_match, make_pilot

UNRELATED = {  # another domain and none of the frailty challenge's words
    "title": "ニホンジカによる農作物の食害を減らしたい",
    "background": "山あいの畑や果樹園でシカが作物を食べ、収穫量が3年で2割減った。猟友会の担い手も減っている。",
    "problem": "わなを仕掛けても見回りが追いつかず、捕獲数が伸びないまま農家が耕作をやめつつある。",
    "causes": "わなの設置場所が広く点在し、毎日の見回りに半日かかる。",
    "affected": "中山間地の農家、猟友会の会員、農林課の職員",
    "target_state": "見回りの手間を減らし、捕獲数を増やして作物の被害額を半分にする。",
    "kpis": "被害額: 800万円 → 400万円",
    "constraints": "鳥獣保護管理法に沿った捕獲許可が要る。",
    "offerings": "わなを置く山林と農地、捕獲記録",
    "domains": ["agriculture"],
    "collaboration_forms": ["outsourcing"],
    "contact_department": "産業振興部 農林課",
}
RELATED = {  # the same problem in another city (the factory's other fields are frailty ones too)
    "title": "介護予防のための通いの場の活性化",
    "problem": "高齢者の通いの場への参加が減り、フレイル予防の効果が出ていない。欠席者の状況が分からない。",
}
FILLERS = [  # other topics, each of its own municipality: a reference distribution of candidates
    ("disaster", "避難所の開設状況を住民に素早く知らせたい", "大雨のとき、避難所が開いたか、混んでいるかを住民に伝える手段が防災無線しかない。"),
    ("tourism", "観光客の市内周遊を増やしたい", "観光客が駅の周りにとどまり、市内の商店や宿に足を延ばさない。"),
    ("transport", "路線バスが減った地区の移動手段を確保したい", "バスの減便で、通学や買い物に出られない住民が増えている。"),
    ("childcare", "保育所の入所選考の事務を軽くしたい", "入所選考を表計算ソフトで手作業しており、毎年2月に職員の残業が集中する。"),
    ("education", "教員の校務の負担を減らしたい", "欠席連絡の電話と紙の配布物の印刷に、毎朝教員の時間がとられている。"),
    ("environment", "ごみの分別ルール違反を減らしたい", "集積所に分別されていないごみが出され、収集されずに残っている。"),
    ("vacant_houses", "空き家の所有者を早く把握したい", "老朽化した空き家の所有者が分からず、対策の連絡ができない。"),
    ("counter_dx", "転入手続きの窓口の待ち時間を短くしたい", "3月と4月は転入の手続きに2時間待ちになり、苦情が絶えない。"),
]
TWIN = {  # the frailty topic word for word, but tagged with another domain
    "title": "高齢者のフレイル予防に向けた通いの場の参加促進と見守り",
    "domains": ["welfare"],
}


def _path(endpoint: str, **values: Any) -> str:
    """The link as the page writes it (url_for outside a request would add the host)."""
    return url_for(endpoint, _external=False, **values)


def _embed(db: Any) -> None:
    db.session.commit()
    assert vectors.sync_all_vectors() > 0


@pytest.fixture()
def world(db: Any) -> dict[str, Any]:
    """A frailty challenge (神戸), a related one (大阪) and an unrelated one (北海道), with matches on the
    related one at every stage and a user of each kind."""
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    osaka = factories.make_municipality(name="大阪テスト市", prefecture="大阪府")
    hokkaido = factories.make_municipality(name="北海道テスト町", prefecture="北海道")
    rows: dict[str, Any] = {
        "challenge": factories.make_challenge(organisation=kobe),
        "related": factories.make_challenge(organisation=osaka, **RELATED),
        "unrelated": factories.make_challenge(organisation=hokkaido, **UNRELATED),
        "owner": factories.make_user("municipal", organisation=kobe),
        "coordinator": factories.make_user("coordinator"),
    }
    related = rows["related"]
    for stage, company in (("adopted", "株式会社ミライケア"), ("reported", "株式会社カヨイバ"),
                           ("pilot", "株式会社ジッショウ"), ("proposal", "株式会社テイアン"),
                           ("closed", "株式会社オワリ"), ("recommended", "株式会社スイセン")):
        org = factories.make_company(name=company)
        solution = factories.make_solution(organisation=org, title=f"{company}の見守りサービス")
        if stage == "reported":
            match = make_match(related, solution, stage="pilot", pilot=make_pilot(reported=True, verdict="partial"))
        else:
            match = make_match(related, solution, stage=stage)
        rows[f"match_{stage}"] = match
    rows["proposer"] = factories.make_user("company", organisation=rows["match_proposal"].solution.organisation)
    rows["other_company_user"] = factories.make_user("company")
    return rows


def _similar_ids(page: Any, section: str = "#panel-similar") -> list[int]:
    return [int(card["data-id"]) for card in page.select(f"{section} .match-card")]


def _uses(page: Any, challenge_id: int, section: str = "#panel-similar") -> list[tuple[int, str, str]]:
    card = page.select_one(f'{section} .match-card[data-id="{challenge_id}"]')
    assert card is not None, f"challenge {challenge_id} is not among the similar ones"
    return [(int(li["data-match-id"]), li["data-stage"], li.select_one("a")["href"])
            for li in card.select(".solution-use")]


def _reader(role: str, world: dict[str, Any], login_as: Any) -> Any:
    if role == "anonymous":
        return None
    user = {"municipal": world["owner"], "company": world["other_company_user"]}[role]
    return login_as(user)


# --- 1. only relevant similar challenges ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "municipal", "company"])
def test_related_challenge_of_another_city_is_shown_and_an_unrelated_one_is_not(
        client: Any, login_as: Any, db: Any, world: dict[str, Any], role: str) -> None:
    _embed(db)
    _reader(role, world, login_as)
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    ids = _similar_ids(page)
    assert world["related"].id in ids
    assert world["unrelated"].id not in ids
    reasons = " ".join(li.get_text() for li in page.select(f'#panel-similar .match-card[data-id="{world["related"].id}"] .reasons li'))
    assert "分野が一致" in reasons or "共通する語" in reasons


@pytest.mark.slow
def test_owner_recommendation_page_applies_the_same_rule(client: Any, login_as: Any, db: Any,
                                                         world: dict[str, Any]) -> None:
    _embed(db)
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    ids = _similar_ids(page, "#similar-challenges")
    assert world["related"].id in ids and world["unrelated"].id not in ids


@pytest.mark.slow
def test_with_many_candidates_an_outstanding_text_crosses_domains_but_the_unrelated_stays_out(
        client: Any, db: Any, world: dict[str, Any]) -> None:
    for domain, title, problem in FILLERS:
        factories.make_challenge(organisation=factories.make_municipality(), title=title, problem=problem,
                                 **{k: v for k, v in UNRELATED.items() if k not in ("title", "problem")}
                                 | {"domains": [domain]})
    twin = factories.make_challenge(organisation=factories.make_municipality(), **TWIN)
    _embed(db)
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    ids = _similar_ids(page)
    assert ids[:2] and set(ids[:2]) == {twin.id, world["related"].id}
    assert world["unrelated"].id not in ids
    assert not set(ids) - {twin.id, world["related"].id}, "a filler of another domain was shown"


# --- 2. the solutions matched to a similar challenge -----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "municipal", "company"])
def test_the_public_sees_adoptions_and_finished_pilots_linked_to_the_case_pages(
        client: Any, login_as: Any, db: Any, world: dict[str, Any], role: str) -> None:
    _embed(db)
    _reader(role, world, login_as)  # none of them is a party to the related challenge's matches
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    uses = _uses(page, world["related"].id)
    adopted, reported = world["match_adopted"], world["match_reported"]
    assert uses == [(adopted.id, "adopted", _path("matches.case", match_id=adopted.id)),
                    (reported.id, "pilot", _path("matches.case", match_id=reported.id))]
    card = page.select_one(f'#panel-similar .match-card[data-id="{world["related"].id}"]')
    text = card.get_text(" ")
    assert "株式会社ミライケア" in text and "株式会社カヨイバ" in text and "一部成功" in text
    for hidden in ("株式会社ジッショウ", "株式会社テイアン", "株式会社オワリ", "株式会社スイセン"):
        assert hidden not in text
    for _match_id, _stage, href in uses:
        assert client.get(href).status_code == 200


@pytest.mark.slow
def test_a_company_also_sees_its_own_proposal_linked_to_the_match(client: Any, login_as: Any, db: Any,
                                                                  world: dict[str, Any]) -> None:
    _embed(db)
    login_as(world["proposer"])
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    uses = _uses(page, world["related"].id)
    proposal = world["match_proposal"]
    assert [(i, stage) for i, stage, _href in uses] == [
        (world["match_adopted"].id, "adopted"), (world["match_reported"].id, "pilot"), (proposal.id, "proposal")]
    assert uses[2][2] == _path("matches.match", match_id=proposal.id)
    assert uses[0][2] == _path("matches.case", match_id=world["match_adopted"].id)
    assert client.get(uses[2][2]).status_code == 200


@pytest.mark.slow
def test_a_coordinator_sees_matches_in_progress_adopted_and_piloted_first(client: Any, login_as: Any, db: Any,
                                                                          world: dict[str, Any]) -> None:
    _embed(db)
    login_as(world["coordinator"])
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    uses = _uses(page, world["related"].id)
    expected = [world["match_adopted"], world["match_reported"], world["match_pilot"]]  # at most three
    assert [(i, href) for i, _stage, href in uses] == [
        (m.id, _path("matches.match", match_id=m.id)) for m in expected]


@pytest.mark.slow
def test_owner_recommendation_page_shows_the_cases_of_similar_challenges(client: Any, login_as: Any, db: Any,
                                                                         world: dict[str, Any]) -> None:
    _embed(db)
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    uses = _uses(page, world["related"].id, "#similar-challenges")
    assert [i for i, _stage, _href in uses] == [world["match_adopted"].id, world["match_reported"].id]


# --- 3. the case library in the navigation and on the landing page ----------------------------------


@pytest.mark.parametrize("role", ["anonymous", "municipal", "company"])
def test_case_library_is_linked_from_the_navigation_and_the_landing_page(
        client: Any, login_as: Any, db: Any, role: str) -> None:
    if role != "anonymous":
        login_as(role)
    cases = _path("matches.cases")
    page = get_page(client, "public.index")
    assert page.select_one("header nav #nav-cases")["href"] == cases
    assert page.select_one("#case-library #index-cases-link")["href"] == cases
    page = get_page(client, "public.challenges")
    assert page.select_one("header nav #nav-cases")["href"] == cases
    assert client.get(cases).status_code == 200


# --- the rule itself, on hand-made hits --------------------------------------------------------------


def _hit(i: int, text: float) -> Recommendation:
    return Recommendation(id=i, score=0.0, rank=i, features={"forward": text})


def test_a_shared_domain_needs_at_least_a_median_text_score() -> None:
    hits = [_hit(1, 2.0), _hit(2, 0.5), _hit(3, -1.0), _hit(4, 0.1)]
    domains = {1: ["frailty"], 2: ["frailty"], 3: ["frailty"], 4: ["tourism"]}
    kept = similar.relevant_similar(hits, ["frailty", "health"], domains)
    assert [h.id for h in kept] == [1, 2]


def test_an_outstanding_text_score_needs_no_shared_domain_but_enough_candidates() -> None:
    many = [_hit(1, 5.0)] + [_hit(i, 0.1 * (i % 4)) for i in range(2, 12)]
    kept = similar.relevant_similar(many, ["frailty"], {})
    assert [h.id for h in kept] == [1]
    few = many[: similar.MIN_REFERENCE - 1]
    assert similar.relevant_similar(few, ["frailty"], {}) == []
    below = [_hit(1, 0.6)] + many[1:]  # above the others, but not by STRONG_TEXT_Z spreads
    assert similar.relevant_similar(below, ["frailty"], {}) == []


def test_nothing_in_nothing_out() -> None:
    assert similar.relevant_similar([], ["frailty"], {}) == []
