"""Exact nearest-neighbour search over normalised vectors (enough up to ~300k profiles)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hit:
    """One search result: the corpus row (or the id given for it) and its score."""

    id: int
    score: float


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the indices of the ``k`` largest scores, best first; ties go to the lower index.

    Args:
        scores: 1-d array of scores.
        k: How many to return; clipped to ``len(scores)``.

    Returns:
        An int64 array of at most ``k`` indices.
    """
    n = scores.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
        # Include every index tied with the k-th score so the stable sort below picks the lowest.
        kth = scores[part].min()
        part = np.flatnonzero(scores >= kth)
    else:
        part = np.arange(n)
    order = np.lexsort((part, -scores[part]))
    return part[order][:k].astype(np.int64)


def semantic_search(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    top_k: int = 10,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 50_000,
    corpus_ids: Sequence[int] | None = None,
) -> list[list[Hit]]:
    """Find the ``top_k`` corpus rows with the highest dot product for every query row.

    Chunking bounds memory at ``query_chunk_size × corpus_chunk_size`` scores; the results do not
    depend on the chunk sizes. With L2-normalised inputs the score is the cosine similarity.

    Args:
        query_embeddings: (q, dim) array.
        corpus_embeddings: (n, dim) array.
        top_k: Hits per query (fewer if the corpus is smaller).
        query_chunk_size: Queries scored at once.
        corpus_chunk_size: Corpus rows scored at once.
        corpus_ids: Ids to report instead of row numbers.

    Returns:
        One list of hits per query, best first; equal scores are ordered by row number.
    """
    queries = np.atleast_2d(np.asarray(query_embeddings, dtype=np.float32))
    corpus = np.atleast_2d(np.asarray(corpus_embeddings, dtype=np.float32))
    if queries.shape[1] != corpus.shape[1]:
        raise ValueError(f"dimension mismatch: {queries.shape[1]} vs {corpus.shape[1]}")
    if query_chunk_size < 1 or corpus_chunk_size < 1:
        raise ValueError("chunk sizes must be positive")
    n = corpus.shape[0]
    ids = np.arange(n) if corpus_ids is None else np.asarray(corpus_ids)
    if ids.shape[0] != n:
        raise ValueError("corpus_ids must have one id per corpus row")
    results: list[list[Hit]] = []
    for q0 in range(0, queries.shape[0], query_chunk_size):
        q_block = queries[q0 : q0 + query_chunk_size]
        best_scores = np.empty((q_block.shape[0], 0), dtype=np.float32)
        best_rows = np.empty((q_block.shape[0], 0), dtype=np.int64)
        for c0 in range(0, n, corpus_chunk_size):
            block = q_block @ corpus[c0 : c0 + corpus_chunk_size].T
            best_scores = np.hstack([best_scores, block])
            best_rows = np.hstack([best_rows, np.broadcast_to(
                np.arange(c0, c0 + block.shape[1]), block.shape)])
            if best_scores.shape[1] > top_k:
                keep = np.vstack([_top_of_row(s, r, top_k) for s, r in zip(best_scores, best_rows)])
                best_scores = np.take_along_axis(best_scores, keep, axis=1)
                best_rows = np.take_along_axis(best_rows, keep, axis=1)
        for scores, rows in zip(best_scores, best_rows):
            order = np.lexsort((rows, -scores))[:top_k]
            results.append([Hit(int(ids[rows[i]]), float(scores[i])) for i in order])
    return results


def _top_of_row(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best (score desc, row asc) entries of one row, for merging chunks."""
    order = np.lexsort((rows, -scores))
    return order[:k]
