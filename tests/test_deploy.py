"""The production path: reverse-proxy headers (MATCHMAKER_PROXY_HOPS) and the gunicorn settings."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from flask import request

from matchmaker import create_app

ROOT = Path(__file__).resolve().parents[1]
FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def _seen(hops: int, tmp_path: Path) -> tuple[str | None, str]:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.sqlite",
                      "JOB_RUNNER": "eager", "EMBED_ON_START": False, "PROXY_HOPS": hops})
    app.add_url_rule("/_seen", "seen", lambda: f"{request.remote_addr} {request.url_root}")
    answer = app.test_client().get("/_seen", headers=FORWARDED, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    remote, root = answer.get_data(as_text=True).split(" ")
    return remote, root


def test_behind_one_proxy_the_forwarded_client_and_scheme_are_used(tmp_path):
    assert _seen(1, tmp_path) == ("203.0.113.7", "https://localhost/")


def test_without_proxy_fix_forwarded_headers_are_ignored(tmp_path):
    assert _seen(0, tmp_path) == ("127.0.0.1", "http://localhost/")


@pytest.mark.parametrize(("environ", "workers"), [({"WORKERS": "3"}, 3), ({}, None)])
def test_gunicorn_settings_take_workers_from_the_environment(monkeypatch, environ, workers):
    monkeypatch.delenv("WORKERS", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    import multiprocessing

    assert settings["workers"] == (workers or 2 * multiprocessing.cpu_count())
    assert settings["preload_app"] is False
