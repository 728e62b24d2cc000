"""Accounts: login manager wiring and the role gate every blueprint uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from matchmaker.args import number
from models import User, db

# Every signed-in page names the member's organisation (the navigation): one round trip. Built
# once, so each request reuses the statement's cache key (Session.get builds and keys a new
# statement per call: about a sixth of a millisecond more, on every signed-in request).
# Without autoflush, as Session.get: the first look at current_user must not flush a view's changes.
_SIGNED_IN_USER = (select(User).options(joinedload(User.organisation)).where(User.id == bindparam("user_id"))
                   .execution_options(autoflush=False))


def configure_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("このページを見るにはログインしてください。")
    manager.login_message_category = "info"

    @manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The session (or remember-me cookie) holds ``<user id>:<session token>``; a cookie from
        before the token changed (password change, deactivation) no longer signs anyone in."""
        user_id, _, token = session_id.partition(":")
        user_key = number(user_id)
        if user_key is None or not token:
            return None
        user = db.session.execute(_SIGNED_IN_USER, {"user_id": user_key}).unique().scalar_one_or_none()
        return user if user is not None and user.holds_session(token) else None


# Who may enter each area's pages (the blueprints' gates); the API asks the same tuples.
MUNICIPAL_ROLES: tuple[str, ...] = ("municipal",)
COMPANY_AREA_ROLES: tuple[str, ...] = ("company", "municipal", "coordinator", "admin")
COORDINATION_ROLES: tuple[str, ...] = ("coordinator", "admin")


def has_role(user: Any, roles: tuple[str, ...]) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in roles


def keeps_solution_profiles(user: Any) -> bool:
    """Company staff with a company: they list and create their own profiles."""
    return bool(getattr(user, "is_authenticated", False)) and user.is_company and user.organisation is not None


def require_roles(*roles: str) -> Callable[[], None]:
    """A before_request hook: anonymous users go to the login page, other roles get 403."""

    def gate() -> None:
        if not current_user.is_authenticated:
            from flask import current_app

            abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
        if not has_role(current_user, roles):
            abort(403)

    return gate


class _Viewable(Protocol):
    def can_view(self, user: Any) -> bool: ...


V = TypeVar("V", bound=_Viewable)


def viewable_or_404(model: type[V], ident: Any, user: Any = None) -> V:
    """The row, or 404 when it does not exist or the user (the current one unless given: an API
    token's) may not know that it exists (another organisation's draft, an inactive profile): the
    two answers look the same."""
    # The pages of a challenge, profile or proposal all name its organisation: loaded with it.
    options = [joinedload(model.organisation)] if hasattr(model, "organisation") else []  # type: ignore[attr-defined]
    item = db.get_or_404(model, ident, options=options)
    if not item.can_view(current_user if user is None else user):
        abort(404)
    return item
