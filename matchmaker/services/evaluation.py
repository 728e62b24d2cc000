"""Evaluation sheets: the municipality's weighted criteria per challenge, each evaluator's scores,
and the weighted averages. Only staff of the challenge's own municipality define criteria or score.
Services flush and audit; the view commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import Challenge, Proposal, User, db
from models.evaluation import SCORE_MAX, SCORE_MIN, EvaluationCriterion, EvaluationScore


def can_evaluate(challenge: Challenge, user: Any) -> bool:
    """評価者: municipal staff of the challenge's own municipality (not coordinators, not companies)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_municipal
                and user.organisation_id == challenge.organisation_id)


def criteria_of(challenge: Challenge) -> list[EvaluationCriterion]:
    return list(db.session.scalars(select(EvaluationCriterion).where(
        EvaluationCriterion.challenge_id == challenge.id).order_by(EvaluationCriterion.id)))


def proposals_of(challenge: Challenge) -> list[Proposal]:
    return list(db.session.scalars(select(Proposal).where(
        Proposal.challenge_id == challenge.id, Proposal.status != "withdrawn").order_by(Proposal.id)))


def add_criterion(challenge: Challenge, user: User, name: str, weight: int) -> EvaluationCriterion:
    if not can_evaluate(challenge, user):
        raise PermissionError
    name = name.strip()
    if any(c.name == name for c in criteria_of(challenge)):
        raise FieldError("name", _l("同じ名前の評価項目があります。"))
    item = EvaluationCriterion(challenge_id=challenge.id, name=name, weight=weight)
    db.session.add(item)
    db.session.flush()
    audit.record(user, "evaluation.criterion_added", challenge, name=name, weight=weight)
    return item


def set_score(proposal: Proposal, criterion: EvaluationCriterion, user: User, score: int) -> EvaluationScore:
    """Record (or change) ``user``'s score of ``proposal`` on ``criterion``."""
    if criterion.challenge_id != proposal.challenge_id or not can_evaluate(proposal.challenge, user):
        raise PermissionError
    if not SCORE_MIN <= score <= SCORE_MAX:
        raise FieldError("score", _l("点数は1〜5で入力してください。"))
    row = db.session.scalar(select(EvaluationScore).where(
        EvaluationScore.criterion_id == criterion.id, EvaluationScore.proposal_id == proposal.id,
        EvaluationScore.evaluator_id == user.id))
    before = row.score if row else None
    if row is None:
        row = EvaluationScore(criterion_id=criterion.id, proposal_id=proposal.id, evaluator_id=user.id, score=score)
        db.session.add(row)
    row.score = score
    db.session.flush()
    audit.record(user, "evaluation.scored", proposal, criterion=criterion.name,
                 from_state=None if before is None else str(before), to_state=str(score))
    return row


@dataclass(frozen=True)
class SheetRow:
    proposal: Proposal
    per_criterion: dict[int, float | None]  # criterion id → mean over evaluators
    evaluators: int
    weighted: float | None  # Σ weight × mean / Σ weight over the criteria that have scores (1–5 scale)


def sheet(challenge: Challenge) -> tuple[list[EvaluationCriterion], list[SheetRow]]:
    """Per proposal: the mean score per criterion over its evaluators, and the weighted average."""
    criteria = criteria_of(challenge)
    proposals = proposals_of(challenge)
    scores = list(db.session.scalars(select(EvaluationScore).join(EvaluationCriterion).where(
        EvaluationCriterion.challenge_id == challenge.id)))
    rows = []
    for proposal in proposals:
        mine = [s for s in scores if s.proposal_id == proposal.id]
        means: dict[int, float | None] = {}
        for criterion in criteria:
            values = [s.score for s in mine if s.criterion_id == criterion.id]
            means[criterion.id] = sum(values) / len(values) if values else None
        scored = [(c.weight, means[c.id]) for c in criteria if means[c.id] is not None]
        total = sum(w for w, _ in scored)
        weighted = sum(w * m for w, m in scored if m is not None) / total if total else None
        rows.append(SheetRow(proposal, means, len({s.evaluator_id for s in mine}), weighted))
    return criteria, rows


def my_scores(challenge: Challenge, user: User) -> dict[tuple[int, int], int]:
    """(proposal id, criterion id) → the user's own score."""
    rows = db.session.scalars(select(EvaluationScore).join(EvaluationCriterion).where(
        EvaluationCriterion.challenge_id == challenge.id, EvaluationScore.evaluator_id == user.id))
    return {(r.proposal_id, r.criterion_id): r.score for r in rows}
