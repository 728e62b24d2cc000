"""What an organisation must act on in the pipeline (対応が必要なこと), for the two dashboards.

One query per kind, each returning plain columns (no lazy loads):

* municipality — proposals awaiting a decision, unanswered questions, soundings whose dialogue
  period is over without a published results summary, pilots past their end without a results report;
* company — open soundings it was invited to (its match is at 'sounding') but has not booked,
  its shortlisted/invited proposals, and running pilots without a progress update from its staff in
  the last ``UPDATE_INTERVAL_DAYS`` days.

Both see their open 第三者意見照会: the municipality until it records the release, the company until it
states its view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from matchmaker.i18n import local_time
from matchmaker.services.challenges import JST, local_today
from models import (
    Challenge,
    DisclosureInquiry,
    Match,
    Organisation,
    Pilot,
    PilotUpdate,
    Proposal,
    Question,
    Solution,
    Sounding,
    SoundingBooking,
    User,
    db,
)
from models.match import MatchStage

M = MatchStage
UPDATE_INTERVAL_DAYS = 30
DECIDABLE_STAGES = (M.PROPOSAL.value, M.SOUNDING.value)  # see proposals._decidable

TodoKind = Literal["proposal_decision", "question", "sounding_results", "pilot_report", "disclosure_release",
                   "disclosure_view", "sounding_invitation", "proposal_followup", "pilot_update"]
KIND_ORDER: tuple[TodoKind, ...] = ("proposal_decision", "question", "sounding_results", "pilot_report",
                                    "disclosure_release", "disclosure_view", "sounding_invitation",
                                    "proposal_followup", "pilot_update")
TODO_LABELS: dict[str, Any] = {
    "proposal_decision": _l("提案の選考"),
    "question": _l("質問への回答"),
    "sounding_results": _l("サウンディング結果の公表"),
    "pilot_report": _l("実証実験の結果報告"),
    "sounding_invitation": _l("サウンディングの枠の予約"),
    "proposal_followup": _l("選考中の提案"),
    "pilot_update": _l("実証実験の経過報告"),
    "disclosure_release": _l("第三者意見照会（開示の記録）"),
    "disclosure_view": _l("情報公開請求に係る意見照会への回答"),
}


@dataclass(frozen=True)
class TodoItem:
    kind: TodoKind
    challenge_title: str
    party: str  # the other side: company, municipality, or the sounding's participants
    day: date
    day_label: str  # what ``day`` is: submitted on, asked on, period ended, …
    url: str
    object_id: int  # proposal, question, sounding or match id, by kind

    @property
    def label(self) -> str:
        return str(TODO_LABELS[self.kind])


def _local_day(value: datetime) -> date:
    """A stored instant as a day in Japan."""
    return local_time(value).date()


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JST).astimezone(UTC)


def _ordered(items: list[TodoItem]) -> list[TodoItem]:
    return sorted(items, key=lambda i: (KIND_ORDER.index(i.kind), i.day, i.object_id))


# --- municipality --------------------------------------------------------------------------------


def _proposals_to_decide(organisation_id: int) -> list[TodoItem]:
    company = aliased(Organisation)
    rows = db.session.execute(
        select(Proposal.id, Proposal.submitted_at, Challenge.id, Challenge.title, company.name)
        .join(Challenge, Proposal.challenge_id == Challenge.id)
        .join(Match, Proposal.match_id == Match.id)
        .join(company, Proposal.organisation_id == company.id)
        .where(Challenge.organisation_id == organisation_id, Proposal.status == "submitted",
               Match.stage.in_(DECIDABLE_STAGES)))
    return [TodoItem("proposal_decision", title, party, _local_day(at), _("提出日"),
                     url_for("matches.challenge_proposals", challenge_id=challenge_id), proposal_id)
            for proposal_id, at, challenge_id, title, party in rows]


def _questions_to_answer(organisation_id: int) -> list[TodoItem]:
    company = aliased(Organisation)
    rows = db.session.execute(
        select(Question.id, Question.asked_at, Challenge.id, Challenge.title, company.name)
        .join(Challenge, Question.challenge_id == Challenge.id)
        .join(company, Question.organisation_id == company.id)
        .where(Challenge.organisation_id == organisation_id, Question.answered_at.is_(None)))
    return [TodoItem("question", title, party, _local_day(at), _("質問日"),
                     url_for("matches.questions", challenge_id=challenge_id, _anchor=f"q-{question_id}"),
                     question_id)
            for question_id, at, challenge_id, title, party in rows]


def _soundings_without_results(organisation_id: int, today: date) -> list[TodoItem]:
    participants = (select(func.count(SoundingBooking.id)).where(SoundingBooking.sounding_id == Sounding.id)
                    .correlate(Sounding).scalar_subquery())
    rows = db.session.execute(
        select(Sounding.id, Sounding.ends_on, Challenge.title, participants)
        .join(Challenge, Sounding.challenge_id == Challenge.id)
        .where(Challenge.organisation_id == organisation_id, Sounding.ends_on < today,
               Sounding.results_published_at.is_(None)))
    return [TodoItem("sounding_results", title, _("参加 %(n)d社", n=n or 0), ends_on, _("対話期間の終了"),
                     url_for("matches.sounding_results", sounding_id=sounding_id), sounding_id)
            for sounding_id, ends_on, title, n in rows]


def _pilots_without_report(organisation_id: int, today: date) -> list[TodoItem]:
    company = aliased(Organisation)
    rows = db.session.execute(
        select(Match.id, Pilot.ends_on, Challenge.title, company.name)
        .join(Pilot, Match.pilot_id == Pilot.id)
        .join(Challenge, Match.challenge_id == Challenge.id)
        .join(Solution, Match.solution_id == Solution.id)
        .join(company, Solution.organisation_id == company.id)
        .where(Challenge.organisation_id == organisation_id, Match.stage == M.PILOT.value,
               Pilot.ends_on < today, Pilot.reported_at.is_(None)))
    return [TodoItem("pilot_report", title, party, ends_on, _("実証終了"),
                     url_for("matches.pilot_report", match_id=match_id), match_id)
            for match_id, ends_on, title, party in rows]


def _open_inquiries(*, municipality_id: int | None = None, company_id: int | None = None) -> list[TodoItem]:
    """第三者意見照会 still open: the municipality's (to record the release), every municipality's (for
    the coordinators) or those asked of a company that has not stated its view yet."""
    company = aliased(Organisation)
    query = (select(DisclosureInquiry.id, DisclosureInquiry.deadline, DisclosureInquiry.title, company.name)
             .join(Challenge, DisclosureInquiry.challenge_id == Challenge.id)
             .join(company, DisclosureInquiry.organisation_id == company.id)
             .where(DisclosureInquiry.released_at.is_(None)))
    if municipality_id is not None:
        query = query.where(Challenge.organisation_id == municipality_id)
    if company_id is not None:
        query = query.where(DisclosureInquiry.organisation_id == company_id, DisclosureInquiry.company_view.is_(None))
    kind: TodoKind = "disclosure_view" if company_id is not None else "disclosure_release"
    return [TodoItem(kind, title, party, deadline, _("意見の提出期限"),
                     url_for("records.inquiry", inquiry_id=inquiry_id), inquiry_id)
            for inquiry_id, deadline, title, party in db.session.execute(query)]


def for_municipality(organisation_id: int, today: date | None = None) -> list[TodoItem]:
    """What the municipality's staff must act on, by kind, oldest first within a kind."""
    today = today or local_today()
    return _ordered(_proposals_to_decide(organisation_id) + _questions_to_answer(organisation_id)
                    + _soundings_without_results(organisation_id, today)
                    + _pilots_without_report(organisation_id, today)
                    + _open_inquiries(municipality_id=organisation_id))


def for_coordinators() -> list[TodoItem]:
    """What waits on a municipality's release across the site: the open 第三者意見照会, which the
    coordinators may also record."""
    return _ordered(_open_inquiries())


# --- company -------------------------------------------------------------------------------------


def _booked_by(organisation_id: int) -> Any:
    """EXISTS: the company holds a booking in the sounding of the enclosing query."""
    return exists().where(SoundingBooking.sounding_id == Sounding.id,
                          SoundingBooking.organisation_id == organisation_id)


def _sounding_invitations(organisation_id: int, today: date) -> list[TodoItem]:
    municipality = aliased(Organisation)
    rows = db.session.execute(
        select(Sounding.id, Sounding.entry_deadline, Challenge.title, municipality.name).distinct()
        .join(Challenge, Sounding.challenge_id == Challenge.id)
        .join(municipality, Challenge.organisation_id == municipality.id)
        .join(Match, Match.challenge_id == Challenge.id)
        .join(Solution, Match.solution_id == Solution.id)
        .where(Solution.organisation_id == organisation_id, Match.stage == M.SOUNDING.value,
               Sounding.results_published_at.is_(None), Sounding.entry_deadline >= today,
               ~_booked_by(organisation_id)))
    return [TodoItem("sounding_invitation", title, party, deadline, _("エントリー締切"),
                     url_for("matches.sounding", sounding_id=sounding_id), sounding_id)
            for sounding_id, deadline, title, party in rows]


def _proposals_in_play(organisation_id: int, today: date) -> list[TodoItem]:
    """Shortlisted proposals, and invited ones with no sounding to book yet and none booked.

    An invited proposal with an open sounding shows as a sounding invitation instead.
    """
    municipality = aliased(Organisation)
    booked_any = exists().where(Sounding.challenge_id == Proposal.challenge_id,
                                SoundingBooking.sounding_id == Sounding.id,
                                SoundingBooking.organisation_id == organisation_id)
    open_sounding = exists().where(Sounding.challenge_id == Proposal.challenge_id,
                                   Sounding.results_published_at.is_(None), Sounding.entry_deadline >= today)
    rows = db.session.execute(
        select(Proposal.id, Proposal.status, Proposal.decided_at, Proposal.submitted_at, Challenge.title,
               municipality.name)
        .join(Challenge, Proposal.challenge_id == Challenge.id)
        .join(municipality, Challenge.organisation_id == municipality.id)
        .join(Match, Proposal.match_id == Match.id)
        .where(Proposal.organisation_id == organisation_id, Match.stage.in_(DECIDABLE_STAGES),
               (Proposal.status == "shortlisted")
               | ((Proposal.status == "invited") & ~booked_any & ~open_sounding)))
    return [TodoItem("proposal_followup", title, party, _local_day(decided_at or submitted_at),
                     _("候補に選定") if status == "shortlisted" else _("サウンディングに招待"),
                     url_for("matches.proposal", proposal_id=proposal_id), proposal_id)
            for proposal_id, status, decided_at, submitted_at, title, party in rows]


def _pilots_needing_update(organisation_id: int, today: date) -> list[TodoItem]:
    """Running pilots, started at least the interval ago, with no update from the company within it."""
    cutoff = today - timedelta(days=UPDATE_INTERVAL_DAYS)
    own_updates = (PilotUpdate.pilot_id == Pilot.id, PilotUpdate.author_id == User.id,
                   User.organisation_id == organisation_id)
    last_update = select(func.max(PilotUpdate.created_at)).where(*own_updates).correlate(Pilot).scalar_subquery()
    recent = exists().where(*own_updates, PilotUpdate.created_at >= _start_of_day(cutoff + timedelta(days=1)))
    municipality = aliased(Organisation)
    rows = db.session.execute(
        select(Match.id, Pilot.starts_on, last_update, Challenge.title, municipality.name)
        .join(Pilot, Match.pilot_id == Pilot.id)
        .join(Challenge, Match.challenge_id == Challenge.id)
        .join(municipality, Challenge.organisation_id == municipality.id)
        .join(Solution, Match.solution_id == Solution.id)
        .where(Solution.organisation_id == organisation_id, Match.stage == M.PILOT.value,
               Pilot.reported_at.is_(None), Pilot.starts_on <= cutoff, Pilot.ends_on >= today, ~recent))
    return [TodoItem("pilot_update", title, party, _local_day(last) if last else starts_on,
                     _("前回の経過報告") if last else _("実証開始"),
                     url_for("matches.match", match_id=match_id, _anchor="pilot"), match_id)
            for match_id, starts_on, last, title, party in rows]


def for_company(organisation_id: int, today: date | None = None) -> list[TodoItem]:
    """What the company's staff must act on (or follow up), by kind, oldest first within a kind."""
    today = today or local_today()
    return _ordered(_sounding_invitations(organisation_id, today) + _proposals_in_play(organisation_id, today)
                    + _pilots_needing_update(organisation_id, today) + _open_inquiries(company_id=organisation_id))
