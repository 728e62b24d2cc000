"""Personal API tokens at the door of /api/v1: ``Authorization: Bearer <token>`` (RFC 6750).

Cookies never sign anyone in here: an API request is the token's user or nobody, so a browser's
session cannot be ridden by another site (and the token endpoints need no CSRF token). The token's
user is then asked the same model and service questions as on the pages (``can_view``,
``can_edit``, ``can_move``, the blueprints' role gates); this module only says who is asking.

A missing, unknown, revoked or expired token, or one whose user was deactivated, answers 401; a
read token on a write endpoint 403. Every request made with a token is one ``api_token.used``
audit row, written after the response is made (with its status); a refused known token is one
``api_token.refused`` row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from matchmaker.api.problems import ApiRefusal
from matchmaker.services import api_tokens
from models import ApiToken, User, db

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
REALM = 'Bearer realm="matchmaker"'
SECURITY_SCHEME = "bearerAuth"
BEARER = {SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "mmpat_…",
                            "description": "A personal API token from the account page (/auth/tokens)."}}


def scope(name: str, *, optional: bool = False) -> Callable[[F], F]:
    """Mark a view as answering to a token of scope ``name`` (``optional``: anonymous readers too)."""

    def mark(view: F) -> F:
        view.api_scope = name  # type: ignore[attr-defined]
        view.api_token_optional = optional  # type: ignore[attr-defined]
        # A request with a token writes its audit row: on SQLite it begins as a writer.
        view.writes_on_read = lambda: optional is False or "Authorization" in request.headers  # type: ignore[attr-defined]
        return view

    return mark


def _view() -> Any:
    return current_app.view_functions.get(request.endpoint or "")


def presented_secret() -> str | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    kind, _sep, secret = header.strip().partition(" ")
    return secret.strip() if kind.lower() == "bearer" else ""


def authenticate() -> None:
    """before_request: find the token of a view marked with ``scope`` and put its user on ``g``."""
    g.pop("api_user", None)  # whoever an earlier request in this context was, this one is no one yet
    g.pop("api_token", None)
    view = _view()
    needed = getattr(view, "api_scope", None)
    if needed is None:
        return
    secret = presented_secret()
    if secret is None:
        if getattr(view, "api_token_optional", False):
            return
        raise ApiRefusal(401, _("APIトークンを Authorization: Bearer ヘッダーに付けて送ってください。"),
                         headers={"WWW-Authenticate": REALM})
    token = api_tokens.find(secret)
    now = datetime.now(UTC)
    reason = "unknown" if token is None else api_tokens.refusal_reason(token, now)
    if token is None or reason is not None:
        if token is not None and reason is not None:
            api_tokens.record_refusal(token, reason, method=request.method, path=request.path)
            db.session.commit()
        raise ApiRefusal(401, _("APIトークンが正しくないか、有効期限が切れているか、取り消されています。"),
                         headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    g.api_token = token
    g.api_user = token.user
    if not token.allows(needed):
        raise ApiRefusal(403, _("この操作には書き込み権限（write）のあるAPIトークンが必要です。"),
                         headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{needed}"'})


def token_user() -> User:
    """The user of this request's token (views marked with ``scope``, after ``authenticate``)."""
    user: User = g.api_user
    return user


def optional_token_user() -> User | None:
    return g.get("api_user")


def current_token() -> ApiToken | None:
    return g.get("api_token")


def record_use(response: Response) -> Response:
    """after_request: the audit row of a request made with a token, with the answer's status. A
    refused or failed request's own changes are let go first; its use is still recorded."""
    token = g.pop("api_token", None)
    if token is None:
        return response
    try:
        if response.status_code >= 400:
            db.session.rollback()
        api_tokens.record_use(token, method=request.method, path=request.path, status=response.status_code)
        db.session.commit()
    except Exception:  # the answer stands; a database gone meanwhile is logged, not turned into a 500
        log.exception("could not record the use of API token %s", getattr(token, "id", "?"))
        db.session.rollback()
    return response


def limit_key() -> str:
    """Write limits count per user, whichever of their tokens is used."""
    user = g.get("api_user")
    return f"api-user:{user.id}" if user is not None else f"api-address:{request.remote_addr}"


def register(app: Flask) -> None:
    app.before_request(authenticate)
    app.after_request(record_use)
