"""Proposals (提案) a company submits against a published challenge, and their attachments.

One OPEN proposal per company per challenge is backed by a partial unique index; withdrawn or
declined proposals do not count, so a company may withdraw and propose again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime, utcnow
from models.challenge import Challenge
from models.organisation import Organisation

if TYPE_CHECKING:
    from models.match import Match
    from models.user import User

PROPOSAL_STATUSES: dict[str, Any] = {
    "submitted": _l("提出済み"),
    "shortlisted": _l("候補に選定"),
    "invited": _l("サウンディングに招待"),
    "declined": _l("見送り"),
    "withdrawn": _l("取り下げ"),
}
OPEN_STATUSES: tuple[str, ...] = ("submitted", "shortlisted", "invited")
_OPEN_SQL = "status IN ('submitted', 'shortlisted', 'invited')"


class Proposal(TimestampMixin, Model):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'shortlisted', 'invited', 'declined', 'withdrawn')", name="status"
        ),
        CheckConstraint("cost_estimate >= 0", name="cost_estimate"),
        CheckConstraint("status <> 'declined' OR decision_reason IS NOT NULL", name="declined_has_reason"),
        CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_date"),
        Index("uq_proposal_open_per_company", "challenge_id", "organisation_id", unique=True,
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # the company
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)

    title: Mapped[str] = mapped_column(String(200))
    approach: Mapped[str] = mapped_column(Text)  # 提案内容・アプローチ
    schedule: Mapped[str] = mapped_column(Text)  # スケジュール
    cost_estimate: Mapped[int] = mapped_column(BigInteger)  # 概算費用（円）
    needs_from_municipality: Mapped[str] = mapped_column(Text, default="")  # 自治体に求める協力

    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    match: Mapped[Match] = relationship()
    challenge: Mapped[Challenge] = relationship()
    organisation: Mapped[Organisation] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    attachments: Mapped[list[ProposalAttachment]] = relationship(
        back_populates="proposal", order_by="ProposalAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def can_view(self, user: Any) -> bool:
        """The proposing company, the owning municipality, coordinators and administrators."""
        if not getattr(user, "is_authenticated", False):
            return False
        if user.is_staff:
            return True
        if user.is_company:
            return bool(user.organisation_id == self.organisation_id)
        return bool(user.is_municipal and user.organisation_id == self.challenge.organisation_id)

    def can_decide(self, user: Any) -> bool:
        """Shortlist, decline or invite: the owning municipality's staff and coordinators."""
        if not getattr(user, "is_authenticated", False) or not self.is_open:
            return False
        return bool(user.is_staff or (user.is_municipal and user.organisation_id == self.challenge.organisation_id))

    def can_withdraw(self, user: Any) -> bool:
        return bool(
            self.is_open and getattr(user, "is_authenticated", False) and user.is_company
            and user.organisation_id == self.organisation_id
        )

    def __repr__(self) -> str:
        return f"<Proposal {self.id} c={self.challenge_id} org={self.organisation_id} {self.status}>"


class ProposalAttachment(Model):
    """A file kept outside the web root under a random name; served only through an audited view."""

    __tablename__ = "proposal_attachment"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")

    def can_download(self, user: Any) -> bool:
        return self.proposal.can_view(user)
