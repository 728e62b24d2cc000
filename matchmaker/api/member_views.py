"""/api/v1 with a personal API token: what the token's user may read and write on the pages.

Each view asks the same questions as its page, with the token's user instead of the session's:
the blueprints' role gates (``matchmaker.auth``: MUNICIPAL_ROLES, COMPANY_AREA_ROLES,
COORDINATION_ROLES), the loaders that answer 404 or 403 (``viewable_or_404``,
``municipality.views.load_editable``, ``matches.recommendations.challenge_for_recommendations``),
the models' ``can_*`` methods and the services the pages call. Bodies are checked by the pages'
forms (matchmaker/api/forms.py). Answers are private (never cached); every request is audited
(matchmaker/api/bearer.py); writes need a write token and are rate-limited per user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app
from flask_smorest import Blueprint

from matchmaker.api import bearer
from matchmaker.api.problems import PROBLEM_JSON
from matchmaker.api.schemas import MeSchema, ProblemSchema
from matchmaker.api.views import MAX_ID
from matchmaker.auth import has_role
from matchmaker.extensions import limiter
from models import User

F = TypeVar("F", bound=Callable[..., Any])
blp = Blueprint("api_v1_token", __name__,
                description="With a personal API token (Authorization: Bearer): the token's user's own work.")



def write_limit() -> str:
    """API_WRITE_LIMIT: writes per user, whichever of their tokens is used (reads cost what pages cost)."""
    return str(current_app.config["API_WRITE_LIMIT"])



SECURED: dict[str, Any] = {"security": [{bearer.SECURITY_SCHEME: []}]}
UNAUTHORISED = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
                "description": "No token, or a token that is unknown, revoked, expired or of a deactivated user.",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
FORBIDDEN = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
             "description": "The token's user may not do this (the page refuses them too), or a read token on a "
                            "write endpoint."}
NOT_FOUND = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
             "description": "No such id, or one the token's user may not know of (the page answers 404 too)."}
INVALID = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
           "description": "Field messages of the page's form, in the language of Accept-Language."}
TOO_MANY = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
            "description": "More writes by this user than API_WRITE_LIMIT allows (30 a minute, 1,000 a day).",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}}}


REFUSALS: dict[int, dict[str, Any]] = {403: FORBIDDEN, 404: NOT_FOUND, 422: INVALID}


def _body_doc(schema: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def read_operation(schema: type, *refusals: int) -> Callable[[F], F]:
    """What every token GET shares: its documentation (the answer, 401 and ``refusals``) and the read
    scope. Goes right under ``@blp.route`` (and its ``@blp.arguments``)."""
    decorators: list[Callable[[Any], Any]] = [
        blp.doc(**SECURED), blp.response(200, schema), blp.alt_response(401, **UNAUTHORISED),
        *(blp.alt_response(code, **REFUSALS[code]) for code in refusals), bearer.scope("read"),
    ]
    return _composed(decorators)


def _composed(decorators: list[Callable[[Any], Any]]) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return decorate


def write_operation(body: type, status: int, schema: type, *, names_an_object: bool) -> Callable[[F], F]:
    """What every POST or PATCH with a body shares: its documentation (the body, the answer, the
    refusals), the write scope and the per-user limit. Goes right under ``@blp.route``."""
    created = {"headers": {"Location": {"schema": {"type": "string"}}}} if status == 201 else {}
    decorators: list[Callable[[Any], Any]] = [
        blp.doc(**SECURED, **_body_doc(body)),
        blp.response(status, schema, **created),
        blp.alt_response(401, **UNAUTHORISED),
        blp.alt_response(403, **FORBIDDEN),
        *([blp.alt_response(404, **NOT_FOUND)] if names_an_object else []),
        blp.alt_response(422, **INVALID),
        blp.alt_response(429, **TOO_MANY),
        bearer.scope("write"),
        limiter.limit(write_limit, key_func=bearer.limit_key),
    ]

    return _composed(decorators)


def _id(ident: int) -> int:
    if ident > MAX_ID:
        abort(404)
    return ident


def _gate(user: User, roles: tuple[str, ...]) -> None:
    """The page blueprint's role gate: another role gets 403 there, so here."""
    if not has_role(user, roles):
        abort(403)


def organisation_of(user: User) -> dict[str, Any] | None:
    org = user.organisation
    return None if org is None else {"id": org.id, "name": org.name, "kind": org.kind, "prefecture": org.prefecture}


# --- who ------------------------------------------------------------------------------------


@blp.route("/me")
@read_operation(MeSchema)
def me() -> Any:
    """Who the token speaks for: the user, their role and organisation, and the token's scope and expiry."""
    user, token = bearer.token_user(), bearer.current_token()
    assert token is not None
    return {"id": user.id, "name": user.name, "role": user.role, "organisation": organisation_of(user),
            "token": {"name": token.name, "scope": token.scope, "expires_at": token.expires_at}}



# The view modules register their routes on ``blp`` (imported by matchmaker.api.register).
