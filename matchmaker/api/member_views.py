"""/api/v1 with a personal API token: what the token's user may read and write on the pages.

Each view asks the same questions as its page (the models' ``can_*`` methods, the services'
checks, the blueprints' role gates in ``matchmaker.auth``), with the token's user instead of the
session's. Answers are private (never cached) and every request is audited (matchmaker/api/bearer.py).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from matchmaker.api import bearer
from matchmaker.api.problems import PROBLEM_JSON
from matchmaker.api.schemas import MeSchema, ProblemSchema
from models import User

blp = Blueprint("api_v1_token", __name__,
                description="With a personal API token (Authorization: Bearer): the token's user's own work.")

SECURED: dict[str, Any] = {"security": [{bearer.SECURITY_SCHEME: []}]}
UNAUTHORISED = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
                "description": "No token, or a token that is unknown, revoked, expired or of a deactivated user.",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
FORBIDDEN = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
             "description": "The token's user may not do this here (the page would refuse too), or a read token on "
                            "a write endpoint."}


def organisation_of(user: User) -> dict[str, Any] | None:
    org = user.organisation
    return None if org is None else {"id": org.id, "name": org.name, "kind": org.kind, "prefecture": org.prefecture}


@blp.route("/me")
@blp.doc(**SECURED)
@blp.response(200, MeSchema)
@blp.alt_response(401, **UNAUTHORISED)
@bearer.scope("read")
def me() -> Any:
    """Who the token speaks for: the user, their role and organisation, and the token's scope and expiry."""
    user, token = bearer.token_user(), bearer.current_token()
    assert token is not None
    return {"id": user.id, "name": user.name, "role": user.role, "organisation": organisation_of(user),
            "token": {"name": token.name, "scope": token.scope, "expires_at": token.expires_at}}
