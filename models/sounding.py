"""Sounding (サウンディング型市場調査): a market dialogue a municipality opens for a challenge.

Slots are booked one company at a time: a booking takes seat 1..capacity of its slot and
``(slot_id, seat)`` is unique, so two companies racing for the last seat cannot both get it.
Each booking is a private one-to-one dialogue with notes that only that company, the owning
municipality and coordinators may read. The results summary (実施結果概要) is public once published.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime, utcnow
from models.challenge import Challenge
from models.organisation import Organisation

if TYPE_CHECKING:
    from models.match import Match
    from models.user import User


class Sounding(TimestampMixin, Model):
    __tablename__ = "sounding"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("entry_deadline <= ends_on", name="entry_deadline"),
        CheckConstraint("results_published_at IS NULL OR results_summary IS NOT NULL",
                        name="published_has_summary"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # 対話の目的・テーマ・方法
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    entry_deadline: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    results_summary: Mapped[str | None] = mapped_column(Text)  # 実施結果概要
    results_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    challenge: Mapped[Challenge] = relationship()
    slots: Mapped[list[SoundingSlot]] = relationship(
        back_populates="sounding", order_by="SoundingSlot.starts_at", cascade="all, delete-orphan"
    )
    bookings: Mapped[list[SoundingBooking]] = relationship(back_populates="sounding", cascade="all, delete-orphan")

    def accepts_entries(self, today: date) -> bool:
        return self.results_published_at is None and today <= self.entry_deadline

    def can_manage(self, user: Any) -> bool:
        return self.challenge.is_owner_side(user)

    def booking_of(self, organisation_id: int | None) -> SoundingBooking | None:
        return next((b for b in self.bookings if b.organisation_id == organisation_id), None)

    def __repr__(self) -> str:
        return f"<Sounding {self.id} c={self.challenge_id} {self.starts_on}..{self.ends_on}>"


class SoundingSlot(Model):
    __tablename__ = "sounding_slot"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="period"),
        CheckConstraint("capacity >= 1", name="capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sounding_id: Mapped[int] = mapped_column(ForeignKey("sounding.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    place: Mapped[str] = mapped_column(String(200), default="")  # 会場 or オンライン

    sounding: Mapped[Sounding] = relationship(back_populates="slots")
    bookings: Mapped[list[SoundingBooking]] = relationship(back_populates="slot", order_by="SoundingBooking.seat")

    @property
    def is_full(self) -> bool:
        return len(self.bookings) >= self.capacity


class SoundingBooking(Model):
    """A company's place in a slot: the one-to-one dialogue (個別対話)."""

    __tablename__ = "sounding_booking"
    __table_args__ = (
        UniqueConstraint("sounding_id", "organisation_id", name="uq_sounding_booking_company"),
        UniqueConstraint("slot_id", "seat", name="uq_sounding_booking_seat"),
        CheckConstraint("seat >= 1", name="seat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sounding_id: Mapped[int] = mapped_column(ForeignKey("sounding.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("sounding_slot.id", ondelete="CASCADE"), index=True)
    seat: Mapped[int] = mapped_column(Integer, default=1)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"), index=True)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sounding: Mapped[Sounding] = relationship(back_populates="bookings")
    slot: Mapped[SoundingSlot] = relationship(back_populates="bookings")
    organisation: Mapped[Organisation] = relationship()
    match: Mapped[Match] = relationship()
    notes: Mapped[list[DialogueNote]] = relationship(
        back_populates="booking", order_by="DialogueNote.created_at", cascade="all, delete-orphan"
    )

    def can_view(self, user: Any) -> bool:
        """Private: the booking company, the owning municipality and coordinators only."""
        if self.sounding.challenge.is_owner_side(user):
            return True
        return bool(
            getattr(user, "is_authenticated", False) and user.is_company
            and user.organisation_id == self.organisation_id
        )


class DialogueNote(Model):
    """A private note on one dialogue, written by either side."""

    __tablename__ = "dialogue_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("sounding_booking.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    booking: Mapped[SoundingBooking] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()
