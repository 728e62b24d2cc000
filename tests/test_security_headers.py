"""Response headers: CSP with nothing inline, framing, sniffing, referrer, HSTS and cookies under
HTTPS, no-store on every page but static files, no server banner."""

from __future__ import annotations

import re
import threading
import urllib.request
from pathlib import Path

from bs4 import BeautifulSoup
from flask import url_for
from werkzeug.serving import make_server

from matchmaker import REPO_ROOT, create_app
from matchmaker.security import CONTENT_SECURITY_POLICY
from tests.conftest import base_config
from tests.pages import get_page


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


def test_every_page_carries_a_strict_policy_and_the_hardening_headers(client, login_as):
    for response in (client.get(url_for("public.index")), client.get(url_for("auth.login")), client.get("/nope")):
        headers = response.headers
        csp = _directives(headers["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], csp
        assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
        assert not any("unsafe" in v for values in csp.values() for v in values)
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would lock a site out
    login_as("municipal")
    assert client.get(url_for("municipality.dashboard")).headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_every_response_but_static_files_is_no_store(client, login_as):
    login_as("coordinator")
    for endpoint in ("coordinator.dashboard", "auth.settings", "public.index", "public.challenges"):
        response = client.get(url_for(endpoint))
        assert response.status_code == 200, endpoint
        assert response.headers["Cache-Control"] == "no-store", endpoint
    static = client.get(url_for("static", filename="css/app.css"))
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_https_setting_turns_on_hsts_and_secure_cookies(_schema, tmp_path):
    app = create_app({**base_config(_schema, tmp_path), "HTTPS": True})
    with app.app_context():
        client = app.test_client()
        response = client.get("/")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        from models import db

        db.session.remove()
        db.engine.dispose()


def test_https_setting_comes_from_the_environment():
    from matchmaker.config import from_environment

    assert from_environment({"MATCHMAKER_HTTPS": "on"})["HTTPS"] is True
    assert from_environment({"MATCHMAKER_HTTPS": "off"})["HTTPS"] is False


def test_no_template_has_inline_script_style_or_handlers():
    """The policy forbids them; the browser test proves the pages run, this names the file."""
    offenders = []
    for path in sorted((REPO_ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"<style\b", text) \
                or re.search(r"\sstyle=", text) or re.search(r"\son[a-z]+=", text) or "javascript:" in text:
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


def test_rendered_pages_have_nothing_inline(client, login_as):
    login_as("coordinator")
    for endpoint in ("coordinator.dashboard", "coordinator.board", "public.index", "auth.settings"):
        page: BeautifulSoup = get_page(client, endpoint)
        assert not page.select("[style]"), endpoint
        assert not page.select("script:not([src])"), endpoint
        assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)], endpoint


def test_the_dev_server_names_no_versions(_schema, tmp_path: Path):
    app = create_app(base_config(_schema, tmp_path) | {"SERVER_NAME": None})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/static/css/app.css") as response:
            banners = response.headers.get_all("Server")
            response.read()  # to the end, so the server closes the file it sends
    finally:
        server.shutdown()
        with app.app_context():
            from models import db

            db.session.remove()
            db.engine.dispose()
    assert banners == ["matchmaker"]


def test_gunicorn_names_no_server_either(_schema, tmp_path: Path):
    import gunicorn.http.wsgi

    app = create_app(base_config(_schema, tmp_path))
    assert gunicorn.http.wsgi.SERVER == "matchmaker"
    with app.app_context():
        from models import db

        db.session.remove()
        db.engine.dispose()
