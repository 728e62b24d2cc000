"""Accounts. Passwords are hashed with argon2id (OWASP parameters)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime
from models.codes import Role
from models.organisation import Organisation

# OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1 is the minimum.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when no account has the e-mail address typed, so that an unknown address costs the
# same time as a wrong password (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def spend_password_check_time(password: str) -> None:
    """Hash as check_password would, for an address with no account."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


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

    # Part of the id Flask-Login keeps in the session cookie and the remember-me cookie: a new
    # token (password change, deactivation, "log out everywhere") ends every session at once.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    # Two-factor authentication (TOTP, RFC 6238) for administrators and coordinators: the shared
    # secret once enrolled, the last time step accepted (a code works once), and the SHA-256 of
    # each unused recovery code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def holds_session(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_all_sessions(self) -> None:
        self.session_token = new_session_token()

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
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None

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
