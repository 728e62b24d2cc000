"""Concurrent users: the same form posted by many users at the same moment, through the real views,
each request in its own thread with its own app context, session and database connection.

Every race must end as an ordinary outcome: one row where the rules allow one, every other request the
normal refusal on the form (200) or an idempotent success (302), never a 500. A barrier releases the
threads together, and a second barrier inside the request (after the service's own check, before the
write) holds them until all have checked, so the race is real rather than lucky; where the request
serialises them (SQLite, or a row lock) the inner barrier times out and they go on one by one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from matchmaker.services import matches as match_service
from matchmaker.services import proposals as proposal_service
from matchmaker.services import qa
from matchmaker.services import sounding as sounding_service
from models import AuditEvent, Match, MatchEvent, Pilot, Proposal, Question, SoundingBooking, User
from tests.pipeline_factories import (
    make_company,
    make_match,
    make_pair,
    make_proposal,
    make_solution,
    make_sounding,
    make_user,
)

THREADS = 12
PATIENCE = 1.5  # seconds the inner barrier waits for the others before letting a thread go on


class Outcome:
    def __init__(self, status: int, text: str, location: str) -> None:
        self.status, self.text, self.location = status, text, location


def _client_as(app: Flask, user: User | None) -> FlaskClient:
    client = FlaskClient(app, app.response_class, use_cookies=True)
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


def race(app: Flask, users: list[User | None], send: Callable[[int, FlaskClient], Any]) -> list[Outcome]:
    """Post from one client per user at once; each response as status, text and redirect target."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash answers 500, as under a real server
    clients = [_client_as(app, user) for user in users]
    start = threading.Barrier(len(users))
    outcomes: list[Outcome | None] = [None] * len(users)

    def run(i: int) -> None:
        start.wait(timeout=30)
        response = send(i, clients[i])
        outcomes[i] = Outcome(response.status_code, response.get_data(as_text=True),
                              response.headers.get("Location", ""))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(o is not None for o in outcomes), "a request did not finish"
    return [o for o in outcomes if o is not None]


@contextmanager
def held_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, parties: int) -> Iterator[None]:
    """Make ``owner.name`` wait (up to PATIENCE) until ``parties`` threads have called it."""
    original = getattr(owner, name)
    gate = threading.Barrier(parties)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        try:
            gate.wait(timeout=PATIENCE)
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(owner, name, waiting)
    yield


def statuses(outcomes: list[Outcome]) -> Counter[int]:
    return Counter(o.status for o in outcomes)


def _committed(db: Any) -> None:
    db.session.commit()
    db.session.expire_all()


def _count(db: Any, model: Any, *where: Any) -> int:
    db.session.rollback()  # a fresh snapshot: the threads committed after ours began
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- proposals ---------------------------------------------------------------------------------


def test_one_company_proposing_from_twelve_sessions_gets_one_proposal(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    staff = [pair.company_user] + [make_user("company", organisation=pair.company) for _ in range(THREADS - 1)]
    _committed(db)
    form = {"solution_id": pair.solution.id, "title": "参加記録アプリによる見守り", "approach": "QRコードで出欠を記録する。",
            "schedule": "5〜8月に実証", "cost_estimate": "150万", "needs_from_municipality": "会場の紹介"}
    url = f"/matches/challenges/{pair.challenge.id}/propose"
    with held_after(monkeypatch, proposal_service, "open_proposal_of", THREADS):
        outcomes = race(app, list(staff), lambda i, client: client.post(url, data=form))

    assert statuses(outcomes)[500] == 0, statuses(outcomes)
    accepted = [o for o in outcomes if o.status == 302]
    refused = [o for o in outcomes if o.status == 200]
    assert len(accepted) == 1 and "/matches/proposals/" in accepted[0].location
    assert len(refused) == THREADS - 1
    assert all("既に貴社の提案が提出されています" in o.text for o in refused)
    assert _count(db, Proposal, Proposal.challenge_id == pair.challenge.id) == 1
    assert _count(db, Match) == 1


# --- matches from both sides ---------------------------------------------------------------------


def test_interest_and_invitation_at_once_make_one_match(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    company_side = [pair.company_user] + [make_user("company", organisation=pair.company) for _ in range(5)]
    owner_side = [pair.owner] + [make_user("municipal", organisation=pair.municipality) for _ in range(3)]
    owner_side += [make_user("coordinator", organisation=None) for _ in range(2)]
    _committed(db)
    form = {"challenge_id": pair.challenge.id, "solution_id": pair.solution.id}
    users: list[User | None] = [*company_side, *owner_side]
    with held_after(monkeypatch, match_service, "find_match", len(users)):
        outcomes = race(app, users, lambda i, client: client.post("/matches/act", data=form))

    assert statuses(outcomes) == Counter({302: len(users)}), statuses(outcomes)
    assert _count(db, Match) == 1
    match_id = db.session.scalars(select(Match.id)).one()
    assert {o.location for o in outcomes} == {f"/matches/{match_id}"}


# --- sounding slots ----------------------------------------------------------------------------


def _booking_setup(db: Any, companies: int, capacity: int) -> tuple[Any, list[tuple[User, int]]]:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, slots=1)
    sounding.slots[0].capacity = capacity
    bookers = [(pair.company_user, pair.solution.id)]
    for _ in range(companies - 1):
        company = make_company()
        bookers.append((make_user("company", organisation=company), make_solution(company).id))
    _committed(db)
    return sounding, bookers


def test_more_companies_than_seats_never_overbook(app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sounding, bookers = _booking_setup(db, companies=THREADS, capacity=3)
    slot_id, sounding_id = sounding.slots[0].id, sounding.id

    def send(i: int, client: FlaskClient) -> Any:
        return client.post(f"/matches/soundings/{sounding_id}/book",
                           data={"book-slot_id": slot_id, "book-solution_id": bookers[i][1]})

    with held_after(monkeypatch, sounding_service, "_seats_taken", THREADS):
        outcomes = race(app, [user for user, _ in bookers], send)

    assert statuses(outcomes)[500] == 0, statuses(outcomes)
    assert statuses(outcomes)[302] == 3
    refused = [o for o in outcomes if o.status == 200]
    assert len(refused) == THREADS - 3 and all("この枠は満席です" in o.text for o in refused)
    db.session.rollback()
    seats = db.session.scalars(select(SoundingBooking.seat).where(SoundingBooking.slot_id == slot_id)).all()
    assert sorted(seats) == [1, 2, 3]


def test_one_company_booking_two_slots_at_once_gets_one(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, slots=6)
    staff = [pair.company_user] + [make_user("company", organisation=pair.company) for _ in range(5)]
    _committed(db)
    slot_ids, sounding_id, solution_id = [s.id for s in sounding.slots], sounding.id, pair.solution.id

    def send(i: int, client: FlaskClient) -> Any:
        return client.post(f"/matches/soundings/{sounding_id}/book",
                           data={"book-slot_id": slot_ids[i], "book-solution_id": solution_id})

    with held_after(monkeypatch, sounding_service, "_seats_taken", len(staff)):
        outcomes = race(app, list(staff), send)

    assert statuses(outcomes)[500] == 0, statuses(outcomes)
    assert statuses(outcomes)[302] == 1
    refused = [o for o in outcomes if o.status == 200]
    assert len(refused) == 5 and all("既に予約しています" in o.text for o in refused)
    assert _count(db, SoundingBooking, SoundingBooking.sounding_id == sounding_id) == 1


# --- questions -----------------------------------------------------------------------------------


def test_the_same_question_posted_at_once_is_asked_once(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    staff = [pair.company_user] + [make_user("company", organisation=pair.company) for _ in range(5)]
    _committed(db)
    url = f"/matches/challenges/{pair.challenge.id}/questions"
    body = "参加者名簿のデータはどの形式で提供いただけますか。"
    with held_after(monkeypatch, qa, "accepts_questions", len(staff)):
        outcomes = race(app, list(staff), lambda i, client: client.post(url, data={"body": body}))

    assert statuses(outcomes) == Counter({302: len(staff)}), statuses(outcomes)
    assert _count(db, Question, Question.challenge_id == pair.challenge.id) == 1


# --- registration --------------------------------------------------------------------------------


def test_registering_the_same_address_at_once_makes_one_account(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from matchmaker.services import accounts

    def form(i: int) -> dict[str, Any]:
        return {"kind": "company", "organisation_name": "株式会社みまもりラボ", "prefecture": "兵庫県",
                "name": f"担当者{i}", "email": "tanto@mimamori.example.jp",
                "password": "correct horse battery", "password_again": "correct horse battery"}

    with held_after(monkeypatch, accounts, "find_user_by_email", 6):
        outcomes = race(app, [None] * 6, lambda i, client: client.post("/auth/register", data=form(i)))

    assert statuses(outcomes)[500] == 0, statuses(outcomes)
    assert statuses(outcomes)[302] == 1
    refused = [o for o in outcomes if o.status == 200]
    assert all("このメールアドレスは既に登録されています" in o.text for o in refused)
    assert _count(db, User, User.email == "tanto@mimamori.example.jp") == 1


# --- stage changes ------------------------------------------------------------------------------


def _owner_side(pair: Any) -> list[User | None]:
    return [pair.owner, *(make_user("municipal", organisation=pair.municipality) for _ in range(3)),
            *(make_user("coordinator", organisation=None) for _ in range(2))]


def test_closing_a_match_from_six_sessions_closes_it_once(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="sounding")
    users = _owner_side(pair)
    _committed(db)
    match_id = match.id
    form = {"reason": "rejected", "note": "今回は見送り"}
    with held_after(monkeypatch, Match, "can_advance", len(users)):
        outcomes = race(app, users, lambda i, client: client.post(f"/matches/{match_id}/close", data=form))

    assert statuses(outcomes) == Counter({302: len(users)}), statuses(outcomes)
    assert {o.location for o in outcomes} == {f"/matches/{match_id}"}
    assert _count(db, MatchEvent, MatchEvent.match_id == match_id, MatchEvent.to_stage == "closed") == 1


def test_planning_the_pilot_from_four_sessions_makes_one_plan(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="sounding")
    users = _owner_side(pair)[:4]
    _committed(db)
    match_id = match.id
    start = date.today() + timedelta(days=10)
    form = {"summary": "3か所の通いの場で試行する。", "starts_on": start.isoformat(),
            "ends_on": (start + timedelta(days=120)).isoformat(), "kpis-0-name": "参加率", "kpis-0-target": "12"}
    with held_after(monkeypatch, Match, "can_advance", len(users)):
        outcomes = race(app, users, lambda i, client: client.post(f"/matches/{match_id}/pilot", data=form))

    assert statuses(outcomes) == Counter({302: len(users)}), statuses(outcomes)
    assert _count(db, Pilot) == 1
    assert _count(db, MatchEvent, MatchEvent.match_id == match_id, MatchEvent.to_stage == "pilot") == 1


def test_declining_a_proposal_from_four_sessions_decides_it_once(
        app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    proposal = make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    users = _owner_side(pair)[:4]
    _committed(db)
    proposal_id, match_id = proposal.id, proposal.match_id
    with held_after(monkeypatch, Proposal, "can_decide", len(users)):
        outcomes = race(app, users, lambda i, client: client.post(
            f"/matches/proposals/{proposal_id}/decline", data={"reason": "予算の範囲を超えるため"}))

    assert statuses(outcomes) == Counter({302: len(users)}), statuses(outcomes)
    assert _count(db, AuditEvent, AuditEvent.action == "proposal.declined") == 1
    assert _count(db, MatchEvent, MatchEvent.match_id == match_id, MatchEvent.to_stage == "closed") == 1
