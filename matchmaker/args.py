"""Reading numbers and text out of query strings and forms without trusting them.

``str.isdigit`` accepts "²" and "１２３" that ``int`` then rejects or reads, and ``int`` accepts
numbers no database column holds; a search string of 60,000 characters makes SQLite's LIKE give
up. Every page that reads an id, a page number or a search text from the request goes through
these, so a hostile or mistyped value is treated as "not given" instead of a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Request, request
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.routing import IntegerConverter

from embeddings.text import encodable

MAX_ID = 2**31 - 1  # the largest value of a 32-bit INTEGER column (PostgreSQL's integer)
MAX_PAGE = 100_000
SEARCH_LIMIT = 200
# Dates a person can mean; beyond these, adding a day overflows and nothing is recorded anyway.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def number(raw: object, limit: int = MAX_ID) -> int | None:
    """A non-negative whole number written in ASCII digits, at most ``limit``; otherwise None."""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > len(str(limit)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= limit else None


def id_arg(name: str) -> int | None:
    """An object id from the query string, or None when it is missing or cannot be an id."""
    value = number(request.args.get(name))
    return value if value else None


def page_arg() -> int:
    """The page number of a list: 1 when missing or absurd."""
    value = number(request.args.get("page"), limit=MAX_PAGE)
    return value if value else 1


def text_arg(name: str, limit: int = SEARCH_LIMIT) -> str:
    """A search text from the query string, trimmed and cut to ``limit`` characters."""
    return (request.args.get(name) or "").strip()[:limit]


def within_calendar(day: date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs: a number larger than an id column holds becomes id 0, which no row has,
    so every method of the route answers its ordinary 404 (rejecting it in the converter made
    werkzeug answer 405 to a PATCH, as if only another method's route had matched)."""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def _storable(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return encodable(value.replace("\x00", ""))


class TextParameters(ImmutableMultiDict[str, Any]):
    """Query and form values that every database can store: no NUL characters (no one types them,
    and PostgreSQL refuses to store or compare text that holds one) and no lone surrogates (a
    broken ``\\ud800`` escape in an API's JSON body; UTF-8 cannot encode one), which become U+FFFD
    as undecodable bytes in a form do. Either was a 500 on every text field otherwise."""

    def __init__(self, mapping: Any = None) -> None:
        if mapping is None:
            super().__init__()
        else:
            super().__init__([(_storable(key), _storable(value)) for key, value in iter_multi_items(mapping)])


class SiteRequest(Request):
    parameter_storage_class = TextParameters
