"""The selection evidence pack (選定の記録・公平性): frozen once per challenge at the decision.

At the decision — a proposal selected on the evaluation sheet, or the first adoption on the
challenge — ``freeze`` writes one ``SelectionRecord`` whose ``data`` copies, as they stand at that
moment: the recommendation list the challenge's page would show (rank, score, reasons), every
match on the challenge with the rank and score recorded when it was opened, who was invited, who
proposed, the evaluation criteria, each evaluator's scores and the averages, and the decision with
its reason. Later edits of criteria or scores do not reach it. A second freeze is refused (the
unique constraint on ``challenge_id``; a concurrent loser gets the same refusal). Services flush
and audit; the view commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from matchmaker.services import audit, conflicts, evaluation, recommend
from matchmaker.services.errors import FieldError
from models import AuditEvent, Challenge, Match, Proposal, User, db
from models.evaluation import EvaluationCriterion, EvaluationScore
from models.selection import DECISIONS, SelectionRecord

CONSTRAINT = "uq_selection_record_challenge_id"
RECOMMENDED_K = 10  # the length of the list the challenge's recommendation page shows
SHOWN_TOP = 3  # the slots people read (as CompanyExposure.top3 counts them)


def record_of(challenge: Challenge) -> SelectionRecord | None:
    return db.session.scalar(select(SelectionRecord).where(SelectionRecord.challenge_id == challenge.id))


def visible_record(challenge: Challenge, user: Any) -> SelectionRecord | None:
    """The challenge's frozen pack when ``user`` may see it (``SelectionRecord.can_view``), else None."""
    item = record_of(challenge)
    return item if item is not None and item.can_view(user) else None


def can_freeze(challenge: Challenge, user: Any) -> bool:
    """The decision is the municipality's: its own staff (the evaluators)."""
    return evaluation.can_evaluate(challenge, user)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _recommended(challenge: Challenge) -> tuple[bool, list[dict[str, Any]]]:
    ranked = recommend.solutions_for_challenge(challenge, RECOMMENDED_K, count_exposure=False)
    if ranked.unavailable:
        return False, []
    return True, [{
        "rank": card.rank, "score": round(float(card.score), 4), "solution_id": card.id,
        "solution": card.title, "company": card.organisation, "shown_top": card.rank <= SHOWN_TOP,
        "reasons": [Markup(reason).striptags() for reason in card.reasons],
    } for card in ranked.cards]


def _matches(challenge: Challenge) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Match).where(Match.challenge_id == challenge.id).order_by(Match.id))
    return [{
        "match_id": m.id, "company": m.solution.organisation.name, "solution": m.solution.title,
        "origin": m.origin, "stage": m.stage, "opened_at": _when(m.created_at),
        "rank": (m.features or {}).get("rank"), "score": (m.features or {}).get("score"),
    } for m in rows]


def _invited(challenge: Challenge, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    invited = [{"company": m["company"], "solution": m["solution"], "how": "match", "at": m["opened_at"]}
               for m in matches if m["origin"] == "municipality_invite"]
    proposal_ids = select(Proposal.id).where(Proposal.challenge_id == challenge.id)
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "proposal.invited", AuditEvent.object_type == "proposal",
        AuditEvent.object_id.in_(proposal_ids)).order_by(AuditEvent.at))
    for event in events:
        proposal = db.session.get(Proposal, event.object_id)
        if proposal is not None:
            invited.append({"company": proposal.organisation.name, "solution": proposal.match.solution.title,
                            "how": "sounding", "at": _when(event.at)})
    return invited


def _evaluation(challenge: Challenge, criteria: list[EvaluationCriterion],
                rows: list[evaluation.SheetRow]) -> dict[str, Any]:
    scores = db.session.scalars(select(EvaluationScore).join(EvaluationCriterion).where(
        EvaluationCriterion.challenge_id == challenge.id).order_by(EvaluationScore.proposal_id,
                                                                   EvaluationScore.evaluator_id,
                                                                   EvaluationScore.criterion_id))
    return {
        "criteria": [{"id": c.id, "name": c.name, "weight": c.weight} for c in criteria],
        "scores": [{"proposal_id": s.proposal_id, "criterion_id": s.criterion_id, "evaluator": s.evaluator.name,
                    "score": s.score} for s in scores],
        "averages": [{"proposal_id": r.proposal.id, "means": [r.per_criterion[c.id] for c in criteria],
                      "evaluators": r.evaluators, "weighted": r.weighted} for r in rows],
    }


def _proposals(rows: list[evaluation.SheetRow]) -> list[dict[str, Any]]:
    """Every proposal not withdrawn: the sheet's rows are ``evaluation.proposals_of`` in order."""
    return [{"id": p.id, "company": p.organisation.name, "title": p.title, "status": p.status,
             "cost_estimate": p.cost_estimate, "submitted_at": _when(p.submitted_at), "match_id": p.match_id}
            for p in (r.proposal for r in rows)]


def snapshot(challenge: Challenge, match: Match, decision: str, reason: str, user: User,
             proposal: Proposal | None) -> dict[str, Any]:
    """Everything the pack shows, as plain JSON: nothing in it is read from live rows later."""
    available, recommended = _recommended(challenge)
    matches = _matches(challenge)
    criteria, rows = evaluation.sheet(challenge)
    return {
        "challenge": {"id": challenge.id, "title": challenge.title, "municipality": challenge.organisation.name,
                      "department": challenge.contact_department, "fiscal_year": challenge.fiscal_year},
        "ranking_available": available,
        "recommended": recommended,
        "matches": matches,
        "invited": _invited(challenge, matches),
        "proposals": _proposals(rows),
        "evaluation": _evaluation(challenge, criteria, rows),
        "decision": {
            "kind": decision, "reason": reason, "by": user.name, "match_id": match.id,
            "company": match.solution.organisation.name, "solution": match.solution.title,
            "proposal_id": proposal.id if proposal else None, "proposal": proposal.title if proposal else None,
            "route": match.procurement_route, "amount": match.adoption_amount,
            "negotiated_ground": match.negotiated_ground, "fiscal_year": match.adopted_fiscal_year,
            "adopted_on": match.adopted_at.isoformat() if match.adopted_at else None,
        },
    }


def freeze(challenge: Challenge, match: Match, user: User, *, decision: str, reason: str,
           proposal: Proposal | None = None) -> SelectionRecord:
    """Freeze the challenge's evidence pack; refused (``FieldError`` on the form) once one exists."""
    if decision not in DECISIONS:
        raise ValueError(decision)
    if match.challenge_id != challenge.id or (proposal is not None and proposal.match_id != match.id):
        raise PermissionError
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", _l("選定の理由を入力してください。"))
    if record_of(challenge) is not None:
        raise conflicts.refusal(CONSTRAINT)
    item = SelectionRecord(challenge_id=challenge.id, match_id=match.id, decision=decision, reason=reason,
                           frozen_by_id=user.id,
                           data=snapshot(challenge, match, decision, reason, user, proposal))
    with conflicts.savepoint():
        db.session.add(item)
        db.session.flush()
    audit.record(user, "selection.frozen", item, to_state=decision, reason=reason, challenge=challenge.id,
                 match=match.id, proposal=proposal.id if proposal else None)
    return item


def select_proposal(proposal: Proposal, user: User, reason: str) -> SelectionRecord:
    """提案の選定: the municipality picks one proposal on its evaluation sheet and the pack freezes."""
    if not can_freeze(proposal.challenge, user) or proposal.status == "withdrawn":
        raise PermissionError
    return freeze(proposal.challenge, proposal.match, user, decision="selected", reason=reason, proposal=proposal)


def freeze_at_adoption(match: Match, user: User) -> SelectionRecord | None:
    """Called by the adoption: the first adoption on a challenge freezes its pack unless a selection
    already did (then the pack keeps the selection; the adoption is on its own record)."""
    proposal = db.session.scalar(select(Proposal).where(Proposal.match_id == match.id,
                                                        Proposal.status != "withdrawn").order_by(Proposal.id.desc()))
    reason = match.adoption_note or str(_l("導入を決定（理由の記載なし）"))
    try:
        return freeze(match.challenge, match, user, decision="adopted", reason=reason, proposal=proposal)
    except FieldError:  # the refusal of a second freeze (``freeze``'s own check, or a concurrent loser's
        return None     # Conflict): the reason is never empty here, and the adoption still stands
