"""Acting on a recommendation card: the right button for the right reader, the match it creates with
the ranking features recomputed on the server, no duplicates, and the card linking to the match."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from matchmaker.services.vectors import fitted_index
from models import Match
from tests import factories
from tests.pages import get_page


@pytest.fixture()
def world(db: Any) -> dict[str, Any]:
    """A published frailty challenge, three profiles of three companies, their staff and a coordinator."""
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    companies = [factories.make_company() for _ in range(3)]
    rows: dict[str, Any] = {
        "challenge": factories.make_challenge(kobe),
        "draft": factories.make_challenge(kobe, status="draft", title="【下書き】通いの場の見守り"),
        "fit": factories.make_solution(companies[0]),
        "sensor": factories.make_solution(
            companies[1], title="高齢者の見守りセンサー",
            summary="一人暮らし高齢者の自宅にセンサーを設置し、異常を家族に知らせる。"),
        "drone": factories.make_solution(
            companies[2], title="農薬散布ドローン", summary="ドローンで水田に農薬を散布する。",
            domains=["agriculture"], target_users="農家", track_record="", evidence=""),
        "owner": factories.make_user("municipal", organisation=kobe),
        "fit_staff": factories.make_user("company", organisation=companies[0]),
        "coordinator": factories.make_user("coordinator"),
    }
    db.session.commit()
    return rows


def _forms(page: BeautifulSoup, section: str) -> dict[int, Any]:
    """Card id → its act form, for the cards of a list."""
    return {int(card["data-id"]): card.select_one("form.act-on-recommendation")
            for card in page.select(f"{section} .match-card")}


def _submit(client: Any, form: Any, **changes: str) -> Any:
    """Post a form as a browser would: its hidden inputs and its submit button (plus any tampering)."""
    data = {i["name"]: i.get("value", "") for i in form.select("input")}
    button = form.select_one("button[type=submit]")
    data[button["name"]] = button["value"]
    data.update(changes)
    response = client.post(form["action"], data=data, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    return response


def _rounded(features: Any) -> dict[str, float]:
    return {name: round(float(value), 6) for name, value in features.items()}


@pytest.mark.parametrize("who", ["owner", "coordinator"])
def test_owner_and_coordinators_see_the_invite_button_on_each_solution(
        db: Any, client: Any, login_as: Any, world: dict[str, Any], who: str) -> None:
    login_as(world[who])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    forms = _forms(page, "#recommended-solutions")
    assert set(forms) == {world["fit"].id, world["sensor"].id, world["drone"].id}
    for solution_id, form in forms.items():
        assert form is not None and "この企業に声をかける" in form.get_text()
        values = {i["name"]: i.get("value") for i in form.select("input")}
        assert values["challenge_id"] == str(world["challenge"].id) and values["solution_id"] == str(solution_id)
        assert values["direction"] == "challenge_to_solution" and "features" not in values
    assert page.select("#similar-challenges form.act-on-recommendation") == []


def test_inviting_from_a_card_stores_the_features_the_ranker_computes(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    login_as(world["owner"])
    challenge, sensor = world["challenge"], world["sensor"]
    page = get_page(client, "matches.for_challenge", challenge_id=challenge.id)
    card = page.select_one(f'#recommended-solutions .match-card[data-id="{sensor.id}"]')
    _submit(client, _forms(page, "#recommended-solutions")[sensor.id])

    match = db.session.scalars(select(Match)).one()
    assert (match.challenge_id, match.solution_id, match.origin) == (challenge.id, sensor.id, "municipality_invite")
    expected = next(h for h in fitted_index().recommender.solutions_for(challenge.id, 10) if h.id == sensor.id)
    assert match.features["rank"] == int(card["data-rank"])
    assert match.features["direction"] == "challenge_to_solution"
    assert match.features["ranker"] == _rounded(expected.features)
    assert 0.0 <= match.features["score"] <= 1.0

    # The card now shows the stage and links to the match; the other cards keep their button.
    page = get_page(client, "matches.for_challenge", challenge_id=challenge.id)
    acted = page.select_one(f'#recommended-solutions .match-card[data-id="{sensor.id}"]')
    assert acted.select_one("form.act-on-recommendation") is None
    assert acted.select_one(".match-status [data-stage]")["data-stage"] == "recommended"
    assert acted.select_one(".match-status a")["href"].endswith(f"/matches/{match.id}")
    others = _forms(page, "#recommended-solutions")
    assert all(others[i] is not None for i in (world["fit"].id, world["drone"].id))


def test_a_second_click_does_not_duplicate_the_match(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    form = _forms(page, "#recommended-solutions")[world["fit"].id]
    _submit(client, form)
    first = db.session.scalars(select(Match)).one()
    features = dict(first.features)
    response = _submit(client, form, rank="7")  # e.g. from a stale tab: same pair
    assert "既にやり取りが始まっています" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [m.id for m in db.session.scalars(select(Match))] == [first.id]
    assert db.session.get(Match, first.id).features == features


def test_company_shows_interest_from_its_recommended_challenges(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    login_as(world["fit_staff"])
    challenge, fit = world["challenge"], world["fit"]
    page = get_page(client, "matches.for_solution", solution_id=fit.id)
    forms = _forms(page, "#recommended-challenges")
    assert set(forms) == {challenge.id}  # the draft is not recommended
    form = forms[challenge.id]
    assert "この課題に関心あり" in form.get_text()
    _submit(client, form)

    match = db.session.scalars(select(Match)).one()
    assert (match.solution_id, match.origin) == (fit.id, "company_interest")
    expected = fitted_index().recommender.challenges_for(fit.id, 10)[0]
    assert expected.id == challenge.id
    assert match.features["direction"] == "solution_to_challenge"
    assert match.features["ranker"] == _rounded(expected.features)
    page = get_page(client, "matches.for_solution", solution_id=fit.id)
    assert page.select_one("#recommended-challenges .match-status a")["href"].endswith(f"/matches/{match.id}")


def test_features_posted_by_the_browser_are_not_trusted(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["challenge"].id)
    form = _forms(page, "#recommended-solutions")[world["drone"].id]
    _submit(client, form, rank="0", score="7", features='{"fused": 99.0, "domain": 5}')
    match = db.session.scalars(select(Match)).one()
    assert "rank" not in match.features and "score" not in match.features
    assert match.features["ranker"]["fused"] != 99.0 and match.features["ranker"]["domain"] == 0.0


def test_no_button_for_readers_who_may_not_act_there(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    # A coordinator reading a company's recommended challenges: the company acts there, not the coordinator.
    login_as(world["coordinator"])
    page = get_page(client, "matches.for_solution", solution_id=world["fit"].id)
    assert page.select("#recommended-challenges .match-card")
    assert page.select("form.act-on-recommendation") == []
    # A draft cannot be offered to companies yet.
    login_as(world["owner"])
    page = get_page(client, "matches.for_challenge", challenge_id=world["draft"].id)
    assert page.select("#recommended-solutions .match-card")
    assert page.select("form.act-on-recommendation") == []


def test_the_buttons_are_also_on_the_challenge_page_panel_and_the_company_dashboard(
        db: Any, client: Any, login_as: Any, world: dict[str, Any]) -> None:
    login_as(world["owner"])
    page = get_page(client, "public.challenge", challenge_id=world["challenge"].id)
    panel_forms = page.select("#panel-recommendations form.act-on-recommendation")
    assert panel_forms and all("この企業に声をかける" in form.get_text() for form in panel_forms)
    drone_form = next(f for f in panel_forms
                      if f.select_one("input[name=solution_id]")["value"] == str(world["drone"].id))
    _submit(client, drone_form)
    assert db.session.scalars(select(Match)).one().solution_id == world["drone"].id

    login_as(world["fit_staff"])
    page = get_page(client, "company.dashboard")
    forms = page.select("form.act-on-recommendation")
    assert [form.select_one("input[name=challenge_id]")["value"] for form in forms] == [str(world["challenge"].id)]
    assert "この課題に関心あり" in forms[0].get_text()
