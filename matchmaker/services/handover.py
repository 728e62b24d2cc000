"""人事異動 handover: everything open of a leaving municipal staff member moves to a successor of the
same municipality in one transaction, with an audit row per object and a timeline line per match.

What "responsible staff" means here is what the models already record about a person:
``Challenge.author_id`` (the challenge's responsible staff member), ``Match.created_by_id`` (who
opened the match), ``Pilot.created_by_id`` (who agreed the plan; the results report is theirs to
write) and ``Sounding.created_by_id`` (who runs the sounding; the results summary is pending with
them). Permissions stay organisation-wide, as elsewhere; the handover changes who is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from matchmaker.services.matches import now_utc
from matchmaker.services.notify import company_of, notify
from models import Challenge, Match, MatchEvent, Organisation, Pilot, Sounding, User, db
from models.codes import ChallengeStatus, Role
from models.match import FINAL_STAGES

HANDOVER_EVENT = "handover"
# A match whose last line is a handover and that has not moved for this many days shows on the board.
STALLED_AFTER_HANDOVER_DAYS = 14


def can_hand_over(organisation: Organisation, user: Any) -> bool:
    """Coordinators and administrators; staff of the municipality itself (there is no separate
    municipal administrator role: a municipality's staff already act for it as a whole)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or (user.is_municipal and user.organisation_id == organisation.id))


def staff_of(organisation: Organisation) -> list[User]:
    """The municipality's staff accounts (the leaver may already be deactivated)."""
    return list(db.session.scalars(
        select(User).where(User.organisation_id == organisation.id, User.role == Role.MUNICIPAL.value)
        .order_by(User.active.desc(), User.name, User.id)))


@dataclass
class OpenWork:
    """What a staff member holds open, by kind."""

    challenges: list[Challenge] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    pilots: list[Pilot] = field(default_factory=list)
    soundings: list[Sounding] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.challenges) + len(self.matches) + len(self.pilots) + len(self.soundings)


def open_work(leaver: User) -> OpenWork:
    """Open challenges (not closed) they are responsible for, open matches on those challenges,
    opened by them or in a pilot they agreed, running pilots whose plan they agreed, soundings whose results are unpublished."""
    org = leaver.organisation_id
    challenges = list(db.session.scalars(
        select(Challenge).where(Challenge.organisation_id == org, Challenge.author_id == leaver.id,
                                Challenge.status != ChallengeStatus.CLOSED.value).order_by(Challenge.id)))
    matches = list(db.session.scalars(
        select(Match).join(Challenge, Match.challenge_id == Challenge.id)
        .outerjoin(Pilot, Match.pilot_id == Pilot.id)
        .where(Challenge.organisation_id == org, Match.stage.not_in(FINAL_STAGES),
               or_(Challenge.author_id == leaver.id, Match.created_by_id == leaver.id,
                   Pilot.created_by_id == leaver.id)).order_by(Match.id)))
    pilots = list(db.session.scalars(
        select(Pilot).join(Match, Match.pilot_id == Pilot.id).join(Challenge, Match.challenge_id == Challenge.id)
        .where(Challenge.organisation_id == org, Pilot.created_by_id == leaver.id, Pilot.reported_at.is_(None),
               Match.stage.not_in(FINAL_STAGES)).order_by(Pilot.id)))
    soundings = list(db.session.scalars(
        select(Sounding).join(Challenge, Sounding.challenge_id == Challenge.id)
        .where(Challenge.organisation_id == org, Sounding.created_by_id == leaver.id,
               Sounding.results_published_at.is_(None)).order_by(Sounding.id)))
    return OpenWork(challenges, matches, pilots, soundings)


def _check(actor: Any, organisation: Organisation, leaver: User | None, successor: User | None) -> tuple[User, User]:
    if not can_hand_over(organisation, actor):
        raise PermissionError("not allowed to hand over this municipality's work")
    if leaver is None or not leaver.is_municipal or leaver.organisation_id != organisation.id:
        raise FieldError("leaver", _("この自治体の職員を選んでください。"))
    if successor is None or not successor.is_municipal or successor.organisation_id != organisation.id:
        raise FieldError("successor", _("後任者は同じ自治体の職員から選んでください。"))
    if not successor.active:
        raise FieldError("successor", _("後任者のアカウントが無効です。"))
    if successor.id == leaver.id:
        raise FieldError("successor", _("前任者と後任者が同じです。"))
    return leaver, successor


def hand_over(actor: User, organisation: Organisation, leaver: User | None, successor: User | None,
              reason: str = "") -> OpenWork:
    """Move everything open of ``leaver`` to ``successor``; flushes, audits and notifies, does not commit.

    Raises:
        PermissionError: ``actor`` may not act for this municipality.
        FieldError: the leaver or successor is not staff of ``organisation`` (or the same person).
    """
    leaver, successor = _check(actor, organisation, leaver, successor)
    work = open_work(leaver)
    if not work.total:
        raise FieldError("leaver", _("引き継ぐ案件がありません。"))
    now = now_utc()
    reason = (reason or "").strip()
    note = _("担当者を%(old)sから%(new)sに引き継ぎました。", old=leaver.name, new=successor.name)
    details: dict[str, Any] = {"leaver_id": leaver.id, "successor_id": successor.id}
    for item in work.challenges:
        item.author_id = successor.id
        audit.record(actor, "challenge.handover", item, reason=reason or None, **details)
    for pilot in work.pilots:
        pilot.created_by_id = successor.id
        audit.record(actor, "pilot.handover", pilot, reason=reason or None, **details)
    for sounding in work.soundings:
        sounding.created_by_id = successor.id
        audit.record(actor, "sounding.handover", sounding, reason=reason or None, **details)
    for match in work.matches:
        if match.created_by_id == leaver.id:
            match.created_by_id = successor.id
        db.session.add(MatchEvent(match=match, at=now, actor_id=actor.id, kind=HANDOVER_EVENT,
                                  reason=f"{note} {reason}".strip()))
        audit.record(actor, "match.handover", match, reason=reason or None, **details)
    audit.record(actor, "user.handover", leaver, reason=reason or None, successor_id=successor.id,
                 challenges=[c.id for c in work.challenges], matches=[m.id for m in work.matches],
                 pilots=[p.id for p in work.pilots], soundings=[s.id for s in work.soundings])
    db.session.flush()
    department = successor.department or organisation.name
    for match in work.matches:
        notify(company_of(match), "match.handover",
               _("担当者変更：%(title)s", title=match.challenge.title),
               _("%(org)sの新しい担当者は%(name)s（%(dept)s）です。前任：%(old)s",
                 org=organisation.name, name=successor.name, dept=department, old=leaver.name),
               url=url_for("records.record", kind="dossier", ident=match.id))
    notify([successor], "handover.received", _("%(old)sから%(n)d件を引き継ぎました", old=leaver.name, n=work.total),
           _("引継書（案件ごと）はマッチのページから開けます。"),
           url=url_for("auth.handover_page", organisation_id=organisation.id))
    return work


@dataclass(frozen=True)
class StalledHandover:
    match: Match
    handed_over_at: datetime
    idle_days: int
    note: str


def stalled_since_handover(now: datetime, days: int = STALLED_AFTER_HANDOVER_DAYS,
                           municipality_id: int | None = None) -> list[StalledHandover]:
    """Open matches whose latest timeline line is a handover at least ``days`` old: nothing has
    happened since the transfer."""
    last_any = (select(MatchEvent.match_id, func.max(MatchEvent.at).label("at"))
                .group_by(MatchEvent.match_id).subquery())
    query = (select(Match, MatchEvent)
             .join(MatchEvent, MatchEvent.match_id == Match.id)
             .join(last_any, (last_any.c.match_id == Match.id) & (last_any.c.at == MatchEvent.at))
             .join(Challenge, Match.challenge_id == Challenge.id)
             .where(MatchEvent.kind == HANDOVER_EVENT, Match.stage.not_in(FINAL_STAGES),
                    MatchEvent.at <= now - timedelta(days=days))
             .order_by(MatchEvent.at, Match.id))
    if municipality_id:
        query = query.where(Challenge.organisation_id == municipality_id)
    seen: set[int] = set()
    items = []
    for match, event in db.session.execute(query).tuples():
        if match.id in seen:
            continue
        seen.add(match.id)
        items.append(StalledHandover(match, event.at, max(0, (now - event.at).days), event.reason or ""))
    return items


def handovers_of(match: Match) -> list[MatchEvent]:
    return [e for e in match.events if e.kind == HANDOVER_EVENT]


@dataclass(frozen=True)
class Dossier:
    """A match's continuity dossier (引継書): what a successor needs to carry it on."""

    proposals: list[Any]
    open_proposals: list[Any]
    unanswered: list[Any]
    bookings: list[Any]
    next_stages: list[str]
    pilot_report_due: bool
    responsible: User | None
    company_contacts: list[User]
    handovers: list[MatchEvent]


def dossier(match: Match, viewer: Any) -> Dossier:
    from models import Proposal, Question, SoundingBooking
    from models.match import MATCH_TRANSITIONS

    proposals = list(db.session.scalars(select(Proposal).where(Proposal.match_id == match.id).order_by(Proposal.id)))
    unanswered = list(db.session.scalars(
        select(Question).where(Question.challenge_id == match.challenge_id, Question.answered_at.is_(None),
                               Question.organisation_id == match.solution.organisation_id).order_by(Question.id)))
    bookings = [b for b in db.session.scalars(select(SoundingBooking).where(SoundingBooking.match_id == match.id))
                if b.can_view(viewer)]
    next_stages = [to for (frm, to) in MATCH_TRANSITIONS if frm == match.stage]
    return Dossier(
        proposals=proposals,
        open_proposals=[p for p in proposals if p.status in ("submitted", "shortlisted", "invited")],
        unanswered=unanswered, bookings=bookings, next_stages=next_stages,
        pilot_report_due=match.pilot is not None and not match.pilot.is_reported and not match.is_final,
        responsible=match.challenge.author, company_contacts=company_of(match), handovers=handovers_of(match))
