"""Template filters and globals: code labels, dates in the Japanese era, yen, and the gettext functions."""

from __future__ import annotations

from typing import Any

from babel.support import NullTranslations
from flask import Flask, current_app, g, has_app_context, request
from flask_babel import get_locale, get_translations
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup

from matchmaker import i18n
from models import codes


def _label(table: dict[str, Any], code: str | None) -> str:
    if code is None:
        return ""
    label = table.get(code)
    return str(label) if label is not None else code


def _translations() -> NullTranslations:
    """The catalogue of the current locale, as flask_babel's ``get_translations`` gives it, looked
    up once per request and locale rather than once per string: each lookup walks the app context
    three times. Keyed by the locale object itself, so ``force_locale`` (mail in the recipient's
    language) and ``refresh`` are followed."""
    babel_context = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(babel_context, "babel_locale", None)
    if locale is None:  # before the first string: flask_babel selects the locale
        return get_translations()
    held = getattr(babel_context, "matchmaker_translations", None)
    if held is None or held[0] is not locale:
        held = (locale, get_translations())
        babel_context.matchmaker_translations = held  # type: ignore[union-attr]
    return held[1]


# Templates' gettext functions, with the meaning of Jinja's "newstyle" ones (the text is always a
# format string, escaped where the template autoescapes) but without its two nested context calls
# per string (18 µs a string before, 7 µs now; a signed-in challenge page has about 110).
def _finish(eval_ctx: EvalContext, text: str, variables: dict[str, Any]) -> str:
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def _gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    return _finish(eval_ctx, _translations().ugettext(string), variables)


@pass_eval_context
def _ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _finish(eval_ctx, _translations().ungettext(singular, plural, num), variables)


@pass_eval_context
def _pgettext(eval_ctx: EvalContext, context: str, string: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    return _finish(eval_ctx, _translations().upgettext(context, string), variables)


@pass_eval_context
def _npgettext(eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int,
               **variables: Any) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return _finish(eval_ctx, _translations().unpgettext(context, singular, plural, num), variables)


def register(app: Flask) -> None:
    # In place of the callables flask_babel installed (babel.init_app runs before this); ``_`` is
    # the function itself rather than Jinja's alias that looks ``gettext`` up on every call.
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]  # trans blocks pass their variables
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext,
                                 npgettext=_npgettext)
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
