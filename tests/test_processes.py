"""Several processes on one database: locks, daily runs, lost jobs, the Redis queue, the shared index.

These start real processes (the `flask` command line, or Python with the app) against the test
database, on SQLite and on PostgreSQL, as a deployment with several workers or hosts does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from matchmaker import create_app
from matchmaker.locks import named_lock
from models import Challenge, DeliveryMark, Notification, OutboxMail, StoredVector, db
from tests import factories
from tests.conftest import base_config
from tests.pipeline_factories import make_notification

ROOT = Path(__file__).resolve().parent.parent


def _env(app: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATCHMAKER_", "FLASK_"))}
    env.pop("REDIS_URL", None)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], MATCHMAKER_SECRET_KEY="test-secret",
               MATCHMAKER_ENCODER="hash:64", MATCHMAKER_DAILY_JOBS="off", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _python(app: Any, code: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=_env(app, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[str]:
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(out)
    return outputs


def test_a_named_lock_is_held_by_one_holder_at_a_time(app) -> None:
    barrier = threading.Barrier(6)
    inside: list[int] = []
    overlaps: list[int] = []
    won: list[bool] = []

    def contend() -> None:
        with app.app_context():
            barrier.wait()
            with named_lock("test-lock", wait=10, poll=0.01) as held:
                won.append(held)
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                time.sleep(0.05)
                inside.pop()

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert won == [True] * 6  # each waited its turn
    assert overlaps == []


def test_a_lock_held_elsewhere_is_not_taken_without_waiting(app) -> None:
    held_elsewhere = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with app.app_context(), named_lock("busy") as held:
            assert held
            held_elsewhere.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held_elsewhere.wait(10)
    with named_lock("busy") as held:
        assert held is False
    release.set()
    holder.join(10)
    with named_lock("busy") as held:
        assert held is True


def _daily_users(n: int) -> list[Any]:
    users = [factories.make_user(role="company", notification_frequency="daily") for _ in range(n)]
    for user in users:
        make_notification(user)
        make_notification(user)
    db.session.commit()
    return users


def test_four_processes_sending_digests_at_the_same_moment_send_each_mail_once(app) -> None:
    users = _daily_users(3)
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "send-digests"],
                              cwd=ROOT, env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = _finish(procs)
    db.session.rollback()
    per_user = dict(db.session.execute(
        select(OutboxMail.user_id, func.count(OutboxMail.id)).group_by(OutboxMail.user_id)).all())
    assert per_user == {u.id: 1 for u in users}
    assert sum("daily: 3 " in out for out in outputs) == 1  # one process mailed; the others found nothing left


def test_the_daily_run_started_by_two_processes_at_once_happens_once(app) -> None:
    users = _daily_users(2)
    code = """
        from matchmaker import create_app
        from matchmaker.schedule import run_daily_once
        app = create_app()
        with app.app_context():
            print("RESULT", run_daily_once())
    """
    outputs = _finish([_python(app, code) for _ in range(2)])
    results = [line for out in outputs for line in out.splitlines() if line.startswith("RESULT")]
    assert sorted(r == "RESULT None" for r in results) == [False, True]
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutboxMail.id))) == len(users)
    assert db.session.scalar(select(func.count(DeliveryMark.id)).where(DeliveryMark.key.like("daily-run:%"))) == 1
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.emailed_at.is_(None))) == 0


def test_a_job_lost_with_its_process_is_done_when_the_site_next_starts(app, tmp_path) -> None:
    org = factories.make_municipality()
    db.session.commit()
    # The process commits a new challenge and dies (SIGKILL) the moment its job is handed over.
    code = f"""
        import os, signal
        from matchmaker import create_app
        from matchmaker.jobs import JobRunner
        from models import Organisation, db
        from tests import factories
        JobRunner.submit = lambda self, *a: os.kill(os.getpid(), signal.SIGKILL)
        JobRunner.submit_batch = JobRunner.submit
        app = create_app()
        with app.app_context():
            challenge = factories.make_challenge(db.session.get(Organisation, {org.id}))
            from matchmaker.services.vectors import schedule_reembed
            schedule_reembed(challenge)
            db.session.commit()
    """
    proc = _python(app, code, MATCHMAKER_JOB_RUNNER="thread")
    proc.communicate(timeout=120)
    assert proc.returncode == -9
    db.session.rollback()
    challenge_id = db.session.scalar(select(Challenge.id).where(Challenge.organisation_id == org.id))
    assert challenge_id is not None
    vectors = select(func.count(StoredVector.id)).where(
        StoredVector.entity_type == "challenge", StoredVector.entity_id == challenge_id)
    assert db.session.scalar(vectors) == 0

    site = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                       "JOB_RUNNER": "thread", "EMBED_ON_START": True, "DAILY_JOBS": False,
                       "MATCHMAKER_ENCODER": "hash:64"})
    try:
        assert site.test_client().get("/").status_code == 200
        site.extensions["jobs"].wait(timeout=120)
    finally:
        with site.app_context():
            db.engine.dispose()
    db.session.rollback()
    assert db.session.scalar(vectors) == 2  # its query and document slots


def test_with_redis_a_saved_challenge_is_embedded_by_the_worker(app, tmp_path, redis_url) -> None:
    from matchmaker.jobs import run_worker
    from matchmaker.services.vectors import schedule_reembed

    site = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                       "JOB_RUNNER": "rq", "REDIS_URL": redis_url, "MATCHMAKER_ENCODER": "hash:64",
                       "DAILY_JOBS": False})
    try:
        with site.app_context():
            challenge = factories.make_challenge()
            schedule_reembed(challenge)
            db.session.commit()
            challenge_id = challenge.id
            queue = site.extensions["jobs"].queue()
            assert queue.count == 1  # queued in Redis, not run in this process
            stored = select(func.count(StoredVector.id)).where(StoredVector.entity_id == challenge_id,
                                                               StoredVector.entity_type == "challenge")
            assert db.session.scalar(stored) == 0
            db.session.remove()
        run_worker(site, burst=True)
        with site.app_context():
            assert queue.count == 0
            assert db.session.scalar(stored) == 2
    finally:
        with site.app_context():
            db.engine.dispose()


def test_a_profile_saved_by_one_worker_is_ranked_by_another_within_seconds(app, tmp_path) -> None:
    from matchmaker.services.vectors import fitted_index

    config = {**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path), "INDEX_REFRESH_SECONDS": 0.2,
              "MATCHMAKER_ENCODER": "hash:64"}
    factories.make_challenge(status="published")
    factories.make_solution()
    db.session.commit()
    reader, writer = create_app(config), create_app(config)
    try:
        with reader.app_context():
            before = fitted_index()
        with writer.app_context():
            new = factories.make_solution(title="AIオンデマンド交通の配車システム")
            db.session.commit()
            new_id = new.id
        time.sleep(0.3)
        with reader.app_context():
            assert fitted_index() is before  # the change is fitted in the background, not in this request
        deadline = time.monotonic() + 10
        seen = False
        while not seen and time.monotonic() < deadline:
            time.sleep(0.1)
            with reader.app_context():
                seen = new_id in fitted_index().recommender.solution_rows_
        assert seen
    finally:
        for site in (reader, writer):
            with site.app_context():
                db.session.remove()
                db.engine.dispose()
