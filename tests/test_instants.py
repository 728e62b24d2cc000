"""Instants keep their meaning on every backend: stored in UTC, read back time-zone aware."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from models import Challenge
from tests import factories


def test_a_japan_time_instant_reads_back_as_the_same_instant(db) -> None:
    jst = ZoneInfo("Asia/Tokyo")
    challenge = factories.make_challenge(factories.make_municipality())
    challenge.published_at = datetime(2026, 11, 20, 10, 0, tzinfo=jst)
    db.session.commit()
    challenge_id = challenge.id
    db.session.expunge_all()

    stored = db.session.scalar(select(Challenge).where(Challenge.id == challenge_id))
    assert stored.published_at.tzinfo is not None
    assert stored.published_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    raw = db.session.execute(text("SELECT published_at FROM challenge WHERE id = :id"), {"id": challenge_id}).scalar()
    assert "01:00" in str(raw)  # UTC on disk, whatever the backend
