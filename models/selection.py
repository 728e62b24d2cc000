"""The selection evidence pack (選定の記録): frozen once per challenge at the decision.

``data`` is a snapshot (plain JSON) of who was recommended and shown, invited and proposed, the
evaluation criteria, every evaluator's scores and the averages, and the decision with its reason,
as they stood at that moment. Nothing refers back to live rows for its content, so a later edit of
a criterion or a score leaves it as it was. One per challenge (a unique constraint): freezing
again is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, UTCDateTime, utcnow
from models.challenge import Challenge
from models.match import Match
from models.user import User

DECISIONS: dict[str, Any] = {
    "selected": _l("提案の選定"),
    "adopted": _l("導入の決定"),
}


class SelectionRecord(Model):
    __tablename__ = "selection_record"
    __table_args__ = (CheckConstraint("decision IN ('selected', 'adopted')", name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), unique=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"))
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    challenge: Mapped[Challenge] = relationship()
    match: Mapped[Match] = relationship()
    frozen_by: Mapped[User | None] = relationship()

    def can_view(self, user: Any) -> bool:
        """The challenge's municipality and coordinators; never a company."""
        return self.challenge.is_owner_side(user)

    def __repr__(self) -> str:
        return f"<SelectionRecord challenge={self.challenge_id} {self.decision}>"
