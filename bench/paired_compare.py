"""Is the hybrid worse than the lexical channel on a retrieval set? A paired bootstrap on MRR@10.

Usage: python bench/paired_compare.py --set DIR [--limit 1000] [--resamples 10000]

DIR holds queries.jsonl, corpus.jsonl and qrels.tsv (the format of ../shared/data/retrieval/*).
Vectors come from the evaluation cache (run ``python -m embeddings.evaluate`` on the set first,
or this encodes them). Prints the mean reciprocal rank of both, their difference and its 95%
bootstrap interval over queries, and how many queries each one wins.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.encoders import DEFAULT_ENCODER
from embeddings.evaluate import DEFAULT_LEXICAL, HYBRID_WEIGHTS, channel_scores, top_ids
from embeddings.fusion import rrf
from embeddings.metrics import mrr_at
from embeddings.vectorstore import default_cache_dir


def reciprocal_ranks(fused: np.ndarray, data: RetrievalSet) -> np.ndarray:
    return np.asarray([mrr_at(top_ids(row, data.doc_ids, 10), data.qrels.get(query_id, {}), 10)
                       for query_id, row in zip(data.query_ids, fused)])


def paired_interval(diff: np.ndarray, resamples: int) -> tuple[float, float]:
    """95% bootstrap interval of the mean of per-query differences (resampling queries, seed 0)."""
    rng = np.random.default_rng(0)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--lexical", default=DEFAULT_LEXICAL)
    args = parser.parse_args()

    data = load_retrieval_dir(args.set, args.limit)
    scores = channel_scores(data, ["lexical", "dense"], args.encoder, args.lexical, default_cache_dir())
    lexical = reciprocal_ranks(scores["lexical"], data)
    hybrid = reciprocal_ranks(rrf(scores, HYBRID_WEIGHTS, RankerConfig.rrf_k), data)
    diff = hybrid - lexical
    low, high = paired_interval(diff, args.resamples)
    print(machine_header())
    print(f"# {args.set.name}: {len(diff)} queries; lexical={args.lexical} encoder={args.encoder}")
    print(f"MRR@10 lexical {lexical.mean():.4f}  hybrid {hybrid.mean():.4f}  "
          f"difference {diff.mean():+.4f}  95% CI [{low:+.4f}, {high:+.4f}]")
    print(f"queries where hybrid ranks the answer higher: {(diff > 0).sum()}, lower: {(diff < 0).sum()}, "
          f"same: {(diff == 0).sum()}")


if __name__ == "__main__":
    main()
