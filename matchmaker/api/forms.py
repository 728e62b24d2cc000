"""A JSON body checked by the page's own form: the same rules and the same Japanese or English
messages as the form the page shows (the locale is Accept-Language's, matchmaker.i18n).

The body's values become the form data a browser would post (a list is a ticked set of boxes);
for an update the stored values fill in whatever the body leaves out. Unknown names and values of
the wrong JSON type are refused by name before the form sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from flask import request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectMultipleField

from matchmaker.api.problems import ApiRefusal
from matchmaker.args import TextParameters
from matchmaker.services.errors import FieldError

FormT = TypeVar("FormT", bound=FlaskForm)
Scalar = (str, int, float)


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiRefusal(422, _("本文は JSON のオブジェクトで送ってください。"))
    return body


def _as_form_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def checked_form(form_class: type[FormT], body: Mapping[str, Any], names: Iterable[str],
                 stored: Mapping[str, Any] | None = None, **form_kwargs: Any) -> FormT:
    """``form_class`` filled from ``body`` over ``stored`` and validated; 422 with every field's messages."""
    names = tuple(names)
    errors: dict[str, list[str]] = {}
    for name, value in body.items():
        if name not in names:
            errors[name] = [_("この項目はありません。")]
    form = form_class(formdata=MultiDict(), meta={"csrf": False}, **form_kwargs)
    for name, value in body.items():
        if name not in names:
            continue
        multiple = isinstance(form[name], SelectMultipleField)
        if multiple and not (isinstance(value, list) and all(isinstance(v, Scalar) and not isinstance(v, bool)
                                                             for v in value)):
            errors[name] = [_("値の一覧（配列）で送ってください。")]
        elif not multiple and value is not None and (isinstance(value, bool) or not isinstance(value, Scalar)):
            errors[name] = [_("文字列か数値で送ってください。")]
    values = {**(stored or {}), **{name: value for name, value in body.items() if name not in errors}}
    # TextParameters drops NUL characters, as from every page's form (PostgreSQL cannot store them)
    data = TextParameters([(name, item) for name in names for item in _as_form_values(values.get(name))])
    form = form_class(formdata=data, meta={"csrf": False}, **form_kwargs)
    if not form.validate() or errors:
        for name, messages in form.errors.items():
            errors.setdefault(str(name), [str(m) for m in messages])
        raise ApiRefusal(422, errors=errors)
    return form


def refuse_field(error: FieldError) -> ApiRefusal:
    """A rule only the service could check, on its field (as put_on_form does on the page)."""
    return ApiRefusal(422, errors={error.field: [str(error.message)]})
