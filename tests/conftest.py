"""Fixtures: the app on SQLite (always) and on PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from matchmaker import create_app
from models import db as _db

ARTIFACTS = Path(__file__).parent / "artifacts"


def _backends() -> list[str]:
    backends = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        backends.append("postgresql")
    return backends


def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "postgresql":
        url = os.environ["TEST_DATABASE_URL"]
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def base_config(url: str, tmp: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "JOB_RUNNER": "eager",
        "INDEX_REFRESH_SECONDS": 0,
        "PAGE_CACHE_CHECK_SECONDS": 0,
        "EMBED_ON_START": False,
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "SERVER_NAME": "localhost",
    }


@pytest.fixture(scope="session", params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _schema(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = database_url(backend, tmp_path_factory)
    app = create_app(base_config(url, tmp_path_factory.mktemp("app")))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield url
    with app.app_context():
        _db.drop_all()
        _db.engine.dispose()


def _empty_all_tables(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture()
def app(_schema: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(base_config(_schema, tmp_path))
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()
    _empty_all_tables(_schema)


@pytest.fixture()
def db(app: Flask) -> Any:
    return _db


class _FreshRequestClient(FlaskClient):
    """The app fixture keeps one app context open, so ``g`` would outlive a request: empty it before
    each request, as a server does by giving every request its own app context."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g

        for name in list(vars(g)):
            g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    app.test_client_class = _FreshRequestClient
    return app.test_client()


@pytest.fixture()
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture()
def login_as(client: FlaskClient) -> Any:
    """Log the test client in as a new user of ``role`` (or as a given user) and return the user."""
    from tests import factories

    def login(role_or_user: Any = "municipal", **overrides: Any) -> Any:
        user = role_or_user if not isinstance(role_or_user, str) else factories.make_user(role=role_or_user, **overrides)
        _db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return login


@pytest.fixture()
def redis_url() -> Any:
    """The Redis database of TEST_REDIS_URL, emptied before and after (skips the test when unset)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    from redis import Redis

    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()
