"""The daily notification run inside the site, for deployments without cron (the embedded default).

From 07:00 Japan time each day, the first process to look (every web process in the embedded
default, or ``flask worker`` with Redis) sends deadline reminders, budget-request warnings,
new-challenge alerts to companies and the daily (and, on Mondays, weekly) digests. However many
processes run, the day's run happens once: it holds the ``notifications`` lock
(`matchmaker.locks`), which the cron commands take too, and records the day when it has finished.
A process that dies mid-run leaves no record, so another one runs the day again; each step records
what it sent, so nothing goes out twice. Deployments that use cron set ``MATCHMAKER_DAILY_JOBS=off``.
"""

from __future__ import annotations

import logging
import threading
import time as time_module
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

log = logging.getLogger(__name__)


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


def daily_mark(day: date) -> str:
    return f"daily-run:{day.isoformat()}"


def daily_run_done(day: date) -> bool:
    from models import DeliveryMark, db

    return db.session.scalar(select(DeliveryMark.id).where(DeliveryMark.key == daily_mark(day))) is not None


def run_daily_once() -> dict[str, int] | None:
    """Today's run unless another process is running it or has done it; None when skipped."""
    from matchmaker.locks import named_lock
    from matchmaker.services.challenges import local_today
    from models import DeliveryMark, db

    day = local_today()
    with named_lock("notifications") as held:
        if not held or daily_run_done(day):
            db.session.rollback()
            return None
        done = run_daily()
        db.session.add(DeliveryMark(key=daily_mark(day)))
        db.session.commit()
        return done


def start_daily_schedule(app: Flask) -> threading.Thread:
    """A daemon thread that, every ``SCHEDULE_TICK_SECONDS``, hands the day's run to the job
    runner once it is due (from ``DAILY_RUN_AT``, 07:00) and not yet done, and re-embeds anything stale every
    ``VECTOR_SWEEP_SECONDS`` (work whose job died with a process)."""
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    stop = app.extensions.setdefault("daily_schedule_stop", threading.Event())
    run_at = time.fromisoformat(app.config["DAILY_RUN_AT"])
    tick = float(app.config["SCHEDULE_TICK_SECONDS"])
    sweep_every = float(app.config["VECTOR_SWEEP_SECONDS"])

    def loop() -> None:
        from matchmaker.services.vectors import sync_all_vectors
        from models import db

        runner = app.extensions["jobs"]
        last_sweep = time_module.monotonic()
        while True:
            try:
                with app.app_context():
                    now = datetime.now(zone)
                    if now.time() >= run_at and not daily_run_done(now.date()):
                        runner.submit("daily-notifications", run_daily_once)
                    db.session.remove()
            except Exception:  # the database may be down for a moment: look again next tick
                log.exception("daily schedule check failed")
            if time_module.monotonic() - last_sweep >= sweep_every:
                last_sweep = time_module.monotonic()
                runner.submit("sync-all", sync_all_vectors)
            if stop.wait(timeout=tick):
                return

    thread = threading.Thread(target=loop, name="daily-notifications", daemon=True)
    thread.start()
    return thread
