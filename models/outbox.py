"""Outgoing mail and the marks that keep one-off notifications from repeating.

Every mail the service writes is kept here. Without an SMTP server (the embedded default) it stays
in the outbox (status ``kept``) for administrators to read in the site; with one it is ``pending``
until delivered (``sent``) or refused (``failed``, retried later).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, UTCDateTime, utcnow
from models.user import User

MAIL_KINDS: tuple[str, ...] = ("immediate", "daily", "weekly")
MAIL_STATUSES: tuple[str, ...] = ("kept", "pending", "sent", "failed")


def _sql_in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class OutboxMail(Model):
    __tablename__ = "outbox_mail"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_sql_in(MAIL_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({_sql_in(MAIL_STATUSES)})", name="status"),
        CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_date"),
        CheckConstraint("item_count >= 1", name="item_count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    item_count: Mapped[int] = mapped_column(Integer, default=1)  # notifications in this mail
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<OutboxMail {self.id} {self.kind} {self.status} to={self.to_address}>"


class DeliveryMark(Model):
    """One notification that must go out only once (a new challenge to a company, a budget warning,
    a deadline reminder), named by a key such as ``new-challenge:12:org:7``."""

    __tablename__ = "delivery_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<DeliveryMark {self.key}>"
