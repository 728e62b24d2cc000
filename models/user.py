"""Accounts. Passwords are hashed with argon2id (OWASP parameters)."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime
from models.codes import Role
from models.organisation import Organisation

# OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1 is the minimum.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class User(UserMixin, TimestampMixin, Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'coordinator', 'municipal', 'company')", name="role"
        ),
        CheckConstraint(
            "role IN ('admin', 'coordinator') OR organisation_id IS NOT NULL",
            name="member_has_organisation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    department: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How e-mail about notifications arrives: one mail each, or a daily / weekly digest.
    notification_frequency: Mapped[str] = mapped_column(
        String(10), CheckConstraint("notification_frequency IN ('immediate', 'daily', 'weekly')",
                                    name="notification_frequency"),
        default="daily", server_default="daily")

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR.value

    @property
    def is_staff(self) -> bool:
        """Coordinators and administrators see every organisation's work."""
        return self.role in (Role.ADMIN.value, Role.COORDINATOR.value)

    @property
    def is_municipal(self) -> bool:
        return self.role == Role.MUNICIPAL.value

    @property
    def is_company(self) -> bool:
        return self.role == Role.COMPANY.value

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
