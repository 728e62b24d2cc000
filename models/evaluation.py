"""Evaluation sheets (評価シート): weighted criteria a municipality sets per challenge, and each
evaluator's score of each proposal per criterion. One score per (criterion, proposal, evaluator)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin
from models.challenge import Challenge
from models.proposal import Proposal
from models.user import User

SCORE_MIN, SCORE_MAX = 1, 5


class EvaluationCriterion(TimestampMixin, Model):
    __tablename__ = "evaluation_criterion"
    __table_args__ = (
        UniqueConstraint("challenge_id", "name", name="uq_evaluation_criterion_challenge_name"),
        CheckConstraint("weight >= 1 AND weight <= 100", name="weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    weight: Mapped[int] = mapped_column(Integer)

    challenge: Mapped[Challenge] = relationship()


class EvaluationScore(TimestampMixin, Model):
    __tablename__ = "evaluation_score"
    __table_args__ = (
        UniqueConstraint("criterion_id", "proposal_id", "evaluator_id", name="uq_evaluation_score_once"),
        CheckConstraint(f"score >= {SCORE_MIN} AND score <= {SCORE_MAX}", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("evaluation_criterion.id", ondelete="CASCADE"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)

    criterion: Mapped[EvaluationCriterion] = relationship()
    proposal: Mapped[Proposal] = relationship()
    evaluator: Mapped[User] = relationship()
