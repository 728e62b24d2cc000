"""A municipality's own budget calendar: the milestones where it differs from the national default.

The fiscal year runs April–March. Each milestone is a month and day (``"MM-DD"``) that recurs every
fiscal year; ``NULL`` means "use the default" (see ``matchmaker.services.fiscal.DEFAULT_CALENDAR``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin
from models.organisation import Organisation

MILESTONE_FIELDS: tuple[str, ...] = (
    "proposals_from", "proposals_until", "budget_request", "review_from", "review_until", "council_approval",
)


def can_edit_calendar_of(organisation: Organisation, user: Any) -> bool:
    """The municipality's own staff and coordinators (administrators act as coordinators)."""
    if not getattr(user, "is_authenticated", False) or not organisation.is_municipality:
        return False
    return bool(user.is_staff or (user.is_municipal and user.organisation_id == organisation.id))


class FiscalCalendar(TimestampMixin, Model):
    __tablename__ = "fiscal_calendar"
    __table_args__ = tuple(
        CheckConstraint(f"{name} IS NULL OR length({name}) = 5", name=f"{name}_format")
        for name in MILESTONE_FIELDS
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), unique=True)
    proposals_from: Mapped[str | None] = mapped_column(String(5))  # 新規事業提案の受付開始
    proposals_until: Mapped[str | None] = mapped_column(String(5))  # 新規事業提案の締切
    budget_request: Mapped[str | None] = mapped_column(String(5))  # 予算要求の締切
    review_from: Mapped[str | None] = mapped_column(String(5))  # 査定の開始
    review_until: Mapped[str | None] = mapped_column(String(5))  # 査定の終了
    council_approval: Mapped[str | None] = mapped_column(String(5))  # 議会での予算議決
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    organisation: Mapped[Organisation] = relationship()

    def overrides(self) -> dict[str, str]:
        """The milestones this municipality has set ("MM-DD"), by field name."""
        return {name: value for name in MILESTONE_FIELDS if (value := getattr(self, name))}

    def can_edit(self, user: Any) -> bool:
        return can_edit_calendar_of(self.organisation, user)

    def __repr__(self) -> str:
        return f"<FiscalCalendar org={self.organisation_id} {self.overrides()}>"
