"""Races between concurrent users, turned into ordinary outcomes.

Two requests may pass a service's own check ("no open proposal yet") at the same moment; the
database's unique constraint then refuses the second write. A service writes such a row inside
``savepoint()``: the refused write is rolled back alone (the transaction stays usable) and
``Conflict`` is raised, a ``FieldError`` carrying the refusal a user would have got had the requests
come one after the other. A service for which the second request is simply the same request again
(a double click, both sides acting at once) catches ``Conflict`` and reads the winner's row instead.

Every constraint concurrent users can hit is named in ``REFUSALS``, with its message: one place.
An IntegrityError of any other constraint is a bug, not a race, and still surfaces as one.

Where the rule is a count rather than a key (the seats of a sounding slot), ``lock`` serialises the
requests on a row (SELECT … FOR UPDATE on PostgreSQL). SQLite needs no row locks: a request that
writes takes the database's write lock when its transaction begins (see matchmaker/transactions.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Index, UniqueConstraint, inspect
from sqlalchemy.exc import IntegrityError

from matchmaker.services.errors import FieldError
from models import db

FORM = "__form__"
T = TypeVar("T")

# constraint name → (form field, the refusal the losing request shows)
REFUSALS: dict[str, tuple[str, Any]] = {
    "uq_proposal_open_per_company": (FORM, _l("この課題には既に貴社の提案が提出されています。内容を変える場合は、先に提出済みの提案を取り下げてください。")),
    "uq_match_pair": (FORM, _l("この組み合わせは既にやり取りが始まっています。")),
    "uq_sounding_booking_company": (FORM, _l("貴社はこのサウンディングの枠を既に予約しています。")),
    "uq_sounding_booking_seat": ("slot_id", _l("この枠は満席です。別の枠を選んでください。")),
    "uq_question_asked_once": ("body", _l("同じ質問は既に送信されています。")),
    "uq_user_account_email": ("email", _l("このメールアドレスは既に登録されています。")),
    "uq_organisation_name": ("organisation_name", _l("同じ名前の組織がちょうど登録されました。もう一度送信してください。")),
    "uq_organisation_lg_code": ("lg_code", _l("この団体コードは別の名前で登録されています。")),
    "uq_fiscal_calendar_organisation_id": (FORM, _l("ほぼ同時に別の方が予算カレンダーを保存しました。内容を確かめて、もう一度保存してください。")),
    "uq_contract_limit_organisation_id": (FORM, _l("ほぼ同時に別の方が少額随意契約の限度額を保存しました。内容を確かめて、もう一度保存してください。")),
    "uq_delivery_mark_key": (FORM, _l("この通知は既に送信済みです。")),
    "uq_disclosure_inquiry_open": ("organisation_id", _l("この記録について、この事業者への意見照会が既に進行中です。照会の一覧から開いてください。")),
    "uq_selection_record_challenge_id": (FORM, _l("この課題の選定の記録は既に確定しています。確定した記録は変更できません。")),
}


def refusal(constraint: str) -> FieldError:
    """The refusal of REFUSALS, for the service's own check before it writes."""
    field, message = REFUSALS[constraint]
    return FieldError(field, message)


class Conflict(FieldError):
    """A write refused because a concurrent request wrote the same key first."""

    def __init__(self, constraint: str) -> None:
        field, message = REFUSALS[constraint]
        super().__init__(field, message)
        self.constraint = constraint


def _sqlite_keys() -> dict[str, str]:
    """SQLite names the columns, not the constraint ("UNIQUE constraint failed: t.a, t.b"): map
    each unique constraint's and unique index's columns back to its name."""
    keys: dict[str, str] = {}
    for table in db.metadata.tables.values():
        candidates: list[Any] = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        candidates += [i for i in table.indexes if isinstance(i, Index) and i.unique]
        for item in candidates:
            keys[", ".join(f"{table.name}.{column.name}" for column in item.columns)] = str(item.name)
    return keys


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)$")


def constraint_of(error: IntegrityError) -> str | None:
    """The name of the constraint that refused a write, on PostgreSQL and SQLite."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return str(diag.constraint_name)
    found = _SQLITE_UNIQUE.search(str(error.orig))
    if found:
        return _sqlite_keys().get(found.group(1).strip())
    return None


@contextmanager
def savepoint() -> Iterator[None]:
    """Run a write in a SAVEPOINT; a race on a constraint of REFUSALS raises ``Conflict``."""
    try:
        with db.session.begin_nested():
            yield
    except IntegrityError as error:
        name = constraint_of(error)
        if name not in REFUSALS:
            raise
        raise Conflict(name) from error


def lock(row: T) -> T:
    """Hold ``row``'s lock until the transaction ends, and read it afresh: a concurrent request
    doing the same waits here, then sees what this one wrote. Call it before changing the row.

    Not ``session.refresh``: it repeats the row's own loader options, and FOR UPDATE cannot lock
    the outer join of one that came with its organisation (``auth.viewable_or_404``)."""
    state = inspect(row)
    assert state is not None and state.identity is not None
    locked = db.session.get(type(row), state.identity, with_for_update=True, populate_existing=True)
    assert locked is row
    return row
