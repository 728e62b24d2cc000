"""The daily notification run inside the site, for deployments without cron (the embedded default).

Every morning at 07:00 Japan time, and once when the site starts serving, the job runner sends
deadline reminders, budget-request warnings, new-challenge alerts to companies and the daily (and,
on Mondays, weekly) digests. Each step records what it sent, so a run after a restart, or a cron
job doing the same (see the README), never repeats a notification. Deployments that use cron set
``MATCHMAKER_DAILY_JOBS=off``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

log = logging.getLogger(__name__)

RUN_AT = time(7, 0)


def next_run(now: datetime, zone: ZoneInfo) -> datetime:
    """The next RUN_AT in ``zone`` strictly after ``now`` (an aware datetime)."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), RUN_AT, zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), RUN_AT, zone)
    return candidate


def run_daily() -> dict[str, int]:
    """One daily run; commits after each step so one failure does not undo the others' records."""
    from matchmaker.services.challenges import local_today
    from matchmaker.services.deadlines import send_budget_warnings, send_deadline_reminders
    from matchmaker.services.mail import send_digests
    from matchmaker.services.new_challenges import notify_new_challenges
    from models import db

    steps: list[tuple[str, Any]] = [
        ("deadline_reminders", send_deadline_reminders),
        ("budget_warnings", send_budget_warnings),
        ("new_challenges", lambda: notify_new_challenges().companies),
        ("daily_digests", lambda: send_digests("daily").mails),
    ]
    if local_today().weekday() == 0:
        steps.append(("weekly_digests", lambda: send_digests("weekly").mails))
    done: dict[str, int] = {}
    for name, step in steps:
        try:
            done[name] = int(step())
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("daily step %s failed", name)
    log.info("daily notifications: %s", done)
    return done


def start_daily_schedule(app: Flask) -> threading.Thread:
    """A daemon thread that hands run_daily to the job runner now and every day at RUN_AT."""
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    stop = app.extensions.setdefault("daily_schedule_stop", threading.Event())

    def loop() -> None:
        runner = app.extensions["jobs"]
        runner.submit("daily-notifications", run_daily)
        while not stop.is_set():
            now = datetime.now(zone)
            if stop.wait(timeout=(next_run(now, zone) - now).total_seconds()):
                return
            runner.submit("daily-notifications", run_daily)

    thread = threading.Thread(target=loop, name="daily-notifications", daemon=True)
    thread.start()
    return thread

