"""Pilots (実証実験): the agreed plan, KPIs, progress updates and the results report.

A match points at its pilot (``match.pilot_id``) so that the match's CHECK constraint can say
"stage pilot implies a plan exists". ``budget_request_recorded_on`` is read by the fiscal-calendar
warnings: a pilot that ends in the coming fiscal year needs a budget request before the milestone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.match import Match
    from models.user import User

VERDICTS: dict[str, Any] = {
    "success": _l("成功"),
    "partial": _l("一部成功"),
    "failure": _l("不成功"),
}


class Pilot(TimestampMixin, Model):
    __tablename__ = "pilot"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("verdict IS NULL OR verdict IN ('success', 'partial', 'failure')", name="verdict"),
        CheckConstraint("reported_at IS NULL OR verdict IS NOT NULL", name="report_has_verdict"),
        CheckConstraint("budget_request_amount IS NULL OR budget_request_amount >= 0",
                        name="budget_request_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    summary: Mapped[str] = mapped_column(Text, default="")  # what is tried, where, with whom
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    responsibilities: Mapped[str] = mapped_column(Text, default="")  # 役割分担
    cost_sharing: Mapped[str] = mapped_column(Text, default="")  # 費用負担
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    # 予算要求の登録: when the budget section was asked for next year's money.
    budget_request_recorded_on: Mapped[date | None] = mapped_column(Date)
    budget_request_amount: Mapped[int | None] = mapped_column(BigInteger)
    budget_request_note: Mapped[str | None] = mapped_column(Text)

    # The results report.
    verdict: Mapped[str | None] = mapped_column(String(20))
    report_summary: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    match: Mapped[Match] = relationship(back_populates="pilot", uselist=False)
    kpis: Mapped[list[PilotKpi]] = relationship(
        back_populates="pilot", order_by="PilotKpi.position", cascade="all, delete-orphan"
    )
    updates: Mapped[list[PilotUpdate]] = relationship(
        back_populates="pilot", order_by="PilotUpdate.created_at", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_reported(self) -> bool:
        return self.reported_at is not None

    def __repr__(self) -> str:
        return f"<Pilot {self.id} {self.starts_on}..{self.ends_on} {self.verdict}>"


class PilotKpi(Model):
    """One indicator: name, unit, baseline → target, and the actual value once reported."""

    __tablename__ = "pilot_kpi"

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    actual: Mapped[float | None] = mapped_column(Float)

    pilot: Mapped[Pilot] = relationship(back_populates="kpis")

    @property
    def achieved(self) -> bool | None:
        """Whether the actual value reached the target, in the direction baseline → target."""
        if self.actual is None:
            return None
        if self.baseline is not None and self.target < self.baseline:
            return self.actual <= self.target
        return self.actual >= self.target


class PilotUpdate(Model):
    """A progress note during the pilot (経過報告)."""

    __tablename__ = "pilot_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    pilot: Mapped[Pilot] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()
