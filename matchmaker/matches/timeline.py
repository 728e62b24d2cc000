"""Presenters for match pages: the timeline, the my-matches dashboard and the template filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.matches import bp
from matchmaker.services import matches as match_service
from models import Challenge, Match, Proposal, Solution, Sounding, SoundingBooking, User, db
from models.match import (
    CLOSE_REASONS,
    NEGOTIATED_GROUNDS,
    ORIGINS,
    PROCUREMENT_ROUTES,
    STAGE_LABELS,
    STAGE_ORDER,
)
from models.pilot import VERDICTS
from models.procurement import CONTRACT_KINDS
from models.proposal import OPEN_STATUSES, PROPOSAL_STATUSES

# Events whose content the timeline shows from the object itself (proposal, note, update).
_SHOWN_AS_CONTENT = {"proposal.submitted", "sounding.note", "pilot.update"}


def _label(table: dict[str, Any], code: str | None) -> str:
    return "" if code is None else str(table.get(code, code))


for _name, _table in (("stage_label", STAGE_LABELS), ("close_reason_label", CLOSE_REASONS),
                      ("route_label", PROCUREMENT_ROUTES), ("verdict_label", VERDICTS),
                      ("proposal_status_label", PROPOSAL_STATUSES), ("origin_label", ORIGINS),
                      ("contract_kind_label", CONTRACT_KINDS), ("negotiated_ground_label", NEGOTIATED_GROUNDS)):
    bp.add_app_template_filter(lambda code, _t=_table: _label(_t, code), _name)


@bp.app_template_filter("slot_label")
def _slot_label(slot: Any) -> str:
    from matchmaker.services.sounding import slot_label

    return slot_label(slot)


@bp.app_template_filter("local_datetime")
def local_datetime(value: datetime | None) -> str:
    """令和8年5月1日 14:30 in Japan time."""
    if value is None:
        return ""
    from matchmaker.i18n import format_era_date, local_time

    local = local_time(value)
    return f"{format_era_date(local.date())} {local:%H:%M}"


@bp.app_template_filter("kpi_number")
def kpi_number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.6g}"


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # stage, event, proposal, note, update
    title: str
    body: str = ""
    actor: str = ""
    url: str | None = None
    stage: str | None = None


def event_title(kind: str, from_stage: str | None, to_stage: str | None) -> str:
    titles = {
        "created": _("マッチが作成されました"),
        "proposal.withdrawn": _("提案が取り下げられました"),
        "proposal.shortlisted": _("提案が候補に選ばれました"),
        "proposal.declined": _("提案が見送りになりました"),
        "proposal.invited": _("サウンディングに招待されました"),
        "sounding.booked": _("サウンディングの枠が予約されました"),
        "pilot.budget_request": _("予算要求が登録されました"),
        "pilot.report": _("実証実験の結果報告が登録されました"),
        "handover": _("人事異動により担当者が引き継がれました"),
    }
    if kind == "stage":
        return _("「%(from)s」から「%(to)s」へ", **{"from": _label(STAGE_LABELS, from_stage),
                                                 "to": _label(STAGE_LABELS, to_stage)})
    return titles.get(kind, kind)


def _who(user: User | None) -> str:
    if user is None:
        return ""
    org = user.organisation.name if user.organisation else _("コーディネーター")
    return f"{user.name}（{org}）"


def timeline(match: Match, viewer: Any) -> list[TimelineItem]:
    """Everything that happened on the match, oldest first. Only call for viewers of the match."""
    items: list[TimelineItem] = []
    for event in match.events:
        if event.kind in _SHOWN_AS_CONTENT:
            continue
        items.append(TimelineItem((event.at), "stage" if event.kind == "stage" else "event",
                                  event_title(event.kind, event.from_stage, event.to_stage), event.reason or "",
                                  _who(event.actor), stage=event.to_stage))
    for proposal in db.session.scalars(select(Proposal).where(Proposal.match_id == match.id)):
        items.append(TimelineItem((proposal.submitted_at), "proposal",
                                  _("提案「%(title)s」", title=proposal.title), proposal.approach,
                                  _who(proposal.author), url_for("matches.proposal", proposal_id=proposal.id)))
    for booking in db.session.scalars(select(SoundingBooking).where(SoundingBooking.match_id == match.id)):
        if not booking.can_view(viewer):
            continue
        for note in booking.notes:
            items.append(TimelineItem((note.created_at), "note", _("個別対話の記録"), note.body, _who(note.author),
                                      url_for("matches.booking", booking_id=booking.id)))
    if match.pilot is not None:
        for update in match.pilot.updates:
            items.append(TimelineItem((update.created_at), "update", _("実証実験の経過報告"), update.body,
                                      _who(update.author)))
    return sorted(items, key=lambda item: item.at)


@dataclass
class StageGroup:
    stage: str
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class DashboardRow:
    match: Match
    deadline: date | None  # the next date that matters for this match
    deadline_label: str
    open_proposal: Proposal | None


def my_matches(user: Any) -> list[Match]:
    """Matches on the user's challenges (municipal) or of the user's solutions (company), with the
    challenge, solution, both organisations and the pilot that the dashboard shows."""
    query = select(Match).order_by(Match.stage_changed_at.desc(), Match.id.desc()).options(
        selectinload(Match.challenge).selectinload(Challenge.organisation),
        selectinload(Match.solution).selectinload(Solution.organisation), selectinload(Match.pilot))
    return list(db.session.scalars(match_service.on_members_side(query, user)))


def next_deadline(match: Match, open_soundings: Sequence[Sounding]) -> tuple[date | None, str]:
    """The proposal deadline, the sounding entry deadline or the pilot end, by stage
    (``open_soundings``: the challenge's soundings without published results, latest first)."""
    if match.stage in ("recommended", "proposal") and match.challenge.deadline:
        return match.challenge.deadline, _("提案締切")
    if match.stage == "sounding" and open_soundings:
        return open_soundings[0].entry_deadline, _("エントリー締切")
    if match.stage == "pilot" and match.pilot is not None:
        return match.pilot.ends_on, _("実証終了")
    return None, ""


def dashboard_groups(matches: Sequence[Match], organisation_id: int | None) -> list[tuple[str, list[DashboardRow]]]:
    """The matches by stage, each with its next deadline and its company's open proposal on the
    challenge (two queries for all: open proposals, open soundings)."""
    challenge_ids = {m.challenge_id for m in matches}
    proposals: dict[tuple[int, int], Proposal] = {}
    soundings: dict[int, list[Sounding]] = {i: [] for i in challenge_ids}
    if challenge_ids:
        for proposal in db.session.scalars(select(Proposal).where(
                Proposal.challenge_id.in_(challenge_ids), Proposal.status.in_(OPEN_STATUSES))):
            proposals.setdefault((proposal.challenge_id, proposal.organisation_id), proposal)
        sounding_ids = {m.challenge_id for m in matches if m.stage == "sounding"}
        if sounding_ids:
            for sounding in db.session.scalars(select(Sounding).where(
                    Sounding.challenge_id.in_(sounding_ids), Sounding.results_published_at.is_(None))
                    .order_by(Sounding.starts_on.desc(), Sounding.id)):
                soundings[sounding.challenge_id].append(sounding)
    groups: list[tuple[str, list[DashboardRow]]] = []
    for stage in STAGE_ORDER:
        rows = []
        for match in matches:
            if match.stage != stage:
                continue
            deadline, label = next_deadline(match, soundings[match.challenge_id])
            rows.append(DashboardRow(match, deadline, label,
                                     proposals.get((match.challenge_id, match.solution.organisation_id))))
        groups.append((stage, rows))
    return groups
