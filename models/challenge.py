"""Challenges (課題) written as structured language, with a guarded publication state."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime
from models.codes import ChallengeStatus
from models.organisation import Organisation

if TYPE_CHECKING:
    from models.user import User

S = ChallengeStatus

# Who may move a challenge from one status to the next.
CHALLENGE_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.DRAFT.value, S.IN_REVIEW.value): frozenset({"owner"}),
    (S.IN_REVIEW.value, S.DRAFT.value): frozenset({"owner", "staff"}),
    (S.IN_REVIEW.value, S.PUBLISHED.value): frozenset({"staff"}),
    (S.DRAFT.value, S.PUBLISHED.value): frozenset({"staff", "owner_without_coordinator"}),
    (S.PUBLISHED.value, S.CLOSED.value): frozenset({"owner", "staff"}),
    (S.CLOSED.value, S.PUBLISHED.value): frozenset({"staff"}),
}

TEXT_FIELDS: tuple[str, ...] = (
    "title", "background", "problem", "causes", "affected", "target_state", "kpis",
    "constraints", "offerings",
)


class InvalidTransition(Exception):
    """A status change that the table of allowed transitions does not permit."""


class Challenge(TimestampMixin, Model):
    __tablename__ = "challenge"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'closed')", name="status"
        ),
        CheckConstraint("status IN ('draft', 'in_review') OR published_at IS NOT NULL",
                        name="published_has_date"),
        CheckConstraint("budget_min IS NULL OR budget_max IS NULL OR budget_min <= budget_max",
                        name="budget_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(20), default=S.DRAFT.value, index=True)

    title: Mapped[str] = mapped_column(String(200))
    background: Mapped[str] = mapped_column(Text, default="")
    problem: Mapped[str] = mapped_column(Text, default="")
    causes: Mapped[str] = mapped_column(Text, default="")
    affected: Mapped[str] = mapped_column(Text, default="")
    target_state: Mapped[str] = mapped_column(Text, default="")
    kpis: Mapped[str] = mapped_column(Text, default="")
    constraints: Mapped[str] = mapped_column(Text, default="")
    offerings: Mapped[str] = mapped_column(Text, default="")
    budget_min: Mapped[int | None] = mapped_column(BigInteger)
    budget_max: Mapped[int | None] = mapped_column(BigInteger)
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    collaboration_forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    sdgs: Mapped[list[int]] = mapped_column(JSON, default=list)
    deadline: Mapped[date | None] = mapped_column(Date)
    contact_department: Mapped[str] = mapped_column(String(200), default="")

    review_comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()
    author: Mapped[User | None] = relationship()

    # --- permissions -------------------------------------------------------------------
    def is_owned_by(self, user: Any) -> bool:
        return bool(
            getattr(user, "is_authenticated", False)
            and user.organisation_id == self.organisation_id
            and user.is_municipal
        )

    def is_owner_side(self, user: Any) -> bool:
        """The challenge's municipal staff and the coordinators."""
        return self.is_owned_by(user) or bool(getattr(user, "is_authenticated", False) and user.is_staff)

    def can_view(self, user: Any) -> bool:
        if self.status in (S.PUBLISHED.value, S.CLOSED.value):
            return True
        return self.is_owner_side(user)

    def can_edit(self, user: Any) -> bool:
        if getattr(user, "is_authenticated", False) and user.is_staff:
            return self.status != S.CLOSED.value
        return self.is_owned_by(user) and self.status in (S.DRAFT.value, S.IN_REVIEW.value)

    def can_see_recommendations(self, user: Any) -> bool:
        return self.is_owner_side(user)

    def actor_roles(self, user: Any, *, coordinators_exist: bool) -> set[str]:
        roles: set[str] = set()
        if self.is_owned_by(user):
            roles.add("owner")
            if not coordinators_exist:
                roles.add("owner_without_coordinator")
        if getattr(user, "is_authenticated", False) and user.is_staff:
            roles.add("staff")
        return roles

    def can_move(self, user: Any, to: str, *, coordinators_exist: bool) -> bool:
        allowed = CHALLENGE_TRANSITIONS.get((self.status, to))
        return bool(allowed and allowed & self.actor_roles(user, coordinators_exist=coordinators_exist))

    def move_to(self, to: str, *, now: datetime) -> str:
        """The one place a status changes. Returns the previous status."""
        if (self.status, to) not in CHALLENGE_TRANSITIONS:
            raise InvalidTransition(f"{self.status} -> {to}")
        previous = self.status
        self.status = to
        if to == S.PUBLISHED.value and self.published_at is None:
            self.published_at = now
        if to == S.CLOSED.value:
            self.closed_at = now
        return previous

    @property
    def is_open(self) -> bool:
        return self.status == S.PUBLISHED.value

    def accepts_proposals(self, today: date) -> bool:
        return self.is_open and (self.deadline is None or today <= self.deadline)

    def __repr__(self) -> str:
        return f"<Challenge {self.id} {self.status} {self.title[:20]}>"
