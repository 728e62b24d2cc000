"""Error pages in the user's language."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException


def register(app: Flask) -> None:
    def handle(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        template = f"errors/{code}.html" if code in (400, 403, 404, 413) else "errors/generic.html"
        return render_template(template, error=error, code=code), code

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, handle)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        from models import db

        db.session.rollback()
        return render_template("errors/generic.html", error=error, code=500), 500
