"""Turn a scored candidate pool into the final list: fuse, re-rank, diversify, cap, explain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from embeddings.documents import CHALLENGE, SOLUTION, MatchDocument, Reason, Recommendation
from embeddings.fusion import cap_exposure, display_score, mmr, rrf
from embeddings.reasons import order_reasons, structure_reasons, text_reasons

if TYPE_CHECKING:
    from embeddings.recommender import TwoSidedRecommender

MAIN_FIELD = {CHALLENGE: "problem", SOLUTION: "summary"}
FEATURE_NAMES = (
    "lexical", "dense", "reverse_lexical", "reverse_dense", "forward", "reverse",
    "domain", "region", "form", "budget", "maturity", "structure", "fused",
)


def pair_score(forward: np.ndarray, reverse: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """The pair's score before the display curve, the same whichever side asks.

    ``forward`` is how the query ranks the candidate and ``reverse`` how the candidate ranks the
    query (both calibrated z-sums); asked from the other side the two swap, so their mean and the
    structured fit (symmetric: shared codes over the smaller set, overlapping budgets) give one
    number per pair. The ranking's own fused score weighs the asking side more and would show a
    pair differently on its two pages.
    """
    return np.asarray((forward + reverse) / 2 + structure)


def reciprocal(forward: np.ndarray, reverse: np.ndarray, center: float, scale: float) -> np.ndarray:
    """Harmonic mean of the two directions' display scores: high only when both sides fit."""
    a = display_score(forward, center, scale)
    b = display_score(reverse, center, scale)
    return np.asarray(2 * a * b / np.maximum(a + b, 1e-12))


def rank_pool(
    rec: TwoSidedRecommender,
    query: MatchDocument,
    docs: tuple[MatchDocument, ...],
    target_vectors: np.ndarray,
    pool: np.ndarray,
    k: int,
    lex: np.ndarray,
    dense: np.ndarray,
    rev_lex: np.ndarray,
    rev_dense: np.ndarray,
    forward: np.ndarray,
    reverse: np.ndarray,
    structure: np.ndarray,
    features: dict[str, np.ndarray],
    contributions: dict[str, np.ndarray],
    explain_hits: bool = True,
) -> list[Recommendation]:
    """Fuse the channels of the pool and build the ``k`` best ``Recommendation`` objects.

    The fused score is ``(1 − ρ)·forward + ρ·reverse + structure`` (ρ = ``reverse_weight``);
    with ``fusion="rrf"`` the order comes from weighted reciprocal rank fusion of the lexical,
    dense, reverse and structure channels instead, and the fused score is only a feature (the
    learned re-ranker's base). The displayed score is the pair's (``pair_score``) either way.
    """
    cfg = rec.config_
    rho = cfg.reverse_weight
    fused = (1 - rho) * forward + rho * reverse + structure
    feats = {
        "lexical": lex, "dense": dense, "reverse_lexical": rev_lex, "reverse_dense": rev_dense,
        "forward": forward, "reverse": reverse, "structure": structure, "fused": fused,
        **features,
    }
    def feature_row(i: int) -> dict[str, float]:
        return {n: float(feats[n][i]) for n in FEATURE_NAMES}

    order_score = fused
    if cfg.fusion == "rrf":
        order_score = rrf(
            {"lexical": lex, "dense": dense, "reverse": reverse, "structure": structure},
            {"lexical": cfg.lexical_weight, "dense": cfg.dense_weight, "reverse": rho,
             "structure": 1.0},
            cfg.rrf_k,
        )
    reranker = rec.reranker
    if (reranker is not None and getattr(reranker, "active_", False)
            and reranker.n_labels_ >= cfg.min_labels):
        order_score = reranker.decision_function([feature_row(i) for i in range(len(pool))])
    order = list(np.argsort(-order_score, kind="stable"))
    if cfg.mmr_lambda < 1.0 and target_vectors.size:
        head = order[: max(3 * k, 30)]
        picked = mmr(head, order_score[head], target_vectors[pool[head]], len(head), cfg.mmr_lambda)
        order = picked + order[len(head):]
    owners = [docs[int(r)].owner for r in pool]
    kept = cap_exposure(order, owners, cfg.exposure_cap, k)
    # One displayed score per pair, whichever side asks; the order stays this side's (RRF, MMR
    # and the exposure cap), so a score can be higher than the one above it.
    scores = display_score(pair_score(forward, reverse, structure), cfg.display_center,
                           cfg.display_scale)
    recip = reciprocal(forward, reverse, cfg.display_center, cfg.display_scale)
    out = []
    for rank, i in enumerate(kept, start=1):
        target = docs[int(pool[i])]
        contrib = {n: float(c[i]) for n, c in contributions.items()}
        contrib["budget_match"] = float(
            features["budget"][i] >= 1.0 and query.budget != (None, None)
            and target.budget != (None, None)
        )
        reasons = explain(
            rec, query, target, float((1 - rho) * forward[i] + rho * reverse[i]), contrib
        ) if explain_hits else ()
        out.append(Recommendation(
            id=target.id,
            score=round(float(scores[i]), 4),
            rank=rank,
            channels={
                "lexical": round(float(lex[i]), 4), "dense": round(float(dense[i]), 4),
                "structure": round(float(structure[i]), 4),
                "reverse": round(float(reverse[i]), 4),
                "reciprocal": round(float(recip[i]), 4),
            },
            features=feature_row(i),
            reasons=reasons,
        ))
    return out


def explain(
    rec: TwoSidedRecommender, query: MatchDocument, target: MatchDocument, text_score: float,
    contributions: dict[str, float],
) -> tuple[Reason, ...]:
    """1..4 reasons, heaviest first; falls back to naming the main fields when nothing is shared."""
    reasons = text_reasons(query, target, rec.phrase_stats_, text_score)
    reasons += structure_reasons(query, target, contributions)
    ordered = order_reasons(reasons)
    if ordered:
        return ordered
    return (Reason("text", MAIN_FIELD[target.kind], MAIN_FIELD[query.kind], (),
                   max(text_score, 0.0)),)
