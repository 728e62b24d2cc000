"""Background work that must not make a web request wait (re-embedding, mail delivery, daily runs).

Services queue jobs on the database session; they are handed to the runner only after the
transaction commits, so a job never sees uncommitted or rolled-back rows. Three runners:

- ``thread`` (the embedded default): one background thread in each process.
- ``rq``: a Redis queue (RQ) served by ``flask worker``; chosen when ``REDIS_URL`` is set. Jobs
  outlive the web process that queued them.
- ``eager``: run at once, inline (tests, scripts).

Work that is cheaper in bulk (re-embedding) is queued as an item of a batch job
(``after_commit_batch``): items queued before a runner takes them up are handed to one call of the
job's function. The ``thread`` runner keeps one growing batch per function until its thread is
free; an ``rq`` worker that starts a batch job first claims the same function's jobs still waiting
in Redis (``LREM`` decides which worker owns each, so none runs twice), up to ``MAX_BATCH`` items.

No job is the only record of the work it does. Vectors are keyed by the hash of their text, so a
job lost with a dead process is found again by the sweep every process and worker runs at start
(`matchmaker.services.vectors.sync_all_vectors`); pending mail stays pending in the outbox.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

log = logging.getLogger(__name__)

Job = tuple[str, Callable[..., Any], tuple[Any, ...]]
MODES = ("thread", "eager", "rq")
QUEUE_NAME = "matchmaker"
MAX_BATCH = 256  # items per batch call: bounds its memory and the wait of the last item


class JobRunner:
    def __init__(self, app: Flask, mode: str = "thread") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown JOB_RUNNER {mode!r}: use one of {', '.join(MODES)}")
        if mode == "rq" and not app.config.get("REDIS_URL"):
            raise ValueError("JOB_RUNNER 'rq' needs REDIS_URL")
        self.app = app
        self.mode = mode
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[Any]] = {}
        self._batches: dict[str, tuple[Callable[..., Any], dict[Any, None]]] = {}
        self._lock = threading.Lock()
        self._queue: Any = None

    def submit(self, key: str, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Run ``fn(*args)`` in its own app context; a job already waiting under ``key`` is not queued twice."""
        if self.mode == "eager":
            self._run(fn, args)
            return None
        if self.mode == "rq":
            self._enqueue(key, run_job, (job_path(fn), *args))
            return None
        with self._lock:
            waiting = self._pending.get(key)
            if waiting is not None and not waiting.running() and not waiting.done():
                return waiting
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
            future = self._executor.submit(self._run, fn, args)
            self._pending[key] = future
            return future

    def submit_batch(self, fn: Callable[[list[Any]], Any], items: list[Any]) -> Future[Any] | None:
        """Run ``fn(items)``, together with the items of other waiting batches of ``fn``.

        Items are hashable and each is handed over once per batch (duplicates are dropped).
        """
        items = list(dict.fromkeys(items))
        if not items:
            return None
        path = job_path(fn)
        if self.mode == "eager":
            for start in range(0, len(items), MAX_BATCH):
                self._run(fn, (items[start:start + MAX_BATCH],))
            return None
        if self.mode == "rq":
            for start in range(0, len(items), MAX_BATCH):
                self._enqueue(f"batch:{path}", run_batch_job, (path, items[start:start + MAX_BATCH]))
            return None
        key = f"batch:{path}"
        with self._lock:
            # Add first, then look at the waiting drain: it takes the items under this lock, so
            # a drain that starts meanwhile still sees them.
            self._batches.setdefault(path, (fn, {}))[1].update(dict.fromkeys(items))
            waiting = self._pending.get(key)
            if waiting is not None and not waiting.running() and not waiting.done():
                return waiting
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
            future = self._executor.submit(self._drain, path)
            self._pending[key] = future
            return future

    def _drain(self, path: str) -> None:
        while True:
            with self._lock:  # take one call's items; the rest waits, in front of what arrives later
                fn, waiting = self._batches.pop(path, (None, {}))
                if fn is None or not waiting:
                    return
                items = list(waiting)
                if len(items) > MAX_BATCH:
                    self._batches[path] = (fn, dict.fromkeys(items[MAX_BATCH:]))
                    items = items[:MAX_BATCH]
            self._run(fn, (items,))

    def queue(self) -> Any:
        """The RQ queue (``rq`` mode)."""
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            self._queue = Queue(QUEUE_NAME, connection=Redis.from_url(self.app.config["REDIS_URL"]))
        return self._queue

    def _enqueue(self, key: str, entry: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self.queue().enqueue_call(entry, args=args, description=key,
                                      result_ttl=300, failure_ttl=7 * 24 * 3600)
        except Exception:  # Redis unreachable: the work is found again by the next sweep
            log.exception("could not queue %s; the next sweep will redo it", key)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        with self.app.app_context():
            try:
                fn(*args)
            except Exception:  # a failed job is logged; the next save or sweep retries it
                log.exception("job %s%r failed", getattr(fn, "__name__", fn), args)
                from models import db

                db.session.rollback()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job queued in this process has finished (thread mode; CLI and tests)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.result(timeout=timeout)


def job_path(fn: Callable[..., Any]) -> str:
    """``module:qualname`` of a module-level function, as a worker process imports it."""
    path = f"{fn.__module__}:{fn.__qualname__}"
    if "<" in fn.__qualname__:
        raise ValueError(f"{path} is not importable; queue a module-level function")
    return path


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


_worker_app: Flask | None = None


def _worker() -> Flask:
    """The app of this RQ worker process, made on its first job."""
    global _worker_app
    if _worker_app is None:
        from matchmaker import create_app

        _worker_app = create_app()
    return _worker_app


def run_job(path: str, *args: Any) -> None:
    """What an RQ worker executes: the job's function inside the worker's app context."""
    app = _worker()
    fn = _resolve(path)
    with app.app_context():
        from models import db

        try:
            fn(*args)
        finally:
            db.session.remove()


def run_batch_job(path: str, items: list[Any]) -> None:
    """What an RQ worker executes for a batch job: ``fn(items + the items it claims)``."""
    runner: JobRunner = _worker().extensions["jobs"]
    batch = list(dict.fromkeys([*items, *claim_waiting(runner.queue(), path, MAX_BATCH - len(items))]))
    run_job(path, batch)


def claim_waiting(queue: Any, path: str, limit: int) -> list[Any]:
    """Take the items of ``path``'s batch jobs still waiting in ``queue``, up to ``limit`` items.

    A job is claimed by removing it from the queue: Redis ``LREM`` removes it for one caller only,
    so a job is run by exactly one worker. A claimed job is deleted; if this worker dies before it
    writes, the start-up sweep finds the work again.
    """
    from rq.job import Job as RQJob

    claimed: list[Any] = []
    if limit <= 0:
        return claimed
    ids = queue.get_job_ids(0, 4 * MAX_BATCH)
    for job_id, job in zip(ids, RQJob.fetch_many(ids, connection=queue.connection)):  # one round trip
        if len(claimed) >= limit:
            break
        if job is None:
            continue
        if job.func_name != f"{__name__}.run_batch_job" or len(job.args) != 2 or job.args[0] != path:
            continue
        if job.args[1] and len(claimed) + len(job.args[1]) > limit:
            break
        if queue.remove(job_id):
            claimed.extend(job.args[1])
            job.delete(remove_from_queue=False)
    return claimed


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Serve the Redis queue in this process (``flask worker``): sweep first, then work jobs.

    Jobs run in this process (no fork per job), so the encoder loads once.
    """
    global _worker_app
    from rq import SimpleWorker

    from matchmaker.services.vectors import sync_all_vectors

    _worker_app = app
    runner: JobRunner = app.extensions["jobs"]
    queue = runner.queue()
    with app.app_context():
        sync_all_vectors()
    if not burst and app.config["DAILY_JOBS"]:
        from matchmaker.schedule import start_daily_schedule

        start_daily_schedule(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, logging_level="INFO")


def after_commit(session: Session | scoped_session[Any], key: str, fn: Callable[..., Any], *args: Any) -> None:
    """Queue a job to run once ``session`` commits; dropped on rollback."""
    session.info.setdefault("jobs_after_commit", {})[key] = (key, fn, args)


def after_commit_batch(session: Session | scoped_session[Any], fn: Callable[[list[Any]], Any], item: Any) -> None:
    """Queue ``item`` for the batch job ``fn(items)`` once ``session`` commits; dropped on rollback."""
    batches = session.info.setdefault("batches_after_commit", {})
    batches.setdefault(job_path(fn), (fn, {}))[1][item] = None


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    jobs: dict[str, Job] = session.info.pop("jobs_after_commit", {})
    batches: dict[str, tuple[Callable[[list[Any]], Any], dict[Any, None]]] = session.info.pop(
        "batches_after_commit", {})
    if not jobs and not batches:
        return
    runner: JobRunner = current_app.extensions["jobs"]
    for key, fn, args in jobs.values():
        runner.submit(key, fn, *args)
    for fn, items in batches.values():
        runner.submit_batch(fn, list(items))


@event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction drops its queued jobs; a rolled-back SAVEPOINT does not."""
    if previous_transaction.parent is None:
        session.info.pop("jobs_after_commit", None)
        session.info.pop("batches_after_commit", None)
