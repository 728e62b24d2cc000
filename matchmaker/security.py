"""Response headers every page carries (OWASP ASVS 5.0 V3 and V13), in one after_request hook.

An in-house hook rather than a library: the rules are few, each is tested, and none of them
depends on what a view does, so a page added tomorrow is covered without being listed.
"""

from __future__ import annotations

import sys

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline script or style anywhere: templates use classes and static/js/*.js. Images may be
# data: URIs (the two-factor QR code is rendered server-side into one).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# Served files (attachments) get no script at all and a unique origin, whatever they contain.
DOWNLOAD_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
SERVER_NAME = "matchmaker"  # what the dev server says instead of its and Python's versions


def register(app: Flask) -> None:
    """Secure cookies under HTTPS, the header hook, and no server banner."""
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    hide_server_banner()
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return secure_headers(response, https=app.config["HTTPS"])


def secure_headers(response: Response, *, https: bool) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if https:
        headers["Strict-Transport-Security"] = HSTS
    # The rule that cannot miss a private page: nothing but the static files may be stored by a
    # browser or a proxy (a public page is cheap to render; a logged-in page left in a shared
    # computer's cache is a leak).
    # A response may be stored only when its view declared it public (the open-data API) and it
    # sets no cookie.
    if request.endpoint != "static" and not is_declared_public(response):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def is_declared_public(response: Response) -> bool:
    return bool(response.cache_control.public) and "Set-Cookie" not in response.headers


def hide_server_banner() -> None:
    """Werkzeug's server writes 'Server: Werkzeug/x Python/y' and gunicorn 'Server: gunicorn'
    before the application's headers, so the hook above cannot replace them; each server's own
    name is the one place to. (gunicorn has imported its response module before it loads the app.)"""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.version_string = lambda self: SERVER_NAME  # type: ignore[method-assign]
    gunicorn_wsgi = sys.modules.get("gunicorn.http.wsgi")
    if gunicorn_wsgi is not None:
        gunicorn_wsgi.SERVER = SERVER_NAME  # type: ignore[attr-defined]
