"""Error pages in the user's language, made without the database.

An error page may be the answer to "the database is gone", so no handler queries it: the pages
render on a bare layout (no member menu, no notification count, no user loaded) and the failed
transaction is rolled back after the response (matchmaker/transactions.py). A database that cannot
be reached (refused, restarted, connection cut, pool exhausted, SQLite busy) answers 503 with
Retry-After; any other unexpected error answers 500. Under /api/v1 the same errors are problem
details (application/problem+json, matchmaker/api/problems.py) instead of pages.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, render_template
from flask_login import AnonymousUserMixin
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from matchmaker.api import is_api_request
from matchmaker.api.problems import ApiRefusal, problem

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
RETRY_AFTER_SECONDS = 30
PAGES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html", 413: "errors/413.html",
         429: "errors/429.html", 503: "errors/503.html"}


def error_page(code: int, error: BaseException | None = None) -> str:
    """The page for ``code``, rendered from the request and the session cookie alone."""
    g.bare_page = True  # matchmaker.i18n.select_locale then does not load the user either
    anonymous = AnonymousUserMixin()
    if "_login_user" not in g:  # Flask-Login's context processor would load the user from the database
        g._login_user = anonymous
    template = PAGES.get(code, "errors/generic.html")
    return render_template(template, error=error, code=code, bare=True, current_user=anonymous)


def _fallback(code: int) -> str:
    return f"<!doctype html><title>{code}</title><h1>{code}</h1>"


def register(app: Flask) -> None:
    def handle(error: HTTPException) -> tuple[str, int] | Response:
        code = error.code or 500
        if is_api_request():
            return problem(code, error)
        return error_page(code, error), code

    for code in (400, 401, 403, 404, 405, 413, 422, 429):
        app.register_error_handler(code, handle)
    # raised only under /api/v1, with its own detail and field messages; found by class, not by code
    app.register_error_handler(ApiRefusal, lambda error: problem(error.code or 400, error))

    def database_unavailable(error: BaseException) -> tuple[str, int, dict[str, str]] | Response:
        g.failed = True
        log.error("database unavailable: %s", error)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        try:
            if is_api_request():
                return problem(503, error, headers)
            return error_page(503, error), 503, headers
        except Exception:  # the error page itself must never fail the response
            log.exception("the 503 page failed to render")
            return _fallback(503), 503, headers

    for kind in DATABASE_UNAVAILABLE:
        app.register_error_handler(kind, database_unavailable)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int] | tuple[str, int, dict[str, str]] | Response:
        original = getattr(error, "original_exception", None)
        if isinstance(original, DATABASE_UNAVAILABLE):  # raised where no handler could catch it
            return database_unavailable(original)
        g.failed = True
        try:
            if is_api_request():
                return problem(500, error)
            return error_page(500, error), 500
        except Exception:
            log.exception("the 500 page failed to render")
            return _fallback(500), 500
