"""Per-process caches of things built from the database (the ranking index, the search index),
kept fresh without making requests wait.

A `Refreshing` holds one built value and the change key it was built from. It asks for the
current key at most every ``INDEX_REFRESH_SECONDS`` (a cheap aggregate query); when the key moved,
it rebuilds in a background thread while requests keep the value they have, and swaps the new
one in whole; the build is handed the value it replaces, so it may update that value rather than
build from nothing. So a change saved by any process reaches every process within about the
refresh period plus the build, no request but the first waits for a build, and a burst of changes
costs each process one build, not one per change. Between two builds a process waits at least
``BUILD_GAP`` times the last build's duration, so an index under constant change takes at most
about a sixth of one core per process for rebuilding. With ``INDEX_REFRESH_SECONDS`` 0 (tests, the command
line) every call asks, and a change is built at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

log = logging.getLogger(__name__)

T = TypeVar("T")
BUILD_GAP = 5.0


class Refreshing(Generic[T]):
    """One value built by ``build(key)`` from the data that ``key()`` summarises.

    Args:
        name: For logs.
        key: The current change key (runs in an app context).
        build: Builds the value for a key from the value it replaces (None at first); runs in an
            app context, maybe in a background thread.
    """

    def __init__(self, name: str, key: Callable[[], Hashable], build: Callable[[Any, T | None], T]) -> None:
        self.name = name
        self._key = key
        self._build = build
        self._value: tuple[Hashable, T] | None = None
        self._checked_at = 0.0
        self._next_build_at = 0.0
        self._rebuilding = False
        self._lock = threading.Lock()

    def get(self) -> T:
        """The value, fresh as of the last check (call in an app context)."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        period = float(app.config["INDEX_REFRESH_SECONDS"])
        held = self._value
        if held is None or period <= 0:
            return self._build_now()
        now = time.monotonic()
        if now - self._checked_at < period or now < self._next_build_at:
            return held[1]
        self._checked_at = now
        if self._rebuilding or self._key() == held[0]:
            return held[1]
        with self._lock:
            if self._rebuilding:
                return held[1]
            self._rebuilding = True
        threading.Thread(target=self._rebuild_in_background, args=(app,), name=f"refresh-{self.name}",
                         daemon=True).start()
        return held[1]

    def _build_now(self) -> T:
        key = self._key()
        held = self._value
        if held is not None and held[0] == key:
            return held[1]
        with self._lock:  # one build at a time per process; a second caller takes the first's result
            held = self._value
            if held is None or held[0] != key:
                held = self._value = (key, self._build(key, None if held is None else held[1]))
            return held[1]

    def _rebuild_in_background(self, app: Flask) -> None:
        from models import db

        try:
            with app.app_context():
                try:
                    started = time.monotonic()
                    key = self._key()
                    held = self._value
                    value = (key, self._build(key, None if held is None else held[1]))
                finally:
                    db.session.remove()  # before the swap: whoever sees the new value finds no session open here
                ended = time.monotonic()
                self._next_build_at = ended + BUILD_GAP * (ended - started)
                self._value = value
        except Exception:  # e.g. the database went away mid-build: keep the old value, try next period
            log.exception("rebuilding %s failed", self.name)
        finally:
            self._rebuilding = False


def refreshing(name: str, key: Callable[[], Hashable], build: Callable[[Any, T | None], T]) -> Refreshing[T]:
    """This app's `Refreshing` called ``name`` (created on first use)."""
    caches: dict[str, Refreshing[Any]] = current_app.extensions.setdefault("refreshing", {})
    if name not in caches:
        caches[name] = Refreshing(name, key, build)
    return caches[name]
