"""Public pages rendered once for everyone who is not signed in.

Under load most requests are anonymous readers of the same few pages (the landing page, the
challenge list, a challenge, the case library), and each cost 10–40 ms of templates, queries and
ranking similar challenges. A visitor who is not signed in sees exactly what every other such
visitor sees, so each process keeps the rendered page, keyed by the address (with its query), the
language and the local date, and serves it again while the public data it shows is unchanged.

"Unchanged" is one query (``public_fingerprint``), asked at most every ``PAGE_CACHE_CHECK_SECONDS``
per process: row counts and latest changes of what public pages show — published and closed
challenges, organisations, active profiles, matches past the proposal, pilots, answered questions
and soundings. Drafts being edited and proposals being made do not touch it, so they do not empty
the cache. What the fingerprint cannot see (the ranking of similar challenges after other
challenges' vectors change) is bounded by ``PAGE_CACHE_SECONDS``: an entry older than that is
rendered anew.

Parts that signed-in pages share with everyone (the case library's rows behind a challenge's
related cases) are kept the same way with ``public_memo``, as plain values.

The page carries the visitor's own CSRF token (the language switch is a form): the stored copy
has a marker in its place and each visitor gets theirs put back. Pages with flashed messages are
neither served from nor stored in the cache, and signed-in members never touch it.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, select

from matchmaker.services.challenges import local_today
from models import Challenge, Match, Organisation, Pilot, Question, Solution, Sounding, db
from models.base import count_and_latest
from models.codes import ChallengeStatus
from models.match import MatchStage

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

MAX_ENTRIES = 512
_PUBLIC_STATUSES = (ChallengeStatus.PUBLISHED.value, ChallengeStatus.CLOSED.value)
_PUBLIC_STAGES = (MatchStage.PILOT.value, MatchStage.ADOPTED.value, MatchStage.CLOSED.value)
_MARKER = f"csrf-{secrets.token_hex(12)}"  # per process; never part of a real token


@dataclass(frozen=True)
class _Entry:
    fingerprint: tuple[Any, ...]
    stored_at: float
    body: str


class PageCache:
    """Rendered pages of one process, least recently used first out."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # pages served from the cache (the tests read it)

    def get(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], max_age: float) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.fingerprint != fingerprint or time.monotonic() - entry.stored_at > max_age:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.body

    def put(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], body: str) -> None:
        with self._lock:
            self._entries[key] = _Entry(fingerprint, time.monotonic(), body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def cache_of(app: Any) -> PageCache:
    cache = app.extensions.get("page_cache")
    if cache is None:
        cache = app.extensions["page_cache"] = PageCache()
    return cast(PageCache, cache)


def public_fingerprint() -> tuple[Any, ...]:
    """Counts and latest changes of everything a public page shows, in one round trip, or the
    last ones read by this process if that was less than ``PAGE_CACHE_CHECK_SECONDS`` ago."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    last: tuple[float, tuple[Any, ...]] | None = app.extensions.get("page_cache_fingerprint")
    now = time.monotonic()
    if last is not None and now - last[0] < app.config["PAGE_CACHE_CHECK_SECONDS"]:
        return last[1]
    fingerprint = tuple(db.session.execute(_fingerprint_query()).one())
    app.extensions["page_cache_fingerprint"] = (now, fingerprint)
    return fingerprint


def public_memo(name: str, build: Callable[[], T]) -> T:
    """``build()``, kept by this process while the public data is unchanged (``public_fingerprint``)
    and for at most ``PAGE_CACHE_SECONDS``; built every time where the page cache is off. For plain
    values derived from what public pages show, never ORM objects (they belong to one session)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    max_age = float(app.config.get("PAGE_CACHE_SECONDS", 0))
    if max_age <= 0:
        return build()
    memo: dict[str, tuple[tuple[Any, ...], float, Any]] = app.extensions.setdefault("public_memo", {})
    fingerprint, now = public_fingerprint(), time.monotonic()
    held = memo.get(name)
    if held is not None and held[0] == fingerprint and now - held[1] <= max_age:
        return cast(T, held[2])
    value = build()
    memo[name] = (fingerprint, now, value)
    return value


@functools.cache
def _fingerprint_query() -> Select[Any]:
    return select(
        *count_and_latest(Challenge, Challenge.updated_at, Challenge.status.in_(_PUBLIC_STATUSES)),
        *count_and_latest(Organisation, Organisation.updated_at),
        *count_and_latest(Solution, Solution.updated_at, Solution.active.is_(True)),
        *count_and_latest(Match, Match.updated_at, Match.stage.in_(_PUBLIC_STAGES)),
        *count_and_latest(Pilot, Pilot.updated_at),
        *count_and_latest(Question, Question.answered_at, Question.answered_at.is_not(None)),
        *count_and_latest(Sounding, Sounding.updated_at),
    )


def _cacheable() -> bool:
    return (
        request.method in ("GET", "HEAD")
        and current_app.config.get("PAGE_CACHE_SECONDS", 0) > 0
        and not current_user.is_authenticated
        and "_flashes" not in session
    )


def public_page(view: F) -> F:
    """Serve the view's page from the cache for visitors who are not signed in."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable():
            return view(*args, **kwargs)
        cache = cache_of(current_app)
        key = (request.full_path, str(get_locale()), local_today().isoformat(), bool(current_app.config.get("DEMO_MODE")))
        fingerprint = public_fingerprint()
        body = cache.get(key, fingerprint, current_app.config["PAGE_CACHE_SECONDS"])
        if body is not None:
            return body.replace(_MARKER, generate_csrf()) if _MARKER in body else body
        page = view(*args, **kwargs)
        if isinstance(page, str) and "_flashes" not in session:
            token = generate_csrf()
            cache.put(key, fingerprint, page.replace(token, _MARKER))
        return page

    return cast(F, wrapper)
