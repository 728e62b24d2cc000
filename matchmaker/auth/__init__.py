"""Accounts: login manager wiring and the role gate every blueprint uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user

from models import User, db


def configure_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("このページを見るにはログインしてください。")
    manager.login_message_category = "info"

    @manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The session (or remember-me cookie) holds ``<user id>:<session token>``; a cookie from
        before the token changed (password change, deactivation) no longer signs anyone in."""
        user_id, _, token = session_id.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.holds_session(token) else None


def require_roles(*roles: str) -> Callable[[], None]:
    """A before_request hook: anonymous users go to the login page, other roles get 403."""

    def gate() -> None:
        if not current_user.is_authenticated:
            from flask import current_app

            abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
        if current_user.role not in roles:
            abort(403)

    return gate


class _Viewable(Protocol):
    def can_view(self, user: Any) -> bool: ...


V = TypeVar("V", bound=_Viewable)


def viewable_or_404(model: type[V], ident: Any) -> V:
    """The row, or 404 when it does not exist or the current user may not know that it exists
    (another organisation's draft, an inactive profile): the two answers look the same."""
    item = db.get_or_404(model, ident)
    if not item.can_view(current_user):
        abort(404)
    return item
