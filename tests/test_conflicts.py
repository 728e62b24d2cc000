"""The one mechanism behind the race tests (tests/test_races.py): constraint names, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Index, UniqueConstraint, func, select

from matchmaker.services import conflicts
from matchmaker.services import proposals as proposal_service
from models import DeliveryMark, Proposal
from tests.pipeline_factories import make_match, make_pair, make_proposal


def _declared_names(db: Any) -> set[str]:
    names: set[str] = set()
    for table in db.metadata.tables.values():
        names.update(str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint))
        names.update(str(i.name) for i in table.indexes if isinstance(i, Index) and i.unique)
    return names


def test_every_refusal_names_a_declared_unique_constraint(db: Any) -> None:
    assert set(conflicts.REFUSALS) <= _declared_names(db)


def test_a_duplicate_key_becomes_its_refusal_and_the_transaction_goes_on(db: Any) -> None:
    db.session.add(DeliveryMark(key="digest:1"))
    db.session.commit()
    with pytest.raises(conflicts.Conflict) as raised, conflicts.savepoint():
        db.session.add(DeliveryMark(key="digest:1"))
        db.session.flush()
    assert raised.value.constraint == "uq_delivery_mark_key"
    db.session.add(DeliveryMark(key="digest:2"))  # the savepoint alone was rolled back
    db.session.commit()
    assert sorted(db.session.scalars(select(DeliveryMark.key))) == ["digest:1", "digest:2"]


def test_the_partial_index_is_named_on_both_backends(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's own check is skipped, as when another session's proposal was not yet committed."""
    pair = make_pair()
    make_proposal(make_match(pair.challenge, pair.solution, stage="proposal"))
    db.session.commit()
    monkeypatch.setattr(proposal_service, "open_proposal_of", lambda *_: None)
    values = {"title": "二つ目", "approach": "同じ会社から", "schedule": "5月", "cost_estimate": 1}
    with pytest.raises(conflicts.Conflict) as raised:
        proposal_service.submit(pair.challenge, pair.solution, pair.company_user, values)
    assert raised.value.constraint == "uq_proposal_open_per_company" and raised.value.field == conflicts.FORM
    assert "既に貴社の提案が提出されています" in str(raised.value.message)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


def test_a_constraint_no_race_can_hit_is_still_an_error(db: Any) -> None:
    from sqlalchemy.exc import IntegrityError

    pair = make_pair()
    with pytest.raises(IntegrityError), conflicts.savepoint():
        make_proposal(make_match(pair.challenge, pair.solution), cost_estimate=-1)
    db.session.rollback()
