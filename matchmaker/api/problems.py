"""Problem details (RFC 9457, ``application/problem+json``) for every error under /api/v1.

The title is the one the HTML error page shows, in the language that Accept-Language asks for
(matchmaker.i18n.select_locale); validation errors name the fields that failed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


def title_for(code: int) -> str:
    titles = {
        400: _("リクエストが正しくありません"),
        401: _("認証が必要です"),
        403: _("アクセスできません"),
        404: _("ページが見つかりません"),
        405: _("この方法では利用できません"),
        413: _("ファイルが大きすぎます"),
        422: _("入力内容に誤りがあります"),
        429: _("しばらく待ってからお試しください"),
        503: _("一時的にご利用いただけません"),
    }
    return titles.get(code) or _("エラーが発生しました")


def detail_for(code: int) -> str | None:
    details = {
        404: _("お探しのページは削除されたか、URLが間違っている可能性があります。"),
        422: _("errors に示した項目を確認してください。"),
    }
    if code >= 500:
        return _("申し訳ありません。処理を完了できませんでした。時間をおいてもう一度お試しください。")
    return details.get(code)


def problem(code: int, error: BaseException | None = None, headers: dict[str, str] | None = None, *,
            detail: str | None = None, errors: dict[str, list[str]] | None = None) -> Response:
    """The problem details of ``code``; ``detail`` and ``errors`` (field → messages) when the view knows better."""
    body: dict[str, Any] = {"type": "about:blank", "title": title_for(code), "status": code,
                            "instance": request.path}
    if detail is None and isinstance(error, ApiRefusal):
        detail = error.description
    detail = detail or detail_for(code)
    if detail:
        body["detail"] = detail
    messages = errors or _validation_messages(error)
    if messages:
        body["errors"] = messages
    response = Response(json.dumps(body, ensure_ascii=False), status=code, mimetype=PROBLEM_JSON)
    response.headers["Content-Language"] = str(get_locale() or "ja")
    response.vary.add("Accept-Language")
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    if isinstance(error, HTTPException) and error.code == 405:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    if isinstance(error, ApiRefusal):
        headers = {**error.extra_headers, **(headers or {})}
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ApiRefusal(HTTPException):
    """An error a view raises with its own detail and field messages (``abort`` cannot carry them)."""

    def __init__(self, code: int, detail: str | None = None, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description=detail)
        self.code = code
        self.errors = errors
        self.extra_headers = headers or {}


def _validation_messages(error: BaseException | None) -> dict[str, Any] | None:
    """webargs puts marshmallow's messages on the 422 as ``data["messages"]``: by location, then field."""
    if isinstance(error, ApiRefusal):
        return error.errors
    data = getattr(error, "data", None)
    if not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return None
    flat: dict[str, Any] = {}
    for fields in messages.values():
        if isinstance(fields, dict):
            flat.update(fields)
    return flat or None

