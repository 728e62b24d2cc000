"""Ranking metrics over ranked id lists and graded relevance judgements (qrels)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, Mapping[str, int]]
RECALL_AT = (1, 5, 10, 100)


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant id within the top ``k`` (0 if none)."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with gain ``2**rel - 1`` (graded relevance: 2 counts more than 1)."""
    dcg = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(rank + 1)
        for rank, doc in enumerate(ranked[:k], start=1)
    )
    ideal = sorted((r for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum((2**r - 1) / math.log2(rank + 1) for rank, r in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the relevant ids found in the top ``k``."""
    wanted = {doc for doc, r in relevant.items() if r > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(ranked[:k])) / len(wanted)


def evaluate_rankings(runs: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Average MRR@10, nDCG@10 and Recall@1/5/10/100 over the queries that have judgements.

    Args:
        runs: query id → ranked document ids, best first.
        qrels: query id → document id → relevance (>0 relevant).

    Returns:
        Metric name → mean value, plus ``queries`` (how many were scored).
    """
    judged = [q for q in runs if any(r > 0 for r in qrels.get(q, {}).values())]
    if not judged:
        return {"queries": 0.0}
    out = {
        "MRR@10": sum(mrr_at(runs[q], qrels[q]) for q in judged) / len(judged),
        "nDCG@10": sum(ndcg_at(runs[q], qrels[q]) for q in judged) / len(judged),
    }
    for k in RECALL_AT:
        out[f"Recall@{k}"] = sum(recall_at(runs[q], qrels[q], k) for q in judged) / len(judged)
    out = {name: round(value, 4) for name, value in out.items()}
    out["queries"] = float(len(judged))
    return out
