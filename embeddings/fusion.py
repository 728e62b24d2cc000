"""Score calibration and fusion, diversity (MMR) and the per-owner exposure cap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def zscore(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Standardise scores per query: how many spreads above this query's average candidate.

    Raw cosines of different queries and BM25 sums of different lengths are not comparable;
    z-scores are, and they keep the shape of the distribution (unlike ranks).

    Args:
        scores: Scores; each slice along ``axis`` is one query's candidates.
        axis: The candidate axis.

    Returns:
        float32 array of the same shape; a constant slice becomes zeros.
    """
    s = np.asarray(scores, dtype=np.float32)
    mean = s.mean(axis=axis, keepdims=True)
    std = s.std(axis=axis, keepdims=True)
    out: np.ndarray = np.divide(s - mean, std, out=np.zeros_like(s), where=std > 1e-9)
    return out


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis (best = 1; ties broken by position)."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(1, scores.shape[-1] + 1), axis=-1)
    return out


def rrf(channels: Mapping[str, np.ndarray], weights: Mapping[str, float], k: float = 60.0) -> np.ndarray:
    """Weighted reciprocal rank fusion: ``sum_c w_c / (k + rank_c)``.

    Args:
        channels: Channel name → scores (same shape for all).
        weights: Channel name → weight; channels without a weight are ignored.
        k: The RRF constant; larger flattens the head.

    Returns:
        Fused scores (higher is better).
    """
    out: np.ndarray | None = None
    for name, scores in channels.items():
        w = weights.get(name, 0.0)
        if w:
            part = w / (k + ranks(scores).astype(np.float32))
            out = part if out is None else out + part
    if out is None:
        raise ValueError("no channel has a weight")
    return out


def weighted_zsum(channels: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Sum of per-query z-scores, weighted per channel."""
    out: np.ndarray | None = None
    for name, scores in channels.items():
        w = weights.get(name, 0.0)
        if w:
            part = w * zscore(scores)
            out = part if out is None else out + part
    if out is None:
        raise ValueError("no channel has a weight")
    return out


def display_score(score: np.ndarray | float, center: float, scale: float) -> np.ndarray:
    """Map a pair score to 0..1 for display with a logistic curve.

    The recommender passes ``embeddings.assemble.pair_score`` and
    ``RankerConfig.display_center``/``display_scale``, fitted on both directions of the dev set
    so the number tracks the share of such pairs judged relevant there (bench/calibrate_display.py
    prints how far it holds on the held-out devset2). It is not a promise about a new corpus.
    """
    return 1.0 / (1.0 + np.exp(-scale * (np.asarray(score, dtype=np.float64) - center)))


def mmr(
    candidates: Sequence[int],
    relevance: np.ndarray,
    vectors: np.ndarray,
    k: int,
    lambda_: float = 0.8,
) -> list[int]:
    """Maximal marginal relevance: trade relevance against similarity to what is already picked.

    Args:
        candidates: Candidate positions, in relevance order.
        relevance: Relevance of each candidate (aligned with ``candidates``), any scale.
        vectors: Unit vectors of the candidates (aligned), for redundancy.
        k: How many to pick.
        lambda_: 1.0 is pure relevance; lower values diversify more.

    Returns:
        The picked candidate positions (values from ``candidates``), in pick order.
    """
    n = len(candidates)
    if n == 0 or k <= 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    spread = rel.max() - rel.min()
    rel = (rel - rel.min()) / spread if spread > 0 else np.ones_like(rel)
    sims = np.asarray(vectors, dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
    picked: list[int] = []
    max_sim = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        redundancy = np.where(np.isfinite(max_sim), max_sim, 0.0)
        gain = lambda_ * rel - (1 - lambda_) * redundancy
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, sims[best])
    return [candidates[i] for i in picked]


def cap_exposure(order: Sequence[int], owners: Sequence[str], cap: int, k: int) -> list[int]:
    """Keep the first ``k`` of ``order`` taking at most ``cap`` per owner.

    Owners beyond the cap are skipped, not pushed down, so a large vendor cannot fill a page.
    An empty owner key counts as its own unique owner. ``cap <= 0`` disables the cap.

    Args:
        order: Candidate positions, best first.
        owners: Owner key of each candidate position (indexed by the values in ``order``).
        cap: Maximum per owner.
        k: How many to keep.

    Returns:
        The kept positions, best first.
    """
    kept: list[int] = []
    seen: dict[str, int] = {}
    for pos in order:
        owner = owners[pos]
        if cap > 0 and owner:
            if seen.get(owner, 0) >= cap:
                continue
            seen[owner] = seen.get(owner, 0) + 1
        kept.append(pos)
        if len(kept) == k:
            break
    return kept
