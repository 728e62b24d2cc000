"""Recommendation pages on real rows embedded with the bundled encoder (a handful of rows)."""

from __future__ import annotations

import pytest
from flask import g, render_template_string
from flask_login import login_user
from sqlalchemy import select

from matchmaker.services import vectors
from models import CompanyExposure
from tests import factories
from tests.pages import get_page, page_text

pytestmark = pytest.mark.slow


@pytest.fixture()
def world(db):
    """Frailty challenges of two municipalities, a draft, a closed one; a fitting and an unrelated profile."""
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    osaka = factories.make_municipality(name="大阪テスト市", prefecture="大阪府")
    fit_company = factories.make_company(name="株式会社ミライケア")
    other_company = factories.make_company(name="株式会社ジビエテック")
    rows = {
        "challenge": factories.make_challenge(organisation=kobe),
        "own_similar": factories.make_challenge(
            organisation=kobe, title="通いの場の参加者の把握と声かけ",
            problem="通いの場を休みがちな高齢者を把握できず、フレイルの進行に気づくのが遅れている。"),
        "elsewhere": factories.make_challenge(
            organisation=osaka, title="介護予防のための通いの場の活性化",
            problem="高齢者の通いの場への参加が減り、フレイル予防の効果が出ていない。欠席者の状況が分からない。"),
        "draft": factories.make_challenge(
            organisation=osaka, status="draft", title="【下書き】避難所の開設状況の共有",
            problem="災害時に避難所の開設・混雑状況を住民に伝える手段が防災無線しかない。",
            domains=["disaster"]),
        "closed": factories.make_challenge(
            organisation=osaka, status="closed", title="【終了】観光客の周遊促進",
            problem="観光客が駅周辺にとどまり、市内の周遊や宿泊につながっていない。", domains=["tourism"]),
        "fit": factories.make_solution(organisation=fit_company),
        "unrelated": factories.make_solution(
            organisation=other_company, title="イノシシ・シカ用 IoT捕獲わなセンサー",
            summary="わなの作動を猟友会のスマートフォンに通知し、見回りの負担を減らす。",
            target_users="農林水産課、猟友会", track_record="中山間地の3町で導入",
            evidence="見回り回数が週5回から週1回に減った。", regions=["北海道"], domains=["agriculture"],
            collaboration_forms=["outsourcing"], price_min=300_000, price_max=900_000),
    }
    rows["owner"] = factories.make_user("municipal", organisation=kobe)
    rows["fit_staff"] = factories.make_user("company", organisation=fit_company)
    return rows


def _embed(db, rows) -> None:
    """Embed every row with the real encoder, batched (what the first request does in the app)."""
    db.session.commit()
    assert vectors.sync_all_vectors() > 0


def _cards(page, section: str) -> list[tuple[str, int]]:
    return [(c["data-kind"], int(c["data-id"])) for c in page.select(f"{section} .match-card")]


def _marked(card) -> list[str]:
    return [m.get_text() for m in card.select(".reasons mark")]


def test_fitting_solution_ranks_first_with_a_shared_phrase(client, login_as, db, world):
    _embed(db, world)
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    ids = [i for kind, i in _cards(page, "#recommended-solutions")]
    assert ids and ids[0] == world["fit"].id
    if world["unrelated"].id in ids:
        assert ids.index(world["unrelated"].id) > ids.index(world["fit"].id)
    top = page.select_one("#recommended-solutions .match-card")
    assert top.select_one(".score-bar") is not None and "株式会社ミライケア" in page_text(top)
    phrases = _marked(top)
    challenge, fit = world["challenge"], world["fit"]
    challenge_text = "\n".join(getattr(challenge, f) for f in ("title", "problem", "background", "causes",
                                                              "affected", "target_state"))
    solution_text = "\n".join(getattr(fit, f) for f in ("title", "summary", "target_users", "track_record",
                                                         "evidence"))
    assert any(p in challenge_text and p in solution_text for p in phrases), phrases
    reasons = " ".join(li.get_text() for li in top.select(".reasons li"))
    assert "共通する語" in reasons or "分野が一致" in reasons
    assert page.select_one(".vectors-pending") is None


def test_similar_challenges_are_other_municipalities_published_ones(client, login_as, db, world):
    _embed(db, world)
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    ids = [i for _kind, i in _cards(page, "#similar-challenges")]
    assert world["elsewhere"].id in ids
    for hidden in ("draft", "closed", "own_similar", "challenge"):
        assert world[hidden].id not in ids


def test_company_sees_only_published_challenges(client, login_as, db, world):
    _embed(db, world)
    login_as(world["fit_staff"])
    page = get_page(client, "matches.for_solution", solution_id=world["fit"].id)
    ids = [i for _kind, i in _cards(page, "#recommended-challenges")]
    assert set(ids) <= {world["challenge"].id, world["own_similar"].id, world["elsewhere"].id}
    assert world["challenge"].id in ids and world["draft"].id not in ids
    assert "【下書き】" not in page_text(page)
    assert page.select_one("#recommended-challenges .reasons li") is not None


def test_company_dashboard_lists_profiles_with_top_challenges(client, login_as, db, world):
    _embed(db, world)
    login_as(world["fit_staff"])
    page = get_page(client, "company.dashboard")
    [section] = page.select(".solution-summary")
    assert section["data-id"] == str(world["fit"].id)
    ids = [int(c["data-id"]) for c in section.select(".match-card")]
    assert 1 <= len(ids) <= 3 and world["draft"].id not in ids


def test_viewing_recommendations_counts_exposure(client, login_as, db, world):
    _embed(db, world)
    login_as(world["owner"])
    get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    row = db.session.scalar(select(CompanyExposure).where(
        CompanyExposure.organisation_id == world["fit"].organisation_id))
    assert row is not None and row.shown == 2 and row.top3 == 2


def test_pending_vectors_show_a_note_and_the_lexical_channel_still_ranks(client, login_as, db, world):
    db.session.commit()  # nothing embedded
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    assert page.select_one(".vectors-pending") is not None
    ids = [i for _kind, i in _cards(page, "#recommended-solutions")]
    assert ids and ids[0] == world["fit"].id


def _panel(app, challenge, user=None):
    with app.test_request_context("/"):
        if user is not None:
            login_user(user)
        html = render_template_string('{% include "matches/_challenge_panel.html" %}', challenge=challenge)
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def test_panel_shows_recommendations_only_to_the_owner_and_staff(app, db, world):
    _embed(db, world)
    anonymous = _panel(app, world["challenge"])
    assert anonymous.select_one("#all-recommendations") is None
    assert ("solution", world["fit"].id) not in _cards(anonymous, "#recommend-panel")
    assert ("challenge", world["elsewhere"].id) in _cards(anonymous, "#recommend-panel")
    company = _panel(app, world["challenge"], world["fit_staff"])
    assert company.select_one("#all-recommendations") is None
    owner = _panel(app, world["challenge"], world["owner"])
    assert owner.select_one("#all-recommendations") is not None
    assert ("solution", world["fit"].id) in _cards(owner, "#recommend-panel")


def test_public_challenge_page_includes_the_panel_and_counts_exposure(client, login_as, db, world):
    db.session.commit()  # not embedded: the lexical channel ranks
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    assert page.select_one("#panel-similar") is not None
    assert page.select_one("#panel-recommendations") is None
    assert db.session.scalar(select(CompanyExposure)) is None
    g.pop("_login_user", None)  # requests share the test's app context, where Flask-Login caches the user
    login_as(world["owner"])
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    assert ("solution", world["fit"].id) in _cards(page, "#panel-recommendations")
    with db.engine.connect() as other:  # committed, not just pending in the shared session
        shown = other.scalar(select(CompanyExposure.shown).where(
            CompanyExposure.organisation_id == world["fit"].organisation_id))
    assert shown == 1


def _shown_score(page, section: str, kind: str, ident: int) -> str:
    card = page.select_one(f'{section} .match-card[data-kind="{kind}"][data-id="{ident}"]')
    assert card is not None, f"{kind} {ident} is not listed in {section}"
    return f'{card.select_one(".score-num").get_text(strip=True)} ({card["data-score"]})'


def test_a_pair_shows_the_same_score_on_both_sides_with_its_explanation(client, login_as, db, world):
    """The challenge's list and the profile's list show one 適合度 for the pair, and both pages say
    what it means, in Japanese and in English."""
    _embed(db, world)
    challenge, fit = world["challenge"], world["fit"]
    shown = {}
    for lang, says in (("ja", "課題のページでも企業のページでも同じ値"), ("en", "show the same number")):
        client.post("/language", data={"locale": lang, "next": "/"})
        login_as(world["owner"])
        page = get_page(client, "matches.for_challenge", challenge_id=challenge.id)
        shown["challenge page"] = _shown_score(page, "#recommended-solutions", "solution", fit.id)
        assert says in page_text(page.select_one("#recommended-solutions .score-note"))
        login_as(world["fit_staff"])
        page = get_page(client, "matches.for_solution", solution_id=fit.id)
        shown["profile page"] = _shown_score(page, "#recommended-challenges", "challenge", challenge.id)
        assert says in page_text(page.select_one("#recommended-challenges .score-note"))
        assert shown["challenge page"] == shown["profile page"], shown
    client.post("/language", data={"locale": "ja", "next": "/"})
