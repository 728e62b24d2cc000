"""How a request's database transaction begins and how a failed one is let go.

On SQLite a request that will write begins with the write lock (BEGIN IMMEDIATE, see
``models.base.sqlite_writes_ahead``): every form post, and the few pages marked ``@writes`` that
record something while being read (exposure counts, download audits, a notification opened).
Two such requests then run one after the other instead of failing with "database is locked".
PostgreSQL needs none of this (row locks and unique constraints do the work there).

A request that failed leaves its transaction behind; it is rolled back after the response is
made, never by an error handler (which must not touch the database), and never so as to raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session

from models import db
from models.base import sqlite_writes_ahead

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes(when: Callable[[], bool] | None = None) -> Callable[[F], F]:
    """Mark a GET view that writes (``when``: only for some readers, asked before the view runs)."""

    def mark(view: F) -> F:
        view.writes_on_read = when or (lambda: True)  # type: ignore[attr-defined]
        return view

    return mark


def signed_in() -> bool:
    """A member's request, judged from the session cookie alone (no query before the transaction)."""
    return "_user_id" in session


def _will_write() -> bool:
    if request.method not in READING_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    when = getattr(view, "writes_on_read", None)
    return bool(when and when())


def register(app: Flask) -> None:
    @app.before_request
    def _begin_as_writer() -> None:
        if _will_write():
            g._writes_ahead = sqlite_writes_ahead.set(True)

    @app.teardown_request
    def _let_go(error: BaseException | None) -> None:
        token = g.pop("_writes_ahead", None)
        if token is not None:
            sqlite_writes_ahead.reset(token)
        if error is not None or g.pop("failed", False):
            discard_transaction()

    @app.teardown_appcontext
    def _close_session(error: BaseException | None) -> None:
        """End the session here, where a connection cut meanwhile (a database restart) is only
        logged: in Flask-SQLAlchemy's own teardown, which runs after this one, it would escape every
        error handler and reach the WSGI server as a bare 500 after a request that went well."""
        try:
            db.session.remove()
        except Exception:
            log.warning("could not close the database session", exc_info=True)


def discard_transaction() -> None:
    """Roll back what a failed request left; the connection may be gone, so nothing may raise."""
    try:
        db.session.rollback()
    except Exception:  # a dead connection is dropped by the pool at the next checkout
        log.warning("could not roll back after a failed request", exc_info=True)
