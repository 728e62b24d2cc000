"""The main list pages (and the API's case list and open-data files) ask the database a fixed
number of questions, however many rows they show: a relation read row by row in a loop (N+1)
makes the count grow with the rows and fails here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests import factories
from tests.pipeline_factories import make_match

PAGES = ["/", "/challenges", "/challenges?q=高齢者", "/matches/cases", "/challenges/{first}",
         # the API's case list and the open-data files read every case's pilot KPIs and every challenge's
         # municipality too
         "/api/v1/cases", "/api/v1/open-data/cases.csv", "/api/v1/open-data/cases.json",
         "/api/v1/open-data/challenges.csv", "/api/v1/open-data/challenges.json"]


@contextmanager
def counted(db) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _add_rows(db, n: int) -> int:
    """``n`` published challenges of ``n`` municipalities sharing a domain, each with an adopted case."""
    first = 0
    for _ in range(n):
        challenge = factories.make_challenge(domains=["frailty"])
        make_match(challenge=challenge, solution=factories.make_solution(domains=["frailty"]), stage="adopted")
        first = first or challenge.id
    db.session.commit()
    return first


def _count(client, db, path: str) -> int:
    client.get(path)  # the first visit builds the per-process search and ranking indexes
    with counted(db) as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("page", PAGES)
def test_list_pages_ask_as_many_queries_for_eight_rows_as_for_two(client, db, page):
    first = _add_rows(db, 2)
    path = page.format(first=first)
    few = _count(client, db, path)
    _add_rows(db, 6)
    many = _count(client, db, path)
    assert many == few, f"{path}: {few} queries with 2 rows, {many} with 8"
