"""Every allowed and forbidden stage change for every role, and the CHECK constraints behind them."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchmaker.services import matches as match_service
from models import AuditEvent, InvalidMatchTransition, Match, MatchEvent
from models.match import MATCH_TRANSITIONS, STAGE_ORDER
from tests.pipeline_factories import make_match, make_pair, make_pilot, make_user

# The expected table, written out independently of models/match.py so that a change there fails here.
O, C, K = "owner", "company", "coordinator"
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("recommended", "proposal"): {C},
    ("recommended", "sounding"): {O, C, K},
    ("proposal", "sounding"): {O, C, K},
    ("proposal", "pilot"): {O, K},
    ("sounding", "pilot"): {O, K},
    ("proposal", "adopted"): {O, K},
    ("sounding", "adopted"): {O, K},
    ("pilot", "adopted"): {O, K},
    ("recommended", "closed"): {O, C, K},
    ("proposal", "closed"): {O, C, K},
    ("sounding", "closed"): {O, C, K},
    ("pilot", "closed"): {O, C, K},
}
ROLES = ("owner", "company", "coordinator", "admin", "other_municipality", "other_company", "anonymous")
ROLE_AS = {"admin": K}  # administrators act as coordinators
CASES = [(f, t, r) for f, t in itertools.product(STAGE_ORDER, STAGE_ORDER) if f != t for r in ROLES]


def test_table_is_the_expected_one() -> None:
    assert {k: set(v) for k, v in MATCH_TRANSITIONS.items()} == EXPECTED


class _Anonymous:
    is_authenticated = False
    id = None


def _actor(role: str, pair: Any) -> Any:
    if role == "owner":
        return pair.owner
    if role == "company":
        return pair.company_user
    if role in ("coordinator", "admin"):
        return make_user(role)
    if role == "other_municipality":
        return make_user("municipal")
    if role == "other_company":
        return make_user("company")
    return _Anonymous()


def _prepare(match: Match, to: str) -> None:
    """Give the match the data the target stage implies, as the real services do."""
    if to == "pilot":
        match.pilot = make_pilot()
    if to == "adopted":
        match.adopted_fiscal_year, match.procurement_route, match.adoption_amount = 2027, "tender", 1_000_000
        match.adopted_at = match_service.local_today()
    if to == "closed":
        match.close_reason = "other"


@pytest.mark.parametrize(("from_stage", "to", "role"), CASES)
def test_transition(db: Any, from_stage: str, to: str, role: str) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage=from_stage)
    actor = _actor(role, pair)
    allowed = ROLE_AS.get(role, role) in EXPECTED.get((from_stage, to), set())
    assert match.can_advance(actor, to) is allowed
    _prepare(match, to)
    if not allowed:
        with pytest.raises(match_service.MoveRefused):
            match_service.advance(match, to, actor, "テスト")
        assert match.stage == from_stage
        return
    event = match_service.advance(match, to, actor, "テスト")
    db.session.commit()
    assert match.stage == to
    assert (event.from_stage, event.to_stage, event.actor_id, event.reason) == (from_stage, to, actor.id, "テスト")
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "match.stage",
                                                      AuditEvent.object_id == match.id)).one()
    assert (row.from_state, row.to_state, row.actor_id) == (from_stage, to, actor.id)
    if to == "closed":
        assert match.closed_from == from_stage and match.closed_at is not None


def test_move_to_refuses_an_edge_that_is_not_in_the_table(db: Any) -> None:
    match = make_match(stage="adopted")
    with pytest.raises(InvalidMatchTransition):
        match.move_to("pilot", {"owner", "company", "coordinator"}, now=match_service.now_utc())


@pytest.mark.parametrize(("stage", "missing"), [
    ("pilot", {"pilot_id": None}),
    ("adopted", {"procurement_route": None}),
    ("adopted", {"adoption_amount": None}),
    ("closed", {"close_reason": None}),
    ("closed", {"close_reason": "whatever"}),
])
def test_check_constraints_back_the_stage(db: Any, stage: str, missing: dict[str, Any]) -> None:
    match = make_match(stage=stage)
    db.session.commit()
    for name, value in missing.items():
        setattr(match, name, value)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_unique_pair(db: Any) -> None:
    match = make_match()
    db.session.commit()
    db.session.add(Match(challenge_id=match.challenge_id, solution_id=match.solution_id, origin="proposal"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_advance_without_the_implied_data_is_refused_by_the_database(db: Any) -> None:
    pair = make_pair()
    match = make_match(pair.challenge, pair.solution, stage="proposal")
    db.session.commit()
    with pytest.raises(IntegrityError):
        match_service.advance(match, "pilot", pair.owner)
    db.session.rollback()
    assert db.session.scalar(select(MatchEvent).where(MatchEvent.kind == "stage")) is None
