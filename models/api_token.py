"""Personal API tokens: a user's key for /api/v1, read or write, with an expiry.

Only the SHA-256 of the secret is stored: the secret has 256 random bits, so a fast hash is as good
as a slow one here and lets a request find its token by an index. ``hint`` is the start of the
secret (its recognisable prefix and four characters), shown on the account page to tell tokens apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, UTCDateTime, utcnow
from models.user import User

SCOPES: tuple[str, ...] = ("read", "write")


class ApiToken(Model):
    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("scope IN ('read', 'write')", name="scope"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def usable_at(self, now: datetime) -> bool:
        """Not revoked, not expired, and its user not deactivated."""
        return self.revoked_at is None and now < self.expires_at and self.user.active

    def allows(self, scope: str) -> bool:
        """A write token may also read."""
        return self.scope == "write" or scope == "read"

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.hint}… {self.scope} user={self.user_id}>"
