"""What is due soon, for whom: budget warnings on pilots, upcoming deadlines, and the one-off
notifications about both.

* ``budget_warnings_for(user)`` — pilots whose budget request is due, missed or late (see
  ``matchmaker.services.fiscal``), for the owning municipality's staff and coordinators.
* ``upcoming_deadlines(user)`` — proposal deadlines, sounding entry deadlines and pilot ends in the
  next ``DEADLINE_WINDOW_DAYS`` days that concern the user.
* ``send_budget_warnings`` / ``send_deadline_reminders`` — the CLI notifies each only once
  (``DeliveryMark``), through ``notify.notify`` so mail follows each user's preference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from matchmaker.i18n import format_era_date, format_fiscal_year
from matchmaker.services import fiscal, notify
from matchmaker.services.challenges import local_today
from matchmaker.services.mail import first_time, site_path
from matchmaker.services.matches import on_members_side
from models import Challenge, Match, Pilot, Solution, Sounding, SoundingBooking, User, db
from models.match import MatchStage

M = MatchStage
DEADLINE_WINDOW_DAYS = 30
DEADLINE_LIMIT = 10
REMINDER_HORIZONS: tuple[int, ...] = (7, 1)  # days before a deadline when a reminder goes out; descending

DeadlineKind = Literal["proposal", "sounding_entry", "pilot_end"]
DEADLINE_LABELS: dict[str, Any] = {
    "proposal": _l("提案締切"),
    "sounding_entry": _l("サウンディングのエントリー締切"),
    "pilot_end": _l("実証実験の終了"),
}
BUDGET_STATUS_LABELS: dict[str, Any] = {
    "due": _l("予算要求が未登録"),
    "missed": _l("予算要求の締切を過ぎています"),
    "late": _l("予算要求の登録が締切後"),
}


@dataclass(frozen=True)
class BudgetWarning:
    match_id: int
    pilot_id: int
    challenge_title: str
    municipality: str
    company: str
    ends_on: date
    recorded_on: date | None
    check: fiscal.BudgetCheck

    @property
    def url(self) -> str:
        return site_path("matches.match", match_id=self.match_id)


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    day: date
    days_left: int
    title: str  # the challenge's title
    detail: str  # the municipality (and company, for a pilot)
    url: str
    object_id: int  # challenge, sounding or match id, by kind


# --- budget warnings ---------------------------------------------------------------------------


def _pilot_matches() -> Select[tuple[Match]]:
    return (select(Match).join(Pilot, Match.pilot_id == Pilot.id).where(Match.stage == M.PILOT.value)
            .options(selectinload(Match.pilot), selectinload(Match.challenge).selectinload(Challenge.organisation),
                     selectinload(Match.solution).selectinload(Solution.organisation))
            .order_by(Pilot.ends_on, Match.id))


def budget_warnings(matches: Iterable[Match], today: date, only_flagged: bool = True) -> list[BudgetWarning]:
    matches = list(matches)
    calendars = fiscal.calendars_for({m.challenge.organisation_id for m in matches})
    out: list[BudgetWarning] = []
    for match in matches:
        pilot = match.pilot
        if pilot is None:
            continue
        check = fiscal.check_budget(pilot.starts_on, pilot.ends_on, pilot.budget_request_recorded_on, today,
                                    calendars[match.challenge.organisation_id])
        if only_flagged and not check.flagged:
            continue
        out.append(BudgetWarning(match.id, pilot.id, match.challenge.title, match.challenge.organisation.name,
                                 match.solution.organisation.name, pilot.ends_on, pilot.budget_request_recorded_on,
                                 check))
    return sorted(out, key=lambda w: (w.check.deadline, w.match_id))


def budget_warnings_for(user: Any, today: date | None = None) -> list[BudgetWarning]:
    """Flagged pilots the user is responsible for: the owning municipality's staff and coordinators."""
    if not getattr(user, "is_authenticated", False):
        return []
    query = _pilot_matches()
    if user.is_municipal:
        query = query.join(Challenge, Match.challenge_id == Challenge.id).where(
            Challenge.organisation_id == user.organisation_id)
    elif not user.is_staff:
        return []
    return budget_warnings(db.session.scalars(query), today or local_today())


def budget_warning_text(warning: BudgetWarning) -> str:
    check = warning.check
    values = {"title": warning.challenge_title, "deadline": format_era_date(check.deadline),
                  "year": format_fiscal_year(check.budget_year), "end": format_era_date(warning.ends_on)}
    if check.status == "late":
        return _("「%(title)s」の実証実験（%(end)s終了）：予算要求の登録が締切（%(deadline)s）より後です。"
                 "%(year)sの予算に間に合うか財政担当課に確認してください。", **values)
    if check.status == "missed":
        return _("「%(title)s」の実証実験（%(end)s終了）：%(year)sに導入するための予算要求の締切"
                 "（%(deadline)s）を過ぎていますが、予算要求が登録されていません。", **values)
    return _("「%(title)s」の実証実験（%(end)s終了）：%(year)sに導入するには%(deadline)sまでに予算要求が必要です"
             "（あと%(days)d日）。", days=check.days_left or 0, **values)


def send_budget_warnings(today: date | None = None) -> int:
    """Tell owners and coordinators about each flagged pilot once per request deadline."""
    today = today or local_today()
    sent = 0
    for warning in budget_warnings(db.session.scalars(_pilot_matches()), today):
        if not first_time(f"budget:{warning.pilot_id}:{warning.check.deadline.isoformat()}"):
            continue
        match = db.session.get(Match, warning.match_id)
        assert match is not None
        recipients = notify.owners_of(match.challenge) + notify.coordinators()
        notify.notify(recipients, "pilot.budget_warning",
                      _("予算要求の確認：「%(title)s」", title=warning.challenge_title),
                      budget_warning_text(warning), warning.url)
        sent += 1
    return sent


# --- upcoming deadlines --------------------------------------------------------------------------


def _company_matches(organisation_id: int | None, stages: Sequence[str]) -> Select[tuple[int]]:
    return (select(Match.challenge_id).join(Solution, Match.solution_id == Solution.id)
            .where(Solution.organisation_id == organisation_id, Match.stage.in_(stages)))


def _proposal_deadlines(user: Any, start: date, end: date) -> list[Deadline]:
    query = (select(Challenge).options(selectinload(Challenge.organisation))
             .where(Challenge.status == "published", Challenge.deadline >= start, Challenge.deadline <= end))
    if user.is_municipal:
        query = query.where(Challenge.organisation_id == user.organisation_id)
    elif user.is_company:
        query = query.where(Challenge.id.in_(_company_matches(user.organisation_id, [M.RECOMMENDED.value])))
    return [Deadline("proposal", c.deadline, (c.deadline - start).days, c.title, c.organisation.name,
                     site_path("public.challenge", challenge_id=c.id), c.id)
            for c in db.session.scalars(query) if c.deadline is not None]


def _sounding_deadlines(user: Any, start: date, end: date) -> list[Deadline]:
    query = (select(Sounding).join(Challenge, Sounding.challenge_id == Challenge.id)
             .options(selectinload(Sounding.challenge).selectinload(Challenge.organisation))
             .where(Sounding.results_published_at.is_(None), Sounding.entry_deadline >= start,
                    Sounding.entry_deadline <= end))
    if user.is_municipal:
        query = query.where(Challenge.organisation_id == user.organisation_id)
    elif user.is_company:
        live = [s for s in (M.RECOMMENDED, M.PROPOSAL, M.SOUNDING)]
        booked = select(SoundingBooking.sounding_id).where(SoundingBooking.organisation_id == user.organisation_id)
        query = query.where(Challenge.id.in_(_company_matches(user.organisation_id, [s.value for s in live])),
                            Sounding.id.not_in(booked))
    return [Deadline("sounding_entry", s.entry_deadline, (s.entry_deadline - start).days, s.challenge.title,
                     s.challenge.organisation.name, site_path("matches.sounding", sounding_id=s.id), s.id)
            for s in db.session.scalars(query)]


def _pilot_ends(user: Any, start: date, end: date) -> list[Deadline]:
    query = on_members_side(_pilot_matches().where(Pilot.ends_on >= start, Pilot.ends_on <= end), user)
    out: list[Deadline] = []
    for m in db.session.scalars(query):
        assert m.pilot is not None
        out.append(Deadline("pilot_end", m.pilot.ends_on, (m.pilot.ends_on - start).days, m.challenge.title,
                            f"{m.challenge.organisation.name} × {m.solution.organisation.name}",
                            site_path("matches.match", match_id=m.id), m.id))
    return out


def upcoming_deadlines(user: Any, today: date | None = None, window: int = DEADLINE_WINDOW_DAYS,
                       limit: int | None = DEADLINE_LIMIT) -> list[Deadline]:
    """Deadlines in the next ``window`` days that concern ``user``, soonest first."""
    if not getattr(user, "is_authenticated", False):
        return []
    start = today or local_today()
    end = start + timedelta(days=window)
    items = _proposal_deadlines(user, start, end) + _sounding_deadlines(user, start, end) + _pilot_ends(user, start, end)
    items.sort(key=lambda d: (d.day, d.kind, d.object_id))
    return items[:limit] if limit is not None else items


# --- reminders -----------------------------------------------------------------------------------


class _Everyone:
    """Stands for a coordinator when collecting every deadline in the window."""

    is_authenticated = True
    is_municipal = False
    is_company = False
    is_staff = True


def _recipients(deadline: Deadline) -> list[User]:
    if deadline.kind == "pilot_end":
        match = db.session.get(Match, deadline.object_id)
        return notify.both_sides(match) if match is not None else []
    if deadline.kind == "proposal":
        companies = db.session.scalars(
            select(Solution.organisation_id).join(Match, Match.solution_id == Solution.id)
            .where(Match.challenge_id == deadline.object_id, Match.stage == M.RECOMMENDED.value))
        return notify.companies(companies)
    sounding = db.session.get(Sounding, deadline.object_id)
    if sounding is None:
        return []
    from matchmaker.services.qa import interested_companies

    booked = {b.organisation_id for b in sounding.bookings}
    return notify.companies(interested_companies(sounding.challenge) - booked)


def send_deadline_reminders(today: date | None = None) -> int:
    """Remind the people concerned 7 days and 1 day before each deadline, each reminder once."""
    today = today or local_today()
    sent = 0
    for deadline in upcoming_deadlines(_Everyone(), today, window=max(REMINDER_HORIZONS), limit=None):
        horizon = min(h for h in REMINDER_HORIZONS if deadline.days_left <= h)
        base = f"deadline:{deadline.kind}:{deadline.object_id}:{deadline.day.isoformat()}"
        fresh = [first_time(f"{base}:{h}") for h in REMINDER_HORIZONS if h >= horizon]
        if not fresh[-1]:  # the reminder for this horizon already went out
            continue
        if deadline.days_left == 0:
            subject = _("本日は%(what)sです：「%(title)s」", what=DEADLINE_LABELS[deadline.kind], title=deadline.title)
        else:
            subject = _("%(what)sまであと%(days)d日：「%(title)s」", what=DEADLINE_LABELS[deadline.kind],
                        days=deadline.days_left, title=deadline.title)
        notify.notify(_recipients(deadline), f"deadline.{deadline.kind}", subject,
                      _("期日：%(day)s（%(detail)s）", day=format_era_date(deadline.day), detail=deadline.detail),
                      deadline.url)
        sent += 1
    return sent
