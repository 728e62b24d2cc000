"""Database faults: the 503 and 500 pages with the database gone, recovery after the server drops
the connections (pool_pre_ping), and nothing half-written when a connection dies mid-request."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from matchmaker import create_app
from models import Match, Proposal
from models import db as _db
from tests.conftest import base_config, database_url
from tests.pipeline_factories import make_pair

# Nothing listens here (helper ports are 51N0–51N9; this one is left free), and no such directory exists.
DEAD_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5119/mm_gone?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-directory/matchmaker.sqlite",
}
APP_NAME = "matchmaker-fault-test"


@pytest.fixture(params=sorted(DEAD_URLS))
def dead_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(base_config(DEAD_URLS[request.param], tmp_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as under a real server

    @app.route("/test-crash")
    def crash() -> str:
        raise RuntimeError("a bug")

    yield app
    with app.app_context():
        _db.engine.dispose()


def _client(app: Flask, *, user_id: int | None = None, locale: str | None = None) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        if user_id is not None:
            session["_user_id"] = f"{user_id}:some-session-token"  # the shape the site writes; loading it needs the database
            session["_fresh"] = True
        if locale is not None:
            session["locale"] = locale
    return client


def _page(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_503_page_renders_in_japanese_with_the_database_gone(dead_app: Flask, signed_in: bool) -> None:
    client = _client(dead_app, user_id=1 if signed_in else None)
    for path in ("/", "/challenges", "/challenges/1") + (("/matches/mine",) if signed_in else ()):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        page = _page(response)
        assert page.find("h1").get_text() == "一時的にご利用いただけません"
        assert "保存されていないことがあります" in page.get_text()
        assert page.find(id="logout") is None and page.find(id="nav-notifications") is None
    if signed_in:
        assert client.post("/matches/act", data={"challenge_id": 1, "solution_id": 1}).status_code == 503


def test_the_503_page_speaks_english_when_chosen(dead_app: Flask) -> None:
    response = _client(dead_app, user_id=1, locale="en").get("/matches/mine")
    assert response.status_code == 503
    page = _page(response)
    assert page.find("html")["lang"] == "en"
    assert page.find("h1").get_text() == "Temporarily unavailable"
    assert "may not have been saved" in page.get_text()


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_500_and_404_pages_render_with_the_database_gone(dead_app: Flask, signed_in: bool) -> None:
    client = _client(dead_app, user_id=1 if signed_in else None)
    crashed = client.get("/test-crash")
    assert crashed.status_code == 500
    assert "エラーが発生しました（500）" in _page(crashed).get_text()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert _page(missing).find("h1").get_text() == "ページが見つかりません"


# --- PostgreSQL: connections cut by the server ----------------------------------------------------


def _postgresql_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    return database_url("postgresql", tmp_path_factory)


def _cut_connections(url: str) -> int:
    """What a server restart does to the site's pooled connections: terminate them (ours only)."""
    killer = create_engine(url, poolclass=NullPool)
    with killer.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = :name AND pid <> pg_backend_pid()"
        ), {"name": APP_NAME}).scalar_one()
    killer.dispose()
    return int(killed)


def _pg_app(url: str, tmp_path: Path, *, pre_ping: bool) -> Flask:
    config = base_config(url, tmp_path)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": pre_ping,
                                           "connect_args": {"application_name": APP_NAME}}
    app = create_app(config)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.mark.usefixtures("_schema")
@pytest.mark.parametrize("pre_ping", [True, False])
def test_the_site_recovers_by_itself_when_the_server_drops_its_connections(
        backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, pre_ping: bool) -> None:
    if backend != "postgresql":
        pytest.skip("connections are cut on PostgreSQL")
    url = _postgresql_url(tmp_path_factory)
    app = _pg_app(url, tmp_path, pre_ping=pre_ping)
    client = app.test_client()
    try:
        assert client.get("/").status_code == 200
        assert _cut_connections(url) >= 1
        first = client.get("/")
        # With pre-ping the dead connection is replaced before use; without it the request that
        # meets it answers 503 (not 500), and the pool, now invalidated, reconnects for the next.
        assert first.status_code == (200 if pre_ping else 503)
        assert client.get("/").status_code == 200
    finally:
        with app.app_context():
            _db.engine.dispose()


def test_a_connection_cut_mid_request_writes_nothing(
        app: Flask, db: Any, backend: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The proposal's rows are flushed, then the server drops the connection before the commit:
    the user gets the 503 page, no match or proposal is left, and the next request works."""
    if backend != "postgresql":
        pytest.skip("connections are cut on PostgreSQL")
    url = _postgresql_url(tmp_path_factory)
    from matchmaker.services import notify

    pair = make_pair()
    db.session.commit()
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    original = notify.notify

    def cut_then_notify(*args: Any, **kwargs: Any) -> Any:
        killer = create_engine(url, poolclass=NullPool)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        return original(*args, **kwargs)

    monkeypatch.setattr(notify, "notify", cut_then_notify)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = pair.company_user.get_id()
    form = {"solution_id": pair.solution.id, "title": "見守りの提案", "approach": "QRコードで記録する。",
            "schedule": "5〜8月", "cost_estimate": "150万", "needs_from_municipality": ""}
    response = client.post(f"/matches/challenges/{pair.challenge.id}/propose", data=form)
    assert response.status_code == 503
    monkeypatch.setattr(notify, "notify", original)
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
    assert db.session.scalar(select(func.count()).select_from(Match)) == 0
    again = client.post(f"/matches/challenges/{pair.challenge.id}/propose", data=form)
    assert again.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


@pytest.mark.usefixtures("_schema")
def test_a_connection_cut_after_the_page_was_made_still_delivers_it(
        backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The restart comes between the page and the end of the request: the reader gets the page
    (the session's close on the dead connection is only logged), and the next request works."""
    if backend != "postgresql":
        pytest.skip("connections are cut on PostgreSQL")
    url = _postgresql_url(tmp_path_factory)
    app = _pg_app(url, tmp_path, pre_ping=True)

    @app.after_request
    def cut(response: Any) -> Any:
        if app.config.get("CUT_AFTER"):
            _cut_connections(url)
        return response

    client = app.test_client()
    try:
        assert client.get("/challenges").status_code == 200
        app.config["CUT_AFTER"] = True
        assert client.get("/challenges").status_code == 200
        app.config["CUT_AFTER"] = False
        assert client.get("/challenges").status_code == 200
    finally:
        with app.app_context():
            _db.engine.dispose()
