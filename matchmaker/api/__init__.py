"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas, an OpenAPI 3.1 document made
from the code at /api/v1/openapi.json).

Two blueprints. ``api_v1`` (views.py) is public and read-only: it answers for an anonymous reader
whatever the request's cookies say, with the same queries and visibility rules as the public pages
(matchmaker/public, matchmaker/services/search.py, services/qa.py, services/matches.py).
``api_v1_token`` (member_views.py: the blueprint and /me; member_challenges, member_solutions,
member_coordination: the rest) answers to a personal API token (``Authorization: Bearer``,
matchmaker/api/bearer.py) with the permissions of the token's user on the pages. Errors are problem
details (RFC 9457, matchmaker/api/problems.py) in the language of Accept-Language.
"""

from __future__ import annotations

from flask import Flask, request

PREFIX = "/api/v1"
API_CONFIG = {
    "API_TITLE": "matchmaker API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Published challenges, their public Q&A and sounding results, the case library "
                           "and the pipeline's figures of matchmaker (官民共創), also as whole CSV and JSON files: "
                           "open data under CC BY 4.0. With a personal API token (Authorization: "
                           "Bearer, from /auth/tokens): a municipality's challenges, a company's profiles, "
                           "ranked recommendations with reasons, the coordinators' board. See docs/api.md.",
            "license": {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
        },
    },
}


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def register(app: Flask) -> None:
    """Bind the API to the app and register its blueprints."""
    from matchmaker.api import (  # noqa: F401  (routes)
        bearer,
        member_challenges,
        member_coordination,
        member_solutions,
        open_data,
    )
    from matchmaker.api.member_views import blp as token_blp
    from matchmaker.api.views import Api, blp
    from matchmaker.extensions import csrf

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = Api(app)
    for name, scheme in bearer.BEARER.items():
        api.spec.components.security_scheme(name, scheme)
    api.register_blueprint(blp, url_prefix=PREFIX)
    api.register_blueprint(token_blp, url_prefix=PREFIX)
    csrf.exempt(token_blp)  # cookies sign no one in there: a token in a header is not sent by another site
    bearer.register(app)
    app.extensions["api"] = api
