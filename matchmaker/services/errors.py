"""Errors a service raises for rules that only it can check."""

from __future__ import annotations

from typing import Any


class FieldError(Exception):
    """A rule broken by one form field: the view puts ``message`` on ``field``."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def put_on_form(form: Any, error: FieldError) -> None:
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors = list(field.errors) + [error.message]
    else:
        form.form_errors.append(error.message)
