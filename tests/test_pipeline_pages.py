"""Pipeline pages: acting on a recommendation, the match page and its timeline, close and adopt,
my matches, notifications and the public case library."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import render_template_string, url_for
from sqlalchemy import select

from matchmaker.services import matches as match_service
from matchmaker.services import notify
from models import Match, Notification
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import (
    make_challenge,
    make_match,
    make_notification,
    make_pair,
    make_pilot,
    make_proposal,
    make_solution,
    make_user,
    switch_user,
)


def test_company_expresses_interest(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = post_page(client, "matches.act", {"challenge_id": pair.challenge.id, "solution_id": pair.solution.id,
                                             "rank": "2", "score": "0.81", "direction": "solution_to_challenge"})
    match = db.session.scalars(select(Match)).one()
    assert (match.stage, match.origin) == ("recommended", "company_interest")
    features = dict(match.features)
    ranker = features.pop("ranker")  # recomputed on the server (tests/test_act_on_recommendation.py)
    assert features == {"rank": 2, "score": 0.81, "direction": "solution_to_challenge"}
    assert "fused" in ranker
    assert page.find("h1").get_text().startswith(pair.challenge.title)
    told = db.session.scalars(select(Notification).where(Notification.user_id == pair.owner.id)).one()
    assert told.kind == "match.interest"
    # Acting twice does not create a second match.
    post_page(client, "matches.act", {"challenge_id": pair.challenge.id, "solution_id": pair.solution.id})
    assert len(db.session.scalars(select(Match)).all()) == 1


def test_municipality_approaches_a_company(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.owner)
    post_page(client, "matches.act", {"challenge_id": pair.challenge.id, "solution_id": pair.solution.id})
    match = db.session.scalars(select(Match)).one()
    assert match.origin == "municipality_invite"
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == pair.company_user.id)).all() == [
        "match.invited"]


@pytest.mark.parametrize("who", ["other_municipality", "other_company"])
def test_acting_for_someone_else_is_refused(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair = make_pair()
    login_as(make_user("municipal" if who == "other_municipality" else "company"))
    post_page(client, "matches.act", {"challenge_id": pair.challenge.id, "solution_id": pair.solution.id},
              expected_status=403)
    assert db.session.scalars(select(Match)).all() == []


def test_the_act_include_renders_the_right_button(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    with client.application.test_request_context():
        from flask_login import login_user

        login_user(pair.company_user)
        html = render_template_string('{% include "matches/_act_on_recommendation.html" %}',
                                      challenge=pair.challenge, solution=pair.solution,
                                      card={"rank": 3, "score": 0.5, "kind": "challenge", "features": {"dense": 0.7}})
    page = BeautifulSoup(html, "html.parser")
    assert "この課題に関心あり" in html and page.find("input", attrs={"name": "challenge_id"})["value"] == str(
        pair.challenge.id)
    assert page.find("input", attrs={"name": "features"}) is None  # features are recomputed on the server
    assert page.find("input", attrs={"name": "direction"})["value"] == "solution_to_challenge"


def test_ranker_features_are_kept_clean(db: Any) -> None:
    cleaned = match_service.clean_features({"rank": "1", "score": "nan", "direction": "sideways",
                                            "ranker": '{"dense": 0.71, "lexical": 3, "bad": "x", "inf": 1e999}'})
    assert cleaned == {"rank": 1.0, "ranker": {"dense": 0.71, "lexical": 3.0}}
    assert match_service.clean_features({"ranker": "not json"}) is None


@pytest.mark.parametrize(("who", "status"), [
    ("company", 200), ("owner", 200), ("coordinator", 200), ("admin", 200),
    ("other_company", 404), ("other_municipality", 404),
])
def test_match_page_permissions(db: Any, client: Any, login_as: Any, who: str, status: int) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    make_proposal(match, title="見守りの提案")
    user = {"company": pair.company_user, "owner": pair.owner}.get(who) or make_user(
        {"other_company": "company", "other_municipality": "municipal"}.get(who, who))
    login_as(user)
    page = get_page(client, "matches.match", expected_status=status, match_id=match.id)
    if status == 200:
        assert "見守りの提案" in page.find(id="timeline").get_text()
        assert (page.find(id="close") is not None)
        assert (page.find(id="adopt") is not None) is (who != "company")


def test_anonymous_is_sent_to_login(db: Any, client: Any) -> None:
    match = make_match()
    db.session.commit()
    for endpoint in ("matches.match", "matches.close", "matches.adopt"):
        response = client.get(url_for(endpoint, match_id=match.id))
        assert response.status_code == 302 and "/auth/login" in response.location
    for endpoint in ("matches.mine", "matches.notifications"):
        assert client.get(url_for(endpoint)).status_code == 302


def test_timeline_records_who_when_and_why(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    match_service.close(match, pair.owner, "no_budget", "来年度の予算が確保できなかった")
    db.session.commit()
    login_as(pair.company_user)
    page = get_page(client, "matches.match", match_id=match.id)
    timeline = page.find(id="timeline").get_text()
    assert "「提案」から「終了」へ" in timeline and "来年度の予算が確保できなかった" in timeline
    assert pair.owner.name in timeline
    assert "予算確保できず" in page.find(id="closed-box").get_text()


def test_close_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="sounding")
    proposal = make_proposal(match, status="invited")
    login_as(pair.company_user)
    page = post_page(client, "matches.close", {"reason": "other", "note": ""}, match_id=match.id)
    assert "具体的に書いてください" in page_text(page)
    post_page(client, "matches.close", {"reason": "company_withdrew", "note": "体制が組めない"}, match_id=match.id)
    match = db.session.get(Match, match.id)
    assert (match.stage, match.close_reason, match.closed_from) == ("closed", "company_withdrew", "sounding")
    assert proposal.status == "withdrawn"
    get_page(client, "matches.close", expected_status=403, match_id=match.id)  # closed is final


def test_adopt_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    login_as(pair.owner)
    post_page(client, "matches.adopt", {"fiscal_year": "2027", "procurement_route": "negotiated",
                                        "negotiated_ground": "2", "contract_kind": "other",
                                        "amount": "240万"}, match_id=match.id)
    match = db.session.get(Match, match.id)
    assert (match.stage, match.adopted_fiscal_year, match.procurement_route, match.adoption_amount) == (
        "adopted", 2027, "negotiated", 2_400_000)
    switch_user(login_as, pair.company_user)
    page = get_page(client, "matches.match", match_id=match.id)
    assert "随意契約" in page.find(id="adoption").get_text() and "令和9年度" in page.find(id="adoption").get_text()


def test_company_cannot_record_an_adoption(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    login_as(pair.company_user)
    post_page(client, "matches.adopt", {"fiscal_year": "2027", "procurement_route": "tender", "amount": "1"},
              expected_status=403, match_id=match.id)


def test_my_matches_by_stage(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    make_match(pair.challenge, pair.solution, stage="proposal")
    make_match(make_challenge(pair.municipality, title="公共交通の空白地の解消"), pair.solution, stage="pilot")
    make_match(make_challenge(title="よその自治体の課題"), make_solution(), stage="proposal")
    login_as(pair.owner)
    page = get_page(client, "matches.mine")
    assert page.find(id="stage-proposal") is not None and page.find(id="stage-pilot") is not None
    assert "よその自治体の課題" not in page_text(page)
    switch_user(login_as, pair.company_user)
    page = get_page(client, "matches.mine")
    assert "提案締切" in page.find(id="stage-proposal").get_text()
    assert "実証終了" in page.find(id="stage-pilot").get_text()
    switch_user(login_as, "coordinator")
    response = client.get(url_for("matches.mine"))
    assert response.status_code == 302 and response.location.endswith(url_for("coordinator.dashboard", _external=False))


def test_notifications_list_and_mark_read(db: Any, client: Any, login_as: Any) -> None:
    user = make_user("company")
    notify.notify([user, user, None], "test", "新しい回答があります", "本文", "/matches/cases")
    make_notification(user, subject="二つ目")
    other = make_notification(make_user("company"), subject="他人宛て")
    login_as(user)
    page = get_page(client, "matches.notifications")
    assert [n.find("b").get_text() for n in page.select(".notification")] == ["二つ目", "新しい回答があります"]
    assert page.find(id="nav-notifications").find(class_="badge").get_text() == "2"
    get_page(client, "matches.open_notification", expected_status=404, notification_id=other.id)
    post_page(client, "matches.mark_notifications_read")
    assert notify.unread_count(user) == 0 and notify.unread_count(other.user) == 1


def _cases(db: Any) -> dict[str, Match]:
    made = {
        "adopted": make_match(make_challenge(title="窓口のオンライン化", domains=["counter_dx"]), stage="adopted"),
        "reported": make_match(make_challenge(title="通いの場の見守り"), stage="pilot",
                               pilot=make_pilot(reported=True, verdict="partial")),
        "running": make_match(make_challenge(title="実証中の課題"), stage="pilot"),
        "closed": make_match(make_challenge(title="提案で終わった課題"), stage="closed"),
    }
    db.session.commit()
    return made


def test_case_library_lists_finished_pilots_and_adoptions(db: Any, client: Any) -> None:
    made = _cases(db)
    page = get_page(client, "matches.cases")  # anonymous
    titles = {a.get_text() for a in page.select(".case .card-title a")}
    assert titles == {"窓口のオンライン化", "通いの場の見守り"}
    page = get_page(client, "matches.cases", q="窓口")
    assert [a.get_text() for a in page.select(".case .card-title a")] == ["窓口のオンライン化"]
    page = get_page(client, "matches.cases", domain="frailty")
    assert [a.get_text() for a in page.select(".case .card-title a")] == ["通いの場の見守り"]
    page = get_page(client, "matches.case", match_id=made["reported"].id)
    assert "12.5" in page.find(id="case-pilot").get_text() and page.find(id="verdict").get_text() == "一部成功"
    get_page(client, "matches.case", expected_status=404, match_id=made["running"].id)
    get_page(client, "matches.case", expected_status=404, match_id=made["closed"].id)


def test_cases_for_challenges(db: Any) -> None:
    made = _cases(db)
    ids = [m.challenge_id for m in made.values()] + [9999]
    found = match_service.cases_for_challenges(ids)
    assert {k: [m.id for m in v] for k, v in found.items() if v} == {
        made["adopted"].challenge_id: [made["adopted"].id], made["reported"].challenge_id: [made["reported"].id]}
    assert found[9999] == []


def test_public_challenge_page_offers_the_company_a_proposal(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.company_user)
    page = get_page(client, "public.challenge", challenge_id=pair.challenge.id)
    assert page.find(id="propose") is not None and page.find(id="ask-form") is not None
    make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=pair.challenge.id)
    assert page.find(id="propose") is None and page.find(id="own-proposal") is not None


def test_challenge_page_links_cases_of_the_same_domain(db: Any, client: Any) -> None:
    made = _cases(db)
    challenge = make_challenge(title="別の町のフレイル予防", domains=["frailty"])
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    links = [a.get_text() for a in page.find(id="related-cases").select("li a")]
    assert links == [made["reported"].challenge.title]


def test_related_cases_are_picked_from_kept_rows_that_follow_the_case_library(
        db: Any, client: Any, login_as: Any, monkeypatch: Any) -> None:
    made = _cases(db)
    pair = make_pair()
    challenge = make_challenge(title="別の町のフレイル予防", domains=["frailty"])
    db.session.commit()
    built = []
    real = match_service.case_domains
    monkeypatch.setattr(match_service, "case_domains", lambda: built.append(1) or real())
    login_as(pair.company_user)  # a member: the page itself is not cached

    def related() -> list[str]:
        page = get_page(client, "public.challenge", challenge_id=challenge.id)
        return [a.get_text() for a in page.find(id="related-cases").select("li a")]

    assert related() == [made["reported"].challenge.title]
    assert related() == [made["reported"].challenge.title]
    assert len(built) == 1  # the second view reused the rows
    make_match(make_challenge(title="買い物支援の実証", domains=["frailty"]), stage="adopted")
    db.session.commit()
    assert related() == ["買い物支援の実証", made["reported"].challenge.title]  # newest first
    assert len(built) == 2
