"""Template filters and globals: code labels, dates in the Japanese era, yen."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_babel import get_locale

from matchmaker import i18n
from models import codes


def _label(table: dict[str, Any], code: str | None) -> str:
    if code is None:
        return ""
    label = table.get(code)
    return str(label) if label is not None else code


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        era_date=i18n.format_era_date,
        fiscal_year=i18n.format_fiscal_year,
        yen=i18n.format_yen,
        domain_label=lambda c: _label(codes.DOMAINS, c),
        prefecture=lambda p: _label(codes.PREFECTURE_LABELS, p),
        form_label=lambda c: _label(codes.COLLABORATION_FORMS, c),
        maturity_label=lambda c: _label(codes.MATURITY, c),
        size_label=lambda c: _label(codes.COMPANY_SIZES, c),
        role_label=lambda c: _label(codes.ROLE_LABELS, c),
        status_label=lambda c: _label(codes.CHALLENGE_STATUS_LABELS, c),
    )
    app.jinja_env.globals.update(
        yen_range=i18n.format_yen_range,
        codes=codes,
        current_locale=lambda: str(get_locale() or "ja"),
        languages=lambda: current_app.config["LANGUAGES"],
        url_with=_url_with,
    )


def _url_with(**changes: Any) -> str:
    """The current URL with some query arguments replaced (pagination, facets)."""
    from flask import url_for

    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [value]
    assert request.endpoint is not None
    values: dict[str, Any] = {**(request.view_args or {}), **args}
    return url_for(request.endpoint, **values)
