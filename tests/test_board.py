"""The pipeline board: funnel numbers on a small known set, stalled items, filters, the chart and
permissions per role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for

from matchmaker.services import board
from models import MatchEvent
from tests.pages import get_page, page_text
from tests.pipeline_factories import make_challenge, make_match, make_pair, make_solution, make_user

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _history(stage: str, *moves: tuple[float, str | None, str]) -> board.MatchHistory:
    return board.MatchHistory(T0, stage, tuple(board.Transition(_day(d), f, t) for d, f, t in moves))


# Ten matches with known paths (days after creation):
KNOWN = [
    _history("recommended"),
    _history("recommended"),
    _history("closed", (5, "recommended", "closed")),
    _history("proposal", (4, "recommended", "proposal")),
    _history("closed", (2, "recommended", "proposal"), (12, "proposal", "closed")),
    _history("sounding", (6, "recommended", "proposal"), (20, "proposal", "sounding")),
    _history("pilot", (10, "recommended", "sounding"), (40, "sounding", "pilot")),
    _history("adopted", (2, "recommended", "proposal"), (10, "proposal", "pilot"), (130, "pilot", "adopted")),
    _history("closed", (8, "recommended", "proposal"), (18, "proposal", "sounding"), (48, "sounding", "pilot"),
             (168, "pilot", "closed")),
    _history("adopted", (3, "recommended", "proposal"), (33, "proposal", "adopted")),
]


def test_stays_follow_the_stage_changes():
    stays = board.stays_of(KNOWN[7])
    assert [(s.stage, s.days) for s in stays] == [("recommended", 2.0), ("proposal", 8.0), ("pilot", 120.0),
                                                  ("adopted", None)]
    assert board.stays_of(KNOWN[0]) == [board.Stay("recommended", T0, None)]


def test_funnel_counts_conversion_and_medians_on_a_known_set():
    result = board.funnel(KNOWN)
    by_stage = {s.stage: s for s in result.stages}
    assert {k: v.current for k, v in by_stage.items()} == {
        "recommended": 2, "proposal": 1, "sounding": 1, "pilot": 1, "adopted": 2}
    assert result.closed == 3 and result.total == 10
    # Furthest stage reached: recommended ≥ 10, proposal ≥ 7 (the sounding-first and adopted-without-pilot
    # matches passed it), sounding ≥ 5, pilot ≥ 4 (incl. the adopted-without-pilot one), adopted 2.
    assert [by_stage[s].reached for s in board.PIPELINE] == [10, 7, 5, 4, 2]
    assert by_stage["recommended"].conversion == pytest.approx(0.7)
    assert by_stage["proposal"].conversion == pytest.approx(5 / 7)
    assert by_stage["pilot"].conversion == pytest.approx(0.5)
    assert by_stage["adopted"].conversion is None
    # Finished stays in recommended: 5, 4, 2, 6, 10, 2, 8, 3 days → median 4.5.
    assert by_stage["recommended"].median_days == pytest.approx(4.5)
    # proposal: 10, 14, 8, 10, 30 → 10; sounding: 30, 30 → 30; pilot: 120, 120 → 120.
    assert by_stage["proposal"].median_days == pytest.approx(10)
    assert by_stage["sounding"].median_days == pytest.approx(30)
    assert by_stage["pilot"].median_days == pytest.approx(120)
    # Ever in a pilot and decided: the adopted one and the closed one → 1 of 2.
    assert (result.pilots_adopted, result.pilots_decided) == (1, 2)
    assert result.pilot_adoption_rate == pytest.approx(0.5)
    assert result.closed_from == {"recommended": 1, "proposal": 1, "pilot": 1}


def test_matches_without_recorded_history_count_by_their_pilot_plan_and_closed_from():
    # Imported or demo matches may have no stage events: a closed one still reached the stage it left,
    # and an adopted one with a pilot plan went through a pilot.
    closed = board.MatchHistory(T0, "closed", closed_from="sounding")
    adopted = board.MatchHistory(T0, "adopted", had_pilot=True)
    result = board.funnel([closed, adopted])
    assert [s.reached for s in result.stages] == [2, 2, 2, 1, 1]
    assert result.closed_from == {"sounding": 1}
    assert (result.pilots_adopted, result.pilots_decided) == (1, 1)


def test_an_empty_funnel_has_no_rates():
    result = board.funnel([])
    assert result.pilot_adoption_rate is None
    assert all(s.conversion is None and s.median_days is None for s in result.stages)


def _move(match, day: float, from_stage: str, to_stage: str) -> None:
    from models import db

    db.session.add(MatchEvent(match=match, at=_day(day), kind="stage", from_stage=from_stage, to_stage=to_stage))
    match.stage = to_stage
    db.session.flush()


def test_funnel_from_the_database_matches_the_pure_one(db):
    a = make_match(stage="recommended", created_at=T0)
    b = make_match(stage="recommended", created_at=T0)
    _move(b, 4, "recommended", "proposal")
    c = make_match(stage="recommended", created_at=T0)
    _move(c, 2, "recommended", "proposal")
    _move(c, 12, "proposal", "sounding")
    db.session.commit()
    result = board.funnel_for(board.BoardFilters())
    assert [s.reached for s in result.stages] == [3, 2, 1, 0, 0]
    assert result.stages[0].median_days == pytest.approx(3)  # 4 and 2 days
    assert {s.stage: s.current for s in result.stages}["recommended"] == 1
    assert a.id  # created


def test_stalled_means_no_event_for_the_configured_days(app, db):
    now = datetime.now(UTC)
    quiet = make_match(stage="proposal")
    busy = make_match(stage="proposal")
    finished = make_match(stage="closed")
    for match in (quiet, finished):
        for event in match.events:
            event.at = now - timedelta(days=45)
    db.session.add(MatchEvent(match=busy, at=now - timedelta(days=2), kind="proposal.updated",
                              from_stage="proposal", to_stage="proposal"))
    db.session.commit()
    items = {i.match.id: i for i in board.board_items(board.BoardFilters(), now, stalled_after=30)}
    assert items[quiet.id].stalled and items[quiet.id].idle_days == 45
    assert not items[busy.id].stalled
    assert not items[finished.id].stalled  # closed matches are finished, not stalled
    only = board.board_items(board.BoardFilters(stalled_only=True), now, stalled_after=30)
    assert [i.match.id for i in only] == [quiet.id]


def test_filters_by_municipality_and_domain(db):
    frailty = make_match(challenge=make_challenge(domains=["frailty"]), stage="proposal")
    transport = make_match(challenge=make_challenge(domains=["transport", "tourism"]), stage="proposal")
    db.session.commit()
    now = datetime.now(UTC)
    by_domain = board.board_items(board.BoardFilters(domain="tourism"), now, 30)
    assert [i.match.id for i in by_domain] == [transport.id]
    by_town = board.board_items(board.BoardFilters(municipality_id=frailty.challenge.organisation_id), now, 30)
    assert [i.match.id for i in by_town] == [frailty.id]


# --- the page ------------------------------------------------------------------------------------


def test_board_anonymous_goes_to_login(client, db):
    response = client.get(url_for("coordinator.board"))
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize("role", ["municipal", "company"])
def test_board_refuses_members(client, login_as, db, role):
    login_as(role)
    get_page(client, "coordinator.board", expected_status=403)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_board_shows_columns_funnel_chart_and_stalled(client, login_as, db, role):
    pair = make_pair(title="停滞している課題")
    stalled = make_match(pair.challenge, pair.solution, stage="sounding")
    for event in stalled.events:
        event.at = datetime.now(UTC) - timedelta(days=90)
    make_match(pair.challenge, make_solution(), stage="pilot")
    login_as(role)
    page = get_page(client, "coordinator.board")
    column = page.select_one("#board .board-column[data-stage='sounding']")
    assert column is not None and column.select_one(f"[data-match='{stalled.id}']") is not None
    assert page.select_one("#board .board-column[data-stage='pilot'] .count").get_text() == "1"
    assert page.select_one(f"#stalled-items [data-match='{stalled.id}']") is not None
    bars = page.select("#funnel svg g[data-stage]")
    assert [g["data-stage"] for g in bars] == list(board.PIPELINE)
    assert page.select_one("#funnel-table [data-stage='sounding'] .reached").get_text() == "2"
    assert "停滞している課題" in page_text(page.select_one("#stalled-items"))


def test_board_filter_form_narrows_the_columns(client, login_as, db):
    kept = make_match(challenge=make_challenge(domains=["disaster"]), stage="proposal")
    dropped = make_match(challenge=make_challenge(domains=["frailty"]), stage="proposal")
    login_as("coordinator")
    page = get_page(client, "coordinator.board", domain="disaster")
    assert page.select_one(f"[data-match='{kept.id}']") is not None
    assert page.select_one(f"[data-match='{dropped.id}']") is None
    assert page.select_one("#domain option[selected]")["value"] == "disaster"
    assert "domain=disaster" in page.select_one("[data-export='matches-csv']")["href"]


def test_coordinator_dashboard_links_to_board_and_audit_log(client, login_as, db):
    login_as(make_user("coordinator"))
    page = get_page(client, "coordinator.dashboard")
    hrefs = [a["href"] for a in page.select("#coordinator-links a")]
    assert url_for("coordinator.board", _external=False) in hrefs
    assert url_for("admin.audit", _external=False) in hrefs


def test_board_warns_only_about_running_pilots(client, login_as, db):
    from matchmaker.i18n import fiscal_year_of
    from matchmaker.services import fiscal
    from matchmaker.services.challenges import local_today
    from tests.pipeline_factories import make_pilot

    # Both pilots span the October request milestone with no budget request recorded.
    today = local_today()
    milestone = fiscal.on_fiscal_year((10, 31), fiscal_year_of(today))
    starts, ends = min(today, milestone) - timedelta(days=30), milestone + timedelta(days=60)
    running = make_match(stage="pilot", pilot=make_pilot(starts_on=starts, ends_on=ends))
    closed = make_match(stage="closed", pilot=make_pilot(starts_on=starts, ends_on=ends))
    closed.closed_from = "pilot"
    db.session.commit()
    login_as("coordinator")
    page = get_page(client, "coordinator.board")
    assert page.select_one(f"#budget-warnings [data-match='{running.id}']") is not None
    assert page.select_one(f"#budget-warnings [data-match='{closed.id}']") is None
