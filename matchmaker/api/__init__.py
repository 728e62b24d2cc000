"""The JSON API under /api/v1 (flask-smorest: marshmallow schemas, an OpenAPI 3.1 document made
from the code at /api/v1/openapi.json).

Public and read-only for now: it answers for an anonymous reader whatever the request's cookies
say, with the same queries and visibility rules as the public pages (matchmaker/public,
matchmaker/services/search.py, services/qa.py, services/matches.py). Errors are problem details
(RFC 9457, matchmaker/api/problems.py) in the language of Accept-Language.
"""

from __future__ import annotations

from flask import Flask, request

PREFIX = "/api/v1"
API_CONFIG = {
    "API_TITLE": "matchmaker open data API",
    "API_VERSION": "1.0.0",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Published challenges, their public Q&A and the case library of matchmaker "
                           "(官民共創). Open data under CC BY 4.0; see docs/api.md.",
            "license": {"name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
        },
    },
}


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def register(app: Flask) -> None:
    """Bind the API to the app and register its blueprints."""
    from matchmaker.api.views import Api, blp

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = Api(app)
    api.register_blueprint(blp, url_prefix=PREFIX)
    app.extensions["api"] = api
