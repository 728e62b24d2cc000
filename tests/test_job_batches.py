"""Batch jobs (``JobRunner.submit_batch``) are cut at ``MAX_BATCH`` items per call, in every mode."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from matchmaker import jobs
from matchmaker.jobs import JobRunner

CALLS: list[list[Any]] = []


RUNNER: list[JobRunner] = []


def record(items: list[Any]) -> None:
    CALLS.append(list(items))


def record_and_save_another(items: list[Any]) -> None:
    """As ``record``; while the first call runs, another save queues item 9."""
    CALLS.append(list(items))
    if len(CALLS) == 1:
        RUNNER[0].submit_batch(record_and_save_another, [9])


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "MAX_BATCH", 2)
    CALLS.clear()
    RUNNER.clear()


def test_eager_batches_are_cut_at_max_batch(app: Flask) -> None:
    JobRunner(app, "eager").submit_batch(record, [1, 2, 3, 2, 4, 5])
    assert CALLS == [[1, 2], [3, 4], [5]]  # duplicates dropped, order kept


def test_a_thread_batch_over_max_batch_runs_in_order_with_what_arrives_meanwhile(app: Flask) -> None:
    runner = JobRunner(app, "thread")
    release = threading.Event()
    runner.submit("hold", release.wait, 60)
    runner.submit_batch(record, [1, 2, 3, 4, 5])
    runner.submit_batch(record, [5, 6])  # queued while the thread is busy: joins the same drain
    release.set()
    runner.wait(timeout=60)
    assert CALLS == [[1, 2], [3, 4], [5, 6]]


def test_the_rest_of_a_cut_batch_runs_before_items_queued_while_it_runs(app: Flask) -> None:
    runner = JobRunner(app, "thread")
    RUNNER.append(runner)
    runner.submit_batch(record_and_save_another, [1, 2, 3, 4, 5])
    runner.wait(timeout=60)
    runner.wait(timeout=60)  # and the drain queued when item 9 arrived (it finds nothing left)
    assert CALLS == [[1, 2], [3, 4], [5, 9]]
