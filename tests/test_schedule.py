"""The daily notification run inside the site (the embedded default has no cron)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from matchmaker import create_app
from matchmaker.schedule import next_run, run_daily
from matchmaker.services.challenges import local_today
from models import Notification, db
from tests.conftest import base_config
from tests.pipeline_factories import make_match, make_pair, make_pilot

JST = ZoneInfo("Asia/Tokyo")


def test_next_run_is_the_next_seven_oclock_in_japan() -> None:
    assert next_run(datetime(2026, 12, 4, 6, 59, tzinfo=JST), JST) == datetime(2026, 12, 4, 7, 0, tzinfo=JST)
    assert next_run(datetime(2026, 12, 4, 7, 0, tzinfo=JST), JST) == datetime(2026, 12, 5, 7, 0, tzinfo=JST)
    # 23:30 UTC on the 4th is 08:30 on the 5th in Japan: the next run is the 6th.
    assert next_run(datetime(2026, 12, 4, 23, 30, tzinfo=UTC), JST) == datetime(2026, 12, 6, 7, 0, tzinfo=JST)


def _pilot_ending_tomorrow():
    today = local_today()
    pair = make_pair()
    make_match(pair.challenge, pair.solution, stage="pilot",
               pilot=make_pilot(starts_on=today - timedelta(days=60), ends_on=today + timedelta(days=1)))
    db.session.commit()
    return pair


def test_a_daily_run_sends_each_reminder_once(db) -> None:
    pair = _pilot_ending_tomorrow()
    first = run_daily()
    assert first["deadline_reminders"] == 1
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "deadline.pilot_end")).all()
    assert sorted(told) == sorted([pair.owner.id, pair.company_user.id])
    assert run_daily()["deadline_reminders"] == 0


def test_the_site_runs_it_in_the_background_once_it_serves(app, db, tmp_path) -> None:
    pair = _pilot_ending_tomorrow()
    site = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                       "JOB_RUNNER": "thread", "EMBED_ON_START": False, "DAILY_JOBS": True})
    query = select(Notification.user_id).where(Notification.kind == "deadline.pilot_end")
    try:
        assert db.session.scalars(query).all() == []
        db.session.rollback()
        assert site.test_client().get("/").status_code == 200
        deadline = time.monotonic() + 60
        told: list[int] = []
        while not told and time.monotonic() < deadline:
            time.sleep(0.1)
            db.session.rollback()  # a fresh snapshot each time
            told = list(db.session.scalars(query))
    finally:
        site.extensions["daily_schedule_stop"].set()
        site.extensions["jobs"].wait(timeout=60)
        with site.app_context():  # close its pooled connections now, not whenever GC runs
            db.engine.dispose()
    assert sorted(told) == sorted([pair.owner.id, pair.company_user.id])
