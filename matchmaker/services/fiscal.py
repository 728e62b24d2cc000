"""The fiscal calendar (April–March) and the budget warnings it drives.

Pilots stall when no one asks the budget section for the money to adopt them (実証実験止まり).
The rule, in pure functions so that its boundaries can be tested:

* A pilot's *request deadline* is the last budget-request milestone that falls while the pilot runs
  (``starts_on`` ≤ milestone ≤ ``ends_on``): the last chance to ask for the money while results come in.
  A milestone before the pilot started could not have been met by it, so when none falls inside the
  period the deadline is the first milestone after the pilot ends.
* The money that request asks for is the next fiscal year's: ``budget_year = fiscal_year_of(deadline) + 1``.
  With the default calendar (requests by 31 October) a pilot from June 2026 ending in February 2027
  *or* in May 2027 needs a request by 31 October 2026 for FY2027 money.
* A pilot is flagged once its budget year is the coming fiscal year (or earlier) and no request was
  recorded on or before the deadline: ``due`` (deadline ahead), ``missed`` (passed, nothing recorded)
  or ``late`` (recorded after the deadline).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.i18n import fiscal_year_of
from matchmaker.services import audit, conflicts
from matchmaker.services.errors import FieldError
from models import FiscalCalendar, Organisation, db
from models.fiscal import MILESTONE_FIELDS

MonthDay = tuple[int, int]
BudgetStatus = Literal["ok", "not_yet", "due", "missed", "late"]
FLAGGED: frozenset[str] = frozenset({"due", "missed", "late"})

MILESTONE_LABELS: dict[str, Any] = {
    "proposals_from": _l("新規事業提案の受付開始"),
    "proposals_until": _l("新規事業提案の締切"),
    "budget_request": _l("予算要求の締切"),
    "review_from": _l("予算査定の開始"),
    "review_until": _l("予算査定の終了"),
    "council_approval": _l("議会での予算議決"),
}
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/](\d{1,2})$")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29 February never recurs


@dataclass(frozen=True)
class Calendar:
    """One municipality's milestones, each a (month, day) recurring every fiscal year."""

    proposals_from: MonthDay = (4, 1)
    proposals_until: MonthDay = (8, 31)
    budget_request: MonthDay = (10, 31)
    review_from: MonthDay = (12, 1)
    review_until: MonthDay = (1, 31)
    council_approval: MonthDay = (3, 20)


DEFAULT_CALENDAR = Calendar()


@dataclass(frozen=True)
class BudgetCheck:
    deadline: date  # the budget-request milestone this pilot has to meet
    budget_year: int  # the fiscal year whose money that request asks for
    status: BudgetStatus
    days_left: int | None = None  # for ``due``: days until the deadline (0 = today)

    @property
    def flagged(self) -> bool:
        return self.status in FLAGGED


# --- pure calendar arithmetic ----------------------------------------------------------------


def fiscal_year_start(year: int) -> date:
    return date(year, 4, 1)


def fiscal_year_end(year: int) -> date:
    return date(year + 1, 3, 31)


def on_fiscal_year(month_day: MonthDay, year: int) -> date:
    """The date of a recurring milestone in fiscal year ``year`` (January–March fall in year + 1)."""
    month, day = month_day
    return date(year if month >= 4 else year + 1, month, day)


def fiscal_order(month_day: MonthDay) -> tuple[int, int]:
    """Sort key placing April first and March last."""
    month, day = month_day
    return ((month - 4) % 12, day)


def request_milestones(first_year: int, last_year: int, calendar: Calendar) -> list[date]:
    return [on_fiscal_year(calendar.budget_request, year) for year in range(first_year, last_year + 1)]


def request_deadline(starts_on: date, ends_on: date, calendar: Calendar = DEFAULT_CALENDAR) -> date:
    """The budget-request milestone a pilot running from ``starts_on`` to ``ends_on`` must meet."""
    candidates = request_milestones(fiscal_year_of(starts_on) - 1, fiscal_year_of(ends_on) + 1, calendar)
    during = [d for d in candidates if starts_on <= d <= ends_on]
    if during:
        return during[-1]
    return next(d for d in candidates if d > ends_on)


def check_budget(starts_on: date, ends_on: date, recorded_on: date | None, today: date,
                 calendar: Calendar = DEFAULT_CALENDAR) -> BudgetCheck:
    """Whether a pilot's budget request is in time for adoption without a gap (see the module doc)."""
    deadline = request_deadline(starts_on, ends_on, calendar)
    budget_year = fiscal_year_of(deadline) + 1
    if recorded_on is not None:
        return BudgetCheck(deadline, budget_year, "ok" if recorded_on <= deadline else "late")
    if budget_year > fiscal_year_of(today) + 1:
        return BudgetCheck(deadline, budget_year, "not_yet")
    if today <= deadline:
        return BudgetCheck(deadline, budget_year, "due", (deadline - today).days)
    return BudgetCheck(deadline, budget_year, "missed")


def milestones_of(year: int, calendar: Calendar) -> list[tuple[str, date]]:
    """Every milestone of fiscal year ``year`` as (field name, date), in calendar order."""
    return sorted(((name, on_fiscal_year(getattr(calendar, name), year)) for name in MILESTONE_FIELDS),
                  key=lambda item: item[1])


# --- "MM-DD" text ----------------------------------------------------------------------------


def parse_month_day(text: str) -> MonthDay:
    """``"10-31"`` → (10, 31); raises ValueError for anything that is not a day every year has."""
    found = _MONTH_DAY.match(text.strip())
    if not found:
        raise ValueError(text)
    month, day = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month - 1]:
        raise ValueError(text)
    return month, day


def format_month_day(month_day: MonthDay) -> str:
    return f"{month_day[0]:02d}-{month_day[1]:02d}"


def calendar_from(overrides: Mapping[str, str | None]) -> Calendar:
    values = {name: parse_month_day(text) for name, text in overrides.items() if text}
    return replace(DEFAULT_CALENDAR, **values)


# --- stored calendars ------------------------------------------------------------------------


def stored_calendar(organisation_id: int) -> FiscalCalendar | None:
    return db.session.scalar(select(FiscalCalendar).where(FiscalCalendar.organisation_id == organisation_id))


def calendar_for(organisation_id: int | None) -> Calendar:
    """The organisation's calendar: its overrides on top of the default."""
    row = stored_calendar(organisation_id) if organisation_id is not None else None
    return calendar_from(row.overrides()) if row is not None else DEFAULT_CALENDAR


def calendars_for(organisation_ids: set[int]) -> dict[int, Calendar]:
    if not organisation_ids:
        return {}
    rows = db.session.scalars(select(FiscalCalendar).where(FiscalCalendar.organisation_id.in_(organisation_ids)))
    found = {row.organisation_id: calendar_from(row.overrides()) for row in rows}
    return {oid: found.get(oid, DEFAULT_CALENDAR) for oid in organisation_ids}


_ORDERED_PAIRS: tuple[tuple[str, str, Any], ...] = (
    ("proposals_from", "proposals_until", _l("受付開始より後の日付にしてください。")),
    ("review_from", "review_until", _l("査定の開始より後の日付にしてください（年度は4月始まりです）。")),
)


def save_calendar(actor: Any, organisation: Organisation, values: Mapping[str, str | None]) -> FiscalCalendar:
    """Store a municipality's milestones ("MM-DD"; blank = default). Bad input raises FieldError."""
    cleaned: dict[str, str | None] = {}
    for name in MILESTONE_FIELDS:
        text = (values.get(name) or "").strip()
        if not text:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = format_month_day(parse_month_day(text))
        except ValueError:
            raise FieldError(name, _l("「月-日」の形で、毎年ある日付を入力してください（例：10-31）。")) from None
    merged = calendar_from(cleaned)
    for first, second, message in _ORDERED_PAIRS:
        if fiscal_order(getattr(merged, second)) < fiscal_order(getattr(merged, first)):
            raise FieldError(second, message)
    row = stored_calendar(organisation.id)
    if row is None:
        try:
            with conflicts.savepoint():  # a colleague saving the first calendar at the same moment
                row = FiscalCalendar(organisation_id=organisation.id)
                db.session.add(row)
                db.session.flush()
        except conflicts.Conflict:
            row = stored_calendar(organisation.id)  # theirs came first; these values are the later ones
            assert row is not None
        before = {}
    else:
        before = row.overrides()
    for name, value in cleaned.items():
        setattr(row, name, value)
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "fiscal_calendar.updated", row, before=before, after=row.overrides(),
                 organisation_id=organisation.id)
    return row
