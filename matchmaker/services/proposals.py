"""Proposals (提案): submit before the deadline (one open proposal per company per challenge),
withdraw, and the municipality's decisions (shortlist, decline with a reason, invite to sounding)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.i18n import format_era_date
from matchmaker.services import attachments, audit, conflicts, notify
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import Challenge, Proposal, Solution, User, db
from models.match import MatchStage
from models.proposal import OPEN_STATUSES

M = MatchStage
FORM = "__form__"  # errors that belong to no single field go to the top of the form
PROPOSABLE_STAGES = (M.RECOMMENDED.value, M.PROPOSAL.value, M.SOUNDING.value)


def proposal_url(proposal: Proposal) -> str:
    return url_for("matches.proposal", proposal_id=proposal.id)


def open_proposal_of(challenge_id: int, organisation_id: int | None) -> Proposal | None:
    return db.session.scalar(select(Proposal).where(
        Proposal.challenge_id == challenge_id, Proposal.organisation_id == organisation_id,
        Proposal.status.in_(OPEN_STATUSES),
    ))


def check_can_propose(challenge: Challenge, organisation_id: int | None) -> None:
    """The deadline and one-open-proposal rules, as FieldErrors with a clear message."""
    if challenge.status != "published":
        raise FieldError(FORM, _l("この課題は現在提案を受け付けていません。"))
    if challenge.deadline is not None and local_today() > challenge.deadline:
        raise FieldError(FORM, _l("提案の締切（%(deadline)s）を過ぎているため、提案を受け付けられません。",
                                  deadline=format_era_date(challenge.deadline)))
    if open_proposal_of(challenge.id, organisation_id) is not None:
        raise conflicts.refusal("uq_proposal_open_per_company")


def submit(challenge: Challenge, solution: Solution, user: User, values: Mapping[str, Any],
           uploads: Iterable[attachments.Upload] = ()) -> Proposal:
    """A company's proposal against ``challenge`` with ``solution``; moves the match to 'proposal'."""
    if not (user.is_company and solution.organisation_id == user.organisation_id):
        raise FieldError("solution_id", _l("自社のソリューションを選んでください。"))
    check_can_propose(challenge, user.organisation_id)
    cost = values.get("cost_estimate")
    if cost is None or int(cost) < 0:
        raise FieldError("cost_estimate", _l("金額は0円以上で入力してください。"))
    match, _created = match_service.open_match(challenge, solution, user, "proposal")
    if match.stage not in PROPOSABLE_STAGES:
        raise FieldError(FORM, _l("この課題とソリューションの組み合わせは既に実証・導入・終了の段階にあるため、新たに提案できません。"))
    proposal = Proposal(
        match=match, challenge_id=challenge.id, organisation_id=solution.organisation_id, author_id=user.id,
        status="submitted", title=str(values.get("title") or "").strip(),
        approach=str(values.get("approach") or "").strip(), schedule=str(values.get("schedule") or "").strip(),
        cost_estimate=int(cost), needs_from_municipality=str(values.get("needs_from_municipality") or "").strip(),
        submitted_at=match_service.now_utc(),
    )
    with conflicts.savepoint():  # uq_proposal_open_per_company: the same company, another session
        db.session.add(proposal)
        db.session.flush()
    for upload in uploads:
        attachments.store(proposal, upload, user)
    audit.record(user, "proposal.submitted", proposal, to_state="submitted", match_id=match.id)
    if match.stage == M.RECOMMENDED.value:
        match_service.advance(match, M.PROPOSAL.value, user, _("提案「%(title)s」を提出", title=proposal.title),
                              quiet=True)
    else:
        match_service.record_event(match, user, "proposal.submitted", proposal.title)
    notify.notify(notify.owners_of(challenge), "proposal.submitted",
                  _("「%(title)s」に提案が届きました", title=challenge.title),
                  _("%(company)s：%(proposal)s", company=solution.organisation.name, proposal=proposal.title),
                  proposal_url(proposal))
    return proposal


def _set_status(proposal: Proposal, user: User, status: str, reason: str | None, event_kind: str) -> str:
    previous = proposal.status
    proposal.status = status
    if status == "withdrawn":
        proposal.withdrawn_at = match_service.now_utc()
    else:
        proposal.decided_at, proposal.decided_by_id = match_service.now_utc(), user.id
        proposal.decision_reason = reason
    db.session.flush()
    audit.record(user, f"proposal.{status}", proposal, from_state=previous, to_state=status, reason=reason)
    match_service.record_event(proposal.match, user, event_kind, reason or proposal.title)
    return previous


def withdraw(proposal: Proposal, user: User, reason: str | None = None) -> None:
    """The company takes its proposal back; it may propose again before the deadline."""
    if not proposal.can_withdraw(user):
        raise match_service.MoveRefused(_("この提案は取り下げられません。"))
    _set_status(proposal, user, "withdrawn", (reason or "").strip() or None, "proposal.withdrawn")
    notify.notify(notify.owners_of(proposal.challenge), "proposal.withdrawn",
                  _("「%(title)s」への提案が取り下げられました", title=proposal.challenge.title),
                  proposal.title, proposal_url(proposal))


def _decidable(proposal: Proposal, user: User) -> bool:
    """Decisions belong to the proposal phase: the match is still at 'proposal' or 'sounding'."""
    return proposal.can_decide(user) and proposal.match.stage in (M.PROPOSAL.value, M.SOUNDING.value)


def shortlist(proposal: Proposal, user: User) -> None:
    if not _decidable(proposal, user) or proposal.status != "submitted":
        raise match_service.MoveRefused(_("この提案は候補に選べません。"))
    _set_status(proposal, user, "shortlisted", None, "proposal.shortlisted")
    notify.notify(notify.company_of(proposal.match), "proposal.shortlisted",
                  _("提案「%(title)s」が候補に選ばれました", title=proposal.title), "", proposal_url(proposal))


def decline(proposal: Proposal, user: User, reason: str) -> None:
    """Decline with a reason: the proposal ends and its match closes as 不採択."""
    if not _decidable(proposal, user):  # first, so the reason rule never tells an outsider anything
        raise match_service.MoveRefused(_("この提案は見送りにできません。"))
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _l("見送りの理由を入力してください。企業に伝えられ、記録に残ります。"))
    _set_status(proposal, user, "declined", reason, "proposal.declined")
    match = proposal.match
    if not match.is_final and match.can_advance(user, M.CLOSED.value):
        match_service.close(match, user, "rejected", reason, quiet=True)
    notify.notify(notify.company_of(match), "proposal.declined",
                  _("提案「%(title)s」は見送りとなりました", title=proposal.title), reason, proposal_url(proposal))


def invite_to_sounding(proposal: Proposal, user: User, reason: str | None = None) -> None:
    """Invite the proposer to the sounding: the match moves to 'sounding'."""
    if not _decidable(proposal, user) or proposal.status == "invited":
        raise match_service.MoveRefused(_("この提案はサウンディングに招待できません。"))
    _set_status(proposal, user, "invited", (reason or "").strip() or None, "proposal.invited")
    match = proposal.match
    if match.stage != M.SOUNDING.value:
        match_service.advance(match, M.SOUNDING.value, user, _("サウンディングに招待"), quiet=True)
    notify.notify(notify.company_of(match), "proposal.invited",
                  _("「%(title)s」のサウンディングに招待されました", title=proposal.challenge.title),
                  _("課題のページからサウンディングの枠を予約してください。"),
                  url_for("public.challenge", challenge_id=proposal.challenge_id))


def proposals_for_challenge(challenge: Challenge) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.challenge_id == challenge.id)
        .order_by(Proposal.submitted_at.desc(), Proposal.id.desc())
    ))


def proposals_of_company(organisation_id: int | None) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.organisation_id == organisation_id)
        .order_by(Proposal.submitted_at.desc(), Proposal.id.desc())
    ))
