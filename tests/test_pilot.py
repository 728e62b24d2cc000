"""Pilots: the plan moves the match to 'pilot', KPIs, updates, the budget request and the report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from matchmaker.services import pilots
from matchmaker.services.errors import FieldError
from models import AuditEvent, Match, Pilot
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import make_match, make_pair, make_user, switch_user


def _plan_form(**overrides: Any) -> dict[str, Any]:
    start = date.today() + timedelta(days=10)
    data = {"summary": "3か所の通いの場で試行する。", "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(days=120)).isoformat(), "responsibilities": "市: 会場 / 企業: アプリ",
            "cost_sharing": "企業負担", "kpis-0-name": "参加率", "kpis-0-unit": "%", "kpis-0-baseline": "8",
            "kpis-0-target": "12", "kpis-1-name": "声かけ件数", "kpis-1-unit": "件/月", "kpis-1-target": "40"}
    data.update(overrides)
    return data


def test_plan_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="sounding")
    login_as(pair.owner)
    page = post_page(client, "matches.plan_pilot", _plan_form(), match_id=match.id)
    match = db.session.get(Match, match.id)
    assert match.stage == "pilot" and match.pilot is not None
    assert [(k.name, k.unit, k.baseline, k.target) for k in match.pilot.kpis] == [
        ("参加率", "%", 8.0, 12.0), ("声かけ件数", "件/月", None, 40.0)]
    assert "参加率" in page.find(id="pilot").get_text()
    assert page.find(id="no-budget-request") is not None


def test_a_kpi_without_a_target_is_refused(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    login_as(pair.owner)
    page = post_page(client, "matches.plan_pilot", _plan_form(**{"kpis-1-target": ""}), match_id=match.id)
    assert "目標値を入力してください" in page_text(page)
    assert db.session.get(Match, match.id).stage == "proposal"


def test_a_plan_needs_a_kpi(db: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    with pytest.raises(FieldError):
        pilots.plan(match, pair.owner, {"starts_on": date.today(), "ends_on": date.today()}, [])


@pytest.mark.parametrize("who", ["company", "other_municipality"])
def test_only_the_owner_side_plans(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="sounding")
    login_as(pair.company_user if who == "company" else make_user("municipal"))
    expected = 403 if who == "company" else 404
    post_page(client, "matches.plan_pilot", _plan_form(), expected_status=expected, match_id=match.id)
    assert db.session.get(Match, match.id).stage == "sounding"


def test_budget_request_is_recorded(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    login_as(pair.owner)
    post_page(client, "matches.budget_request", {"recorded_on": "2026-10-15", "amount": "240万", "note": "新規要求"},
              match_id=match.id)
    pilot = db.session.get(Pilot, match.pilot_id)
    assert (pilot.budget_request_recorded_on, pilot.budget_request_amount) == (date(2026, 10, 15), 2_400_000)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "pilot.budget_request")).one()
    assert row.to_state == "2026-10-15"
    page = get_page(client, "matches.budget_request", match_id=match.id)  # the form shows what is recorded
    assert page.find("input", attrs={"name": "recorded_on"})["value"] == "2026-10-15"
    switch_user(login_as, pair.company_user)
    get_page(client, "matches.budget_request", expected_status=403, match_id=match.id)


def test_updates_from_both_sides(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    login_as(pair.company_user)
    page = post_page(client, "matches.pilot_update", {"body": "1か月目：登録者120名"}, match_id=match.id)
    assert "1か月目：登録者120名" in page.find(id="timeline").get_text()
    switch_user(login_as, "company")
    post_page(client, "matches.pilot_update", {"body": "よその会社"}, expected_status=404, match_id=match.id)


def test_report_with_actual_values_and_verdict(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    kpi = match.pilot.kpis[0]
    login_as(pair.owner)
    page = get_page(client, "matches.pilot_report", match_id=match.id)
    assert page.find("input", attrs={"name": "actuals-0-kpi_id"})["value"] == str(kpi.id)
    post_page(client, "matches.pilot_report", {"verdict": "partial", "summary": "参加率は伸びたが目標に届かず。",
                                               "actuals-0-kpi_id": str(kpi.id), "actuals-0-actual": "11.2"},
              match_id=match.id)
    pilot = db.session.get(Pilot, match.pilot_id)
    assert (pilot.verdict, pilot.kpis[0].actual, pilot.kpis[0].achieved) == ("partial", 11.2, False)
    assert pilot.reported_at is not None
    page = get_page(client, "matches.case", match_id=match.id)
    assert page.find(id="verdict").get_text() == "一部成功"


def test_report_needs_a_verdict(db: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="pilot")
    with pytest.raises(FieldError):
        pilots.report(match, pair.owner, verdict="great", summary="x", actuals={})
    with pytest.raises(pilots.match_service.MoveRefused):
        pilots.report(match, pair.company_user, verdict="success", summary="x", actuals={})
    coordinator = make_user("coordinator")
    pilots.report(match, coordinator, verdict="success", summary="x", actuals={})
