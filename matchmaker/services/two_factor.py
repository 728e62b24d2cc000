"""Two-factor authentication with TOTP (RFC 6238, pyotp) for administrators and coordinators:
enrolment with a QR code and the secret shown once, ten single-use recovery codes, a code that
works only once, and each change audited. Required for administrators when
MATCHMAKER_REQUIRE_2FA=on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask_babel import lazy_gettext as _l

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import User, db
from models.codes import Role

ISSUER = "matchmaker"
ROLES_WITH_TWO_FACTOR: tuple[str, ...] = (Role.ADMIN.value, Role.COORDINATOR.value)
RECOVERY_CODES = 10
STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side: a phone clock 30 s off still works


def may_enrol(user: User) -> bool:
    return user.role in ROLES_WITH_TWO_FACTOR


def enrolment_secret(user: User, nonce: str, key: str) -> str:
    """The secret offered while enrolling, derived from the site key, the user and a nonce kept in
    the session: the session cookie (signed, not encrypted) never carries the secret itself."""
    digest = hmac.new(key.encode(), f"totp-enrol:{user.id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as a PNG data: URI (the page's policy allows data: images and nothing inline)."""
    return str(segno.make(uri, error="m").png_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // STEP_SECONDS)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at((step + offset) * STEP_SECONDS), code):
            return step + offset
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    return [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]


def enable(user: User, secret: str, code: str, now: float | None = None) -> list[str]:
    """Turn two-factor on once the user proved the app reads the secret; returns the recovery
    codes, shown once (only their hashes are kept)."""
    if not may_enrol(user):
        raise FieldError("code", _l("二段階認証は管理者とコーディネーターのアカウントで使えます。"))
    step = _matching_step(secret, code, time.time() if now is None else now)
    if step is None:
        raise FieldError("code", _l("確認コードが正しくありません。アプリに表示されている6桁の数字を入力してください。"))
    codes = _new_recovery_codes()
    user.totp_secret = secret
    user.totp_last_step = step
    user.recovery_code_hashes = [_hash_code(c) for c in codes]
    user.end_all_sessions()  # sessions opened with the password alone end; the caller starts a new one
    db.session.flush()
    audit.record(user, "user.two_factor_enabled", user)
    return codes


def verify(user: User, code: str, now: float | None = None) -> bool:
    """A current code not used before, or an unused recovery code (then spent). Audited."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
        user.totp_last_step = step
        return True
    hashed = _hash_code(code)
    remaining = [h for h in user.recovery_code_hashes if not hmac.compare_digest(h, hashed)]
    if len(remaining) < len(user.recovery_code_hashes):
        user.recovery_code_hashes = remaining
        audit.record(user, "user.recovery_code_used", user, remaining=len(remaining))
        return True
    audit.record(None, "user.two_factor_failed", user)
    return False


def disable(user: User, code: str, *, required: bool) -> None:
    if required and user.is_admin:
        raise FieldError("code", _l("このサイトでは管理者の二段階認証は必須のため、解除できません。"))
    if not verify(user, code):
        raise FieldError("code", _l("確認コードが正しくありません。アプリに表示されている6桁の数字を入力してください。"))
    user.totp_secret = None
    user.totp_last_step = None
    user.recovery_code_hashes = []
    user.end_all_sessions()
    db.session.flush()
    audit.record(user, "user.two_factor_disabled", user)
