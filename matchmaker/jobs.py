"""An in-process job runner: work that must not make a web request wait (re-embedding).

Services queue jobs on the database session; they are handed to the runner only after the
transaction commits, so a job never sees uncommitted or rolled-back rows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

Job = tuple[str, Callable[..., Any], tuple[Any, ...]]


class JobRunner:
    def __init__(self, app: Flask, mode: str = "thread") -> None:
        if mode not in ("thread", "eager"):
            raise ValueError(f"unknown JOB_RUNNER {mode!r}: use 'thread' or 'eager'")
        self.app = app
        self.mode = mode
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Run ``fn(*args)`` in its own app context; a job already waiting under ``key`` is not queued twice."""
        if self.mode == "eager":
            self._run(fn, args)
            return None
        with self._lock:
            waiting = self._pending.get(key)
            if waiting is not None and not waiting.running() and not waiting.done():
                return waiting
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
            future = self._executor.submit(self._run, fn, args)
            self._pending[key] = future
            return future

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        with self.app.app_context():
            try:
                fn(*args)
            except Exception:  # a failed job is logged; the next save retries it
                log.exception("job %s%r failed", getattr(fn, "__name__", fn), args)
                from models import db

                db.session.rollback()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (CLI commands and tests)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.result(timeout=timeout)


def after_commit(session: Session | scoped_session[Any], key: str, fn: Callable[..., Any], *args: Any) -> None:
    """Queue a job to run once ``session`` commits; dropped on rollback."""
    session.info.setdefault("jobs_after_commit", {})[key] = (key, fn, args)


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    jobs: dict[str, Job] = session.info.pop("jobs_after_commit", {})
    if not jobs:
        return
    runner: JobRunner = current_app.extensions["jobs"]
    for key, fn, args in jobs.values():
        runner.submit(key, fn, *args)


@event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction drops its queued jobs; a rolled-back SAVEPOINT does not."""
    if previous_transaction.parent is None:
        session.info.pop("jobs_after_commit", None)
