"""The daily notification run inside the site (the embedded default has no cron)."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from matchmaker import create_app
from matchmaker.schedule import run_daily, run_daily_once
from matchmaker.services.challenges import local_today
from models import DeliveryMark, Notification, db
from tests.conftest import base_config
from tests.pipeline_factories import make_match, make_pair, make_pilot

JST = ZoneInfo("Asia/Tokyo")


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
                       "JOB_RUNNER": "thread", "EMBED_ON_START": False, "DAILY_JOBS": True,
                       "DAILY_RUN_AT": "00:00"})  # due whenever the test runs
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


def test_the_day_s_run_happens_once_and_is_not_due_before_its_hour(app, db, tmp_path) -> None:
    _pilot_ending_tomorrow()
    first = run_daily_once()
    assert first is not None and first["deadline_reminders"] == 1
    assert run_daily_once() is None  # done today, by this or any other process
    early = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                        "JOB_RUNNER": "thread", "EMBED_ON_START": False, "DAILY_JOBS": True,
                        "DAILY_RUN_AT": "23:59:59.999999", "SCHEDULE_TICK_SECONDS": 0.05})
    try:
        db.session.query(DeliveryMark).delete()
        db.session.commit()
        assert early.test_client().get("/").status_code == 200
        time.sleep(0.5)  # several ticks
        early.extensions["jobs"].wait(timeout=30)
        db.session.rollback()
        assert db.session.scalar(select(func.count(DeliveryMark.id)).where(DeliveryMark.key.like("daily-run:%"))) == 0
    finally:
        early.extensions["daily_schedule_stop"].set()
        with early.app_context():
            db.engine.dispose()
