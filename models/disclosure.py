"""第三者意見照会: before a disclosure version holding a company's information is released, the
municipality asks the company for its view (同意 / 不同意 with reasons) within a deadline.

``open_key`` is set while an inquiry is open and cleared when its release is recorded: the unique
constraint on it allows one open inquiry per record and company, however many requests arrive at once.
``document_text`` freezes the disclosure version the company is asked about, as it stood when the
inquiry started: the company's view is about that text, even if the record changes afterwards.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, UTCDateTime, utcnow
from models.challenge import Challenge
from models.organisation import Organisation

if TYPE_CHECKING:
    from models.user import User


class DisclosureInquiry(Model):
    __tablename__ = "disclosure_inquiry"
    __table_args__ = (
        UniqueConstraint("open_key", name="uq_disclosure_inquiry_open"),
        CheckConstraint("company_view IS NULL OR company_view IN ('consent', 'objection')", name="company_view"),
        CheckConstraint("(company_view IS NULL) = (viewed_at IS NULL)", name="view_has_date"),
        CheckConstraint("company_view IS NULL OR company_view = 'consent' OR length(view_reason) > 0",
                        name="objection_has_reason"),
        CheckConstraint("(released_at IS NULL) = (open_key IS NOT NULL)", name="open_until_released"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(40))  # a disclosure kind of records.RECORDS
    record_id: Mapped[int] = mapped_column(Integer)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # the company asked
    open_key: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    request_note: Mapped[str] = mapped_column(Text, default="")  # 開示請求の内容, as staff describe it
    document_text: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date] = mapped_column(Date)  # the last day the company may state its view
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company_view: Mapped[str | None] = mapped_column(String(20))
    view_reason: Mapped[str | None] = mapped_column(Text)
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    viewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    release_note: Mapped[str | None] = mapped_column(Text)

    challenge: Mapped[Challenge] = relationship()
    organisation: Mapped[Organisation] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    viewed_by: Mapped[User | None] = relationship(foreign_keys=[viewed_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])

    @staticmethod
    def key(record_kind: str, record_id: int, organisation_id: int) -> str:
        return f"{record_kind}:{record_id}:{organisation_id}"

    def status(self, today: date) -> str:
        """released, answered (a view is in), lapsed (the deadline passed without one) or awaiting."""
        if self.released_at is not None:
            return "released"
        if self.company_view is not None:
            return "answered"
        return "lapsed" if today > self.deadline else "awaiting"

    def is_company_of(self, user: Any) -> bool:
        return bool(getattr(user, "is_authenticated", False) and user.is_company
                    and user.organisation_id == self.organisation_id)

    def handled_by(self, user: Any) -> bool:
        """The challenge's municipal staff and the coordinators answer the disclosure request."""
        return self.challenge.is_owner_side(user)

    def can_view(self, user: Any) -> bool:
        return self.handled_by(user) or self.is_company_of(user)

    def __repr__(self) -> str:
        return f"<DisclosureInquiry {self.id} {self.record_kind}/{self.record_id} org={self.organisation_id}>"
