"""Solution profiles (ソリューション) kept by companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin
from models.organisation import Organisation

TEXT_FIELDS: tuple[str, ...] = ("title", "summary", "target_users", "track_record", "evidence")


class Solution(TimestampMixin, Model):
    __tablename__ = "solution"
    __table_args__ = (
        CheckConstraint(
            "maturity IN ('idea', 'prototype', 'piloted', 'in_service')", name="maturity"
        ),
        CheckConstraint("price_min IS NULL OR price_max IS NULL OR price_min <= price_max",
                        name="price_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    target_users: Mapped[str] = mapped_column(Text, default="")
    track_record: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    lead_time_weeks: Mapped[int | None] = mapped_column(Integer)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    maturity: Mapped[str] = mapped_column(String(20), default="in_service")
    collaboration_forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    organisation: Mapped[Organisation] = relationship()

    def can_edit(self, user: Any) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return user.is_admin or (user.is_company and user.organisation_id == self.organisation_id)

    def can_see_recommendations(self, user: Any) -> bool:
        return self.can_edit(user) or bool(getattr(user, "is_authenticated", False) and user.is_staff)

    def can_view(self, user: Any) -> bool:
        """Profiles are visible to signed-in users (municipal staff browse them)."""
        return bool(getattr(user, "is_authenticated", False)) and (self.active or self.can_edit(user))

    def __repr__(self) -> str:
        return f"<Solution {self.id} {self.title[:20]}>"
