"""The fiscal calendar and the budget warnings: pure boundaries first, then stored calendars, the
warning lists, the once-only notification and the calendar page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from matchmaker.i18n import fiscal_year_of
from matchmaker.services import deadlines, fiscal
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import AuditEvent, FiscalCalendar, Notification
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import make_match, make_pair, make_pilot, make_user

D = fiscal.DEFAULT_CALENDAR


# --- pure: the calendar --------------------------------------------------------------------------


def test_fiscal_year_turns_on_april_first():
    assert fiscal_year_of(date(2027, 3, 31)) == 2026
    assert fiscal_year_of(date(2027, 4, 1)) == 2027
    assert fiscal.fiscal_year_start(2026) == date(2026, 4, 1)
    assert fiscal.fiscal_year_end(2026) == date(2027, 3, 31)


def test_milestones_in_january_to_march_fall_in_the_next_calendar_year():
    assert fiscal.on_fiscal_year((10, 31), 2026) == date(2026, 10, 31)
    assert fiscal.on_fiscal_year((1, 31), 2026) == date(2027, 1, 31)
    assert fiscal.on_fiscal_year((3, 20), 2026) == date(2027, 3, 20)
    assert fiscal.on_fiscal_year((4, 1), 2026) == date(2026, 4, 1)
    names = [name for name, _day in fiscal.milestones_of(2026, D)]
    assert names == ["proposals_from", "proposals_until", "budget_request", "review_from", "review_until",
                     "council_approval"]


# --- pure: the request deadline ---------------------------------------------------------------


def test_pilots_ending_in_february_and_in_may_of_the_coming_year_share_the_october_deadline():
    feb = fiscal.request_deadline(date(2026, 6, 1), date(2027, 2, 28))
    may = fiscal.request_deadline(date(2026, 6, 1), date(2027, 5, 31))
    assert feb == may == date(2026, 10, 31)


def test_a_pilot_ending_in_may_that_started_after_the_milestone_meets_the_next_one():
    assert fiscal.request_deadline(date(2027, 1, 10), date(2027, 5, 31)) == date(2027, 10, 31)


def test_pilots_ending_on_march_31_and_april_1_need_the_same_budget_year():
    march = fiscal.check_budget(date(2026, 6, 1), date(2027, 3, 31), None, date(2026, 7, 1))
    april = fiscal.check_budget(date(2026, 6, 1), date(2027, 4, 1), None, date(2026, 7, 1))
    assert march.deadline == april.deadline == date(2026, 10, 31)
    assert march.budget_year == april.budget_year == 2027


def test_a_milestone_on_the_last_day_of_the_pilot_counts_as_during_it():
    assert fiscal.request_deadline(date(2026, 7, 1), date(2026, 10, 31)) == date(2026, 10, 31)
    assert fiscal.request_deadline(date(2026, 7, 1), date(2026, 10, 30)) == date(2026, 10, 31)
    assert fiscal.request_deadline(date(2026, 11, 1), date(2027, 2, 28)) == date(2027, 10, 31)


def test_a_custom_calendar_moves_the_deadline():
    september = fiscal.calendar_from({"budget_request": "09-30"})
    assert fiscal.request_deadline(date(2026, 6, 1), date(2027, 2, 28), september) == date(2026, 9, 30)
    # A pilot from October misses this town's September milestone and meets next year's.
    assert fiscal.request_deadline(date(2026, 10, 1), date(2027, 2, 28), september) == date(2027, 9, 30)


# --- pure: the warning ---------------------------------------------------------------------------


def test_no_request_before_the_deadline_is_due_with_days_left():
    check = fiscal.check_budget(date(2026, 6, 1), date(2027, 2, 28), None, date(2026, 10, 1))
    assert (check.status, check.days_left, check.flagged) == ("due", 30, True)
    on_the_day = fiscal.check_budget(date(2026, 6, 1), date(2027, 2, 28), None, date(2026, 10, 31))
    assert (on_the_day.status, on_the_day.days_left) == ("due", 0)


def test_no_request_after_the_deadline_is_missed():
    check = fiscal.check_budget(date(2026, 6, 1), date(2027, 2, 28), None, date(2026, 11, 1))
    assert check.status == "missed" and check.flagged


def test_a_request_recorded_on_the_deadline_is_in_time_and_one_day_later_is_late():
    in_time = fiscal.check_budget(date(2026, 6, 1), date(2027, 2, 28), date(2026, 10, 31), date(2026, 12, 1))
    late = fiscal.check_budget(date(2026, 6, 1), date(2027, 2, 28), date(2026, 11, 1), date(2026, 12, 1))
    assert (in_time.status, in_time.flagged) == ("ok", False)
    assert (late.status, late.flagged) == ("late", True)


def test_a_pilot_needing_money_after_the_coming_year_is_not_flagged_until_its_fiscal_year_begins():
    # Deadline 2027-10-31 → FY2028 money. On 31 March 2027 (FY2026) FY2028 is not the coming year yet;
    # on 1 April 2027 (FY2027) it is.
    before = fiscal.check_budget(date(2027, 6, 1), date(2028, 2, 28), None, date(2027, 3, 31))
    after = fiscal.check_budget(date(2027, 6, 1), date(2028, 2, 28), None, date(2027, 4, 1))
    assert (before.status, before.flagged) == ("not_yet", False)
    assert (after.status, after.flagged, after.budget_year) == ("due", True, 2028)


@pytest.mark.parametrize("text", ["13-01", "02-29", "04-31", "1031", "10-31-1", "", "ab-cd"])
def test_month_day_refuses_days_that_do_not_recur(text):
    with pytest.raises(ValueError):
        fiscal.parse_month_day(text)


def test_month_day_accepts_short_and_slashed_forms():
    assert fiscal.parse_month_day("9/1") == (9, 1)
    assert fiscal.format_month_day((9, 1)) == "09-01"


# --- stored calendars ----------------------------------------------------------------------------


def test_saved_overrides_apply_to_that_municipality_only(db):
    pair = make_pair()
    fiscal.save_calendar(pair.owner, pair.municipality, {"budget_request": "9-30", "proposals_until": ""})
    db.session.commit()
    assert fiscal.calendar_for(pair.municipality.id).budget_request == (9, 30)
    assert fiscal.calendar_for(pair.municipality.id).proposals_until == D.proposals_until
    assert fiscal.calendar_for(make_pair().municipality.id) == D
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "fiscal_calendar.updated"))
    assert event is not None and event.details["after"] == {"budget_request": "09-30"}


def test_save_refuses_bad_dates_and_reversed_periods(db):
    pair = make_pair()
    with pytest.raises(FieldError) as bad:
        fiscal.save_calendar(pair.owner, pair.municipality, {"budget_request": "10-32"})
    assert bad.value.field == "budget_request"
    with pytest.raises(FieldError) as reversed_review:
        fiscal.save_calendar(pair.owner, pair.municipality, {"review_from": "02-01", "review_until": "12-20"})
    assert reversed_review.value.field == "review_until"
    # December → January is in order inside a fiscal year that starts in April.
    fiscal.save_calendar(pair.owner, pair.municipality, {"review_from": "12-10", "review_until": "01-20"})


# --- warnings from the database -----------------------------------------------------------------


def _pilot_match(pair, *, starts_on, ends_on, recorded_on=None):
    pilot = make_pilot(starts_on=starts_on, ends_on=ends_on, budget_request_recorded_on=recorded_on)
    return make_match(pair.challenge, pair.solution, stage="pilot", pilot=pilot)


def _running_pilot_dates(today: date) -> tuple[date, date]:
    """A pilot running now whose request milestone (31 Oct) falls inside it and is ahead or just passed."""
    deadline = fiscal.on_fiscal_year((10, 31), fiscal_year_of(today))
    return min(today, deadline) - timedelta(days=30), deadline + timedelta(days=60)


def test_warnings_go_to_the_owners_and_coordinators_not_to_companies_or_other_towns(db):
    today = local_today()
    pair = make_pair()
    starts, ends = _running_pilot_dates(today)
    match = _pilot_match(pair, starts_on=starts, ends_on=ends)
    db.session.commit()
    assert [w.match_id for w in deadlines.budget_warnings_for(pair.owner)] == [match.id]
    assert [w.match_id for w in deadlines.budget_warnings_for(make_user("coordinator"))] == [match.id]
    assert deadlines.budget_warnings_for(pair.company_user) == []
    assert deadlines.budget_warnings_for(make_user("municipal")) == []


def test_a_recorded_request_clears_the_warning(db):
    today = local_today()
    pair = make_pair()
    starts, ends = _running_pilot_dates(today)
    _pilot_match(pair, starts_on=starts, ends_on=ends, recorded_on=starts)
    assert deadlines.budget_warnings_for(pair.owner) == []


def test_budget_warning_is_notified_once(db):
    today = local_today()
    pair = make_pair()
    coordinator = make_user("coordinator")
    starts, ends = _running_pilot_dates(today)
    _pilot_match(pair, starts_on=starts, ends_on=ends)
    assert deadlines.send_budget_warnings(today) == 1
    assert deadlines.send_budget_warnings(today) == 0
    db.session.commit()
    rows = db.session.scalars(select(Notification).where(Notification.kind == "pilot.budget_warning")).all()
    assert sorted(r.user_id for r in rows) == sorted([pair.owner.id, coordinator.id])
    assert "予算要求" in rows[0].body


def test_coordinator_dashboard_shows_the_warning_with_era_dates(client, login_as, db):
    today = local_today()
    pair = make_pair(title="予算の道筋が必要な課題")
    starts, ends = _running_pilot_dates(today)
    match = _pilot_match(pair, starts_on=starts, ends_on=ends)
    login_as("coordinator")
    page = get_page(client, "coordinator.dashboard")
    box = page.select_one(f"#budget-warnings [data-match='{match.id}']")
    assert box is not None and "予算の道筋が必要な課題" in page_text(box)
    assert "令和" in page_text(box) and "年度" in page_text(box)


# --- the calendar page ---------------------------------------------------------------------------


def test_calendar_page_anonymous_goes_to_login(client, db):
    org = make_pair().municipality
    db.session.commit()
    response = client.get(f"/auth/organisations/{org.id}/fiscal-calendar")
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize(("who", "status"), [("own_staff", 200), ("coordinator", 200), ("admin", 200),
                                             ("other_municipality", 403), ("company", 403)])
def test_calendar_page_permissions(client, login_as, db, who, status):
    pair = make_pair()
    user = {"own_staff": pair.owner, "company": pair.company_user}.get(who) or make_user(
        "municipal" if who == "other_municipality" else who)
    login_as(user)
    get_page(client, "auth.fiscal_calendar", organisation_id=pair.municipality.id, expected_status=status)


def test_calendar_page_of_a_company_is_not_found(client, login_as, db):
    pair = make_pair()
    login_as("coordinator")
    get_page(client, "auth.fiscal_calendar", organisation_id=pair.company.id, expected_status=404)


def test_staff_save_their_calendar_and_see_it_in_era_dates(client, login_as, db):
    pair = make_pair()
    login_as(pair.owner)
    page = post_page(client, "auth.fiscal_calendar", {"budget_request": "09-30"},
                     organisation_id=pair.municipality.id)
    assert "保存しました" in page_text(page)
    assert db.session.scalar(select(FiscalCalendar.budget_request)) == "09-30"
    cell = page.select_one("[data-milestone='budget_request'] td")
    assert cell is not None and "9月30日" in cell.get_text() and "令和" in cell.get_text()


def test_bad_calendar_input_is_shown_on_the_field_and_nothing_is_saved(client, login_as, db):
    pair = make_pair()
    login_as(pair.owner)
    page = post_page(client, "auth.fiscal_calendar", {"budget_request": "10-32", "review_until": "01-20"},
                     organisation_id=pair.municipality.id)
    assert "月-日" in page_text(page.select_one(".has-error"))
    assert page.select_one("#budget_request")["value"] == "10-32"
    assert db.session.scalar(select(FiscalCalendar)) is None


def test_municipal_dashboard_shows_its_own_budget_warning_and_deadlines(client, login_as, db):
    today = local_today()
    pair = make_pair(title="導入予算が要る実証", deadline=today + timedelta(days=5))
    other = make_pair(title="よその市の実証")
    starts, ends = _running_pilot_dates(today)
    mine = _pilot_match(pair, starts_on=starts, ends_on=ends)
    theirs = _pilot_match(other, starts_on=starts, ends_on=ends)
    login_as(pair.owner)
    page = get_page(client, "municipality.dashboard")
    assert page.select_one(f"#budget-warnings [data-match='{mine.id}']") is not None
    assert page.select_one(f"#budget-warnings [data-match='{theirs.id}']") is None
    row = page.select_one(f"#upcoming-deadlines [data-kind='proposal'][data-object='{pair.challenge.id}']")
    assert row is not None and "導入予算が要る実証" in page_text(row)
    assert "よその市の実証" not in page_text(page.select_one("#upcoming-deadlines"))


def test_company_dashboard_shows_deadlines_but_no_budget_warnings(client, login_as, db):
    today = local_today()
    pair = make_pair(title="締切の近い課題", deadline=today + timedelta(days=4))
    starts, ends = _running_pilot_dates(today)
    _pilot_match(pair, starts_on=starts, ends_on=ends)
    login_as(pair.company_user)
    page = get_page(client, "company.dashboard")
    assert page.select_one("#upcoming-deadlines") is not None
    assert "締切の近い課題" in page_text(page.select_one("#upcoming-deadlines"))
    assert page.select_one("#budget-warnings") is None
