"""Rate limits on the doors a password guesser or a bot knocks at, and the audit row of each
breach. The figures are per window; a breach answers 429 with a page that says when to retry."""

from __future__ import annotations

from flask import Response, request, session
from flask_limiter import RequestLimit
from flask_login import current_user

from matchmaker.extensions import limiter
from matchmaker.services import accounts

# Every login attempt from one client address (many accounts tried from one place).
LOGIN_PER_ADDRESS = "20 per minute;100 per hour"
# Failed logins to one account, from anywhere (one account guessed from many places).
LOGIN_FAILURES_PER_ACCOUNT = "5 per minute;20 per hour"
REGISTER_PER_ADDRESS = "5 per hour"
# Wrong second-factor codes for one account after its password was right.
TWO_FACTOR_FAILURES_PER_ACCOUNT = "5 per minute;20 per hour"
# Password changes check the current password: the same guessing door, for a signed-in session.
PASSWORD_CHANGE_PER_ACCOUNT = "5 per 15 minutes"


def account_key() -> str:
    """The account an attempt is aimed at: the e-mail address as typed, normalised."""
    return "account:" + accounts.normalise_email(request.form.get("email", ""))


def signed_in_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


def pending_key() -> str:
    """The account waiting for its second factor (its id, kept in the session at the password step)."""
    return "two-factor:" + str(session.get("two_factor_pending", "")).partition(":")[0]


def attempt_failed(response: Response) -> bool:
    """A failed form re-renders the page (200); a success redirects."""
    return response.status_code == 200


def audit_breach(limit: RequestLimit) -> None:
    accounts.record_rate_limited(endpoint=request.endpoint or "", limit=str(limit.limit),
                                 address=request.remote_addr or "", email=request.form.get("email", ""))


login_limits = [
    limiter.limit(LOGIN_PER_ADDRESS, methods=["POST"], on_breach=audit_breach),
    limiter.limit(LOGIN_FAILURES_PER_ACCOUNT, methods=["POST"], key_func=account_key,
                  deduct_when=attempt_failed, on_breach=audit_breach),
]
register_limit = limiter.limit(REGISTER_PER_ADDRESS, methods=["POST"], on_breach=audit_breach)
password_change_limit = limiter.limit(PASSWORD_CHANGE_PER_ACCOUNT, methods=["POST"], key_func=signed_in_key,
                                      deduct_when=attempt_failed, on_breach=audit_breach)
two_factor_limit = limiter.limit(TWO_FACTOR_FAILURES_PER_ACCOUNT, methods=["POST"], key_func=pending_key,
                                 deduct_when=attempt_failed, on_breach=audit_breach)
