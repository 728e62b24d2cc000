"""Questions and answers (質疑応答) on a published challenge.

The asker is stored for the municipality's and coordinators' eyes only; the public rendering of an
answered question never carries the asker (see ``PublicQuestion`` in the Q&A service).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, UTCDateTime, utcnow
from models.challenge import Challenge
from models.organisation import Organisation

if TYPE_CHECKING:
    from models.user import User


def question_digest(body: str) -> str:
    """What makes two questions the same one: their words, however the blank space falls."""
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def _digest_of_body(context: Any) -> str:
    return question_digest(context.get_current_parameters()["body"])


class Question(Model):
    __tablename__ = "question"
    __table_args__ = (
        CheckConstraint(
            "(answer IS NULL AND answered_at IS NULL) OR (answer IS NOT NULL AND answered_at IS NOT NULL)",
            name="answer_has_date",
        ),
        # A company asks a question once: the same text posted twice (a double click, two
        # colleagues at once) is the one question. Older rows without a digest do not count.
        UniqueConstraint("challenge_id", "organisation_id", "body_digest", name="uq_question_asked_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # asking company
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    body_digest: Mapped[str | None] = mapped_column(String(64), default=_digest_of_body)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    challenge: Mapped[Challenge] = relationship()
    organisation: Mapped[Organisation] = relationship()
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def can_answer(self, user: Any) -> bool:
        """The owning municipality's staff and coordinators."""
        if not getattr(user, "is_authenticated", False):
            return False
        return bool(user.is_staff or (user.is_municipal and user.organisation_id == self.challenge.organisation_id))

    def can_see_asker(self, user: Any) -> bool:
        return self.can_answer(user)

    def __repr__(self) -> str:
        return f"<Question {self.id} c={self.challenge_id} answered={self.is_answered}>"
