"""Personal API tokens: issue (the secret is returned once), revoke, and check a presented secret.

A secret is ``mmpat_`` followed by 43 URL-safe characters (256 random bits); the prefix lets a
secret scanner or a reader recognise a leaked token. Only its SHA-256 is stored. Every use of a
token and every refusal of a known token is one ``api_token.*`` audit row; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import ApiToken, User, db
from models.api_token import SCOPES

PREFIX = "mmpat_"
HINT_LENGTH = len(PREFIX) + 4
# Days a token may live: the account page offers these; nothing lives longer than a year.
LIFETIMES: tuple[int, ...] = (30, 90, 365)
DEFAULT_LIFETIME = 90
MAX_ACTIVE_TOKENS = 20  # per user: enough for every system a department connects


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(PREFIX) and 20 <= len(secret) <= 200


def active_tokens_of(user: User, now: datetime | None = None) -> list[ApiToken]:
    now = now or datetime.now(UTC)
    return [t for t in tokens_of(user) if t.revoked_at is None and now < t.expires_at]


def tokens_of(user: User) -> list[ApiToken]:
    """Newest first, revoked and expired ones too (the account page shows what happened to them)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def issue(user: User, *, name: str, scope: str, days: int, now: datetime | None = None) -> Issued:
    """A new token of ``user``; the returned secret is the only copy there will ever be."""
    now = now or datetime.now(UTC)
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _l("トークンの名前を入力してください。"))
    if len(name) > 100:
        raise FieldError("name", _l("%(n)d文字以内で入力してください。", n=100))
    if scope not in SCOPES:
        raise FieldError("scope", _l("権限を選んでください。"))
    if days not in LIFETIMES:
        raise FieldError("days", _l("有効期間を選んでください。"))
    # The user's row is locked so that two requests at once cannot both pass the count below.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    if len(active_tokens_of(user, now)) >= MAX_ACTIVE_TOKENS:
        raise FieldError("name", _l("有効なトークンは%(n)d個までです。使っていないトークンを取り消してください。",
                                    n=MAX_ACTIVE_TOKENS))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=hash_secret(secret), hint=secret[:HINT_LENGTH],
                     scope=scope, created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record(user, "api_token.created", token, to_state="active", scope=scope,
                 expires_at=token.expires_at.isoformat(), name=name)
    return Issued(token, secret)


def revoke(token: ApiToken, actor: User, now: datetime | None = None) -> bool:
    """Revoke ``token`` (at once: the next request with it is refused). Returns whether it changed."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or datetime.now(UTC)
    db.session.flush()
    audit.record(actor, "api_token.revoked", token, from_state="active", to_state="revoked")
    return True


def find(secret: str) -> ApiToken | None:
    """The token whose secret this is, in whatever state, or None."""
    if not looks_like_token(secret):
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))


def refusal_reason(token: ApiToken, now: datetime) -> str | None:
    """Why a known token is refused now (revoked, expired, user_inactive), or None when it is usable."""
    if token.revoked_at is not None:
        return "revoked"
    if now >= token.expires_at:
        return "expired"
    if not token.user.active:
        return "user_inactive"
    return None


def record_refusal(token: ApiToken, reason: str, *, method: str, path: str) -> None:
    audit.record(token.user, "api_token.refused", token, reason=reason, method=method, path=path,
                 user_id=token.user_id)


def record_use(token: ApiToken, *, method: str, path: str, status: int, now: datetime | None = None) -> None:
    """One audit row per request made with the token, and its last use."""
    token.last_used_at = now or datetime.now(UTC)
    audit.record(token.user, "api_token.used", token, method=method, path=path, status=status,
                 scope=token.scope)
