"""Sounding: opening it, booking slots (entry deadline, capacity, one per company), the privacy of
dialogue notes, and the public results summary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.services import sounding as sounding_service
from matchmaker.services.errors import FieldError
from models import DialogueNote, Match, Sounding, SoundingBooking
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import (
    make_booking,
    make_match,
    make_pair,
    make_solution,
    make_sounding,
    make_user,
    switch_user,
)

NOTE = "非公開メモ：当社は独自の欠席予測モデル（特許出願中）を使う"


def test_open_a_sounding_through_the_page(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.owner)
    start = date.today() + timedelta(days=30)
    page = post_page(client, "matches.new_sounding", {
        "title": "通いの場に関する対話", "description": "事業化の条件を伺います。", "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=3)).isoformat(), "entry_deadline": (start - timedelta(days=7)).isoformat(),
    }, challenge_id=pair.challenge.id)
    sounding = db.session.scalars(select(Sounding)).one()
    assert page.find("h1").get_text() == "通いの場に関する対話"
    post_page(client, "matches.add_slot", {"slot-day": start.isoformat(), "slot-start": "10:00", "slot-end": "11:00",
                                           "slot-place": "オンライン", "slot-capacity": "1"}, sounding_id=sounding.id)
    assert len(sounding.slots) == 1
    page = get_page(client, "matches.sounding", sounding_id=sounding.id)
    assert "10:00〜11:00" in page.find(id="slots").get_text()


@pytest.mark.parametrize("who", ["company", "other_municipality"])
def test_only_the_owner_side_opens_a_sounding(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair = make_pair()
    login_as(pair.company_user if who == "company" else make_user("municipal"))
    get_page(client, "matches.new_sounding", expected_status=403, challenge_id=pair.challenge.id)


def test_booking_moves_the_match_to_sounding(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge)
    db.session.commit()
    login_as(pair.company_user)
    page = post_page(client, "matches.book_slot", {"book-slot_id": sounding.slots[0].id,
                                                   "book-solution_id": pair.solution.id}, sounding_id=sounding.id)
    assert page.find("h1").get_text().startswith("個別対話")
    match = db.session.scalars(select(Match)).one()
    assert (match.stage, match.origin) == ("sounding", "sounding")
    assert [e.to_stage for e in match.events if e.kind == "stage"] == ["sounding"]


def test_booking_after_the_entry_deadline_is_refused(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, entry_deadline=date.today() - timedelta(days=1))
    db.session.commit()
    with pytest.raises(FieldError) as refused:
        sounding_service.book(sounding, sounding.slots[0], pair.solution, pair.company_user)
    assert "締切" in str(refused.value)
    db.session.rollback()
    login_as(pair.company_user)
    page = get_page(client, "matches.sounding", sounding_id=sounding.id)
    assert page.find(id="book-form") is None
    post_page(client, "matches.book_slot", {"book-slot_id": sounding.slots[0].id, "book-solution_id": pair.solution.id},
              sounding_id=sounding.id)
    assert db.session.scalar(select(func.count()).select_from(SoundingBooking)) == 0


def test_a_full_slot_is_refused(db: Any) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, slots=1)
    sounding_service.book(sounding, sounding.slots[0], pair.solution, pair.company_user)
    db.session.commit()
    other = make_user("company")
    with pytest.raises(FieldError) as refused:
        sounding_service.book(sounding, sounding.slots[0], make_solution(other.organisation), other)
    assert "満席" in str(refused.value)


def test_one_booking_per_company(db: Any) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, slots=2)
    sounding_service.book(sounding, sounding.slots[0], pair.solution, pair.company_user)
    with pytest.raises(FieldError):
        sounding_service.book(sounding, sounding.slots[1], pair.solution, pair.company_user)


def test_the_database_refuses_a_second_seat_holder(db: Any) -> None:
    pair = make_pair()
    sounding = make_sounding(pair.challenge, slots=1)
    make_booking(sounding, sounding.slots[0], make_match(pair.challenge, pair.solution, stage="sounding"))
    db.session.commit()
    other_match = make_match(pair.challenge, make_solution())
    with pytest.raises(IntegrityError):
        make_booking(sounding, sounding.slots[0], other_match, seat=1)
    db.session.rollback()


def _dialogue(db: Any) -> tuple[Any, SoundingBooking]:
    pair = make_pair()
    sounding = make_sounding(pair.challenge)
    booking = sounding_service.book(sounding, sounding.slots[0], pair.solution, pair.company_user)
    sounding_service.add_note(booking, pair.owner, NOTE)
    db.session.commit()
    return pair, booking


@pytest.mark.parametrize(("who", "status"), [
    ("company", 200), ("owner", 200), ("coordinator", 200), ("admin", 200),
    ("other_company", 404), ("other_municipality", 404),
])
def test_dialogue_notes_are_private(db: Any, client: Any, login_as: Any, who: str, status: int) -> None:
    pair, booking = _dialogue(db)
    user = {"company": pair.company_user, "owner": pair.owner}.get(who) or make_user(
        {"other_company": "company", "other_municipality": "municipal"}.get(who, who))
    login_as(user)
    response = client.get(url_for("matches.booking", booking_id=booking.id))
    assert response.status_code == status
    assert (NOTE in response.get_data(as_text=True)) is (status == 200)
    # Nor through any other page this reader can open.
    for endpoint, values in (("matches.sounding", {"sounding_id": booking.sounding_id}),
                             ("matches.match", {"match_id": booking.match_id}),
                             ("public.challenge", {"challenge_id": pair.challenge.id})):
        html = client.get(url_for(endpoint, **values)).get_data(as_text=True)
        if status != 200:
            assert NOTE not in html, endpoint


def test_another_company_cannot_add_a_note(db: Any, client: Any, login_as: Any) -> None:
    _pair, booking = _dialogue(db)
    login_as("company")
    post_page(client, "matches.booking", {"body": "割り込み"}, expected_status=404, booking_id=booking.id)
    assert db.session.scalar(select(func.count()).select_from(DialogueNote)) == 1


def test_anonymous_is_sent_to_login(db: Any, client: Any) -> None:
    _pair, booking = _dialogue(db)
    response = client.get(url_for("matches.booking", booking_id=booking.id))
    assert response.status_code == 302 and "/auth/login" in response.location


def test_other_companies_do_not_see_who_booked(db: Any, client: Any, login_as: Any) -> None:
    pair, booking = _dialogue(db)
    login_as("company")
    page = get_page(client, "matches.sounding", sounding_id=booking.sounding_id)
    assert pair.company.name not in page_text(page)
    switch_user(login_as, pair.owner)
    page = get_page(client, "matches.sounding", sounding_id=booking.sounding_id)
    assert pair.company.name in page.find(id="slots").get_text()


def test_results_summary_is_public(db: Any, client: Any, login_as: Any) -> None:
    pair, booking = _dialogue(db)
    login_as(pair.owner)
    post_page(client, "matches.sounding_results", {"summary": "6社と対話し、参加記録の電子化に高い関心が示された。"},
              sounding_id=booking.sounding_id)
    g_client = client.application.test_client()
    from flask import g

    g.pop("_login_user", None)
    page = get_page(g_client, "public.challenge", challenge_id=pair.challenge.id)
    results = page.find(id="sounding-results")
    assert results is not None and "6社と対話し" in results.get_text()
    assert pair.company.name not in page_text(page) and NOTE not in page_text(page)


def test_only_the_owner_side_publishes_results(db: Any, client: Any, login_as: Any) -> None:
    pair, booking = _dialogue(db)
    login_as(pair.company_user)
    post_page(client, "matches.sounding_results", {"summary": "x"}, expected_status=403,
              sounding_id=booking.sounding_id)
