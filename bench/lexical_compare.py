"""Compare lexical channels (char n-gram TF-IDF / BM25, morphological BM25) on every set.

Usage: python bench/lexical_compare.py [--limit N] [--specs bm25:char23,tfidf:char23,...]
Prints the date, the machine, and MRR@10 / nDCG@10 / Recall@10/100 per set and spec, with the
tokenising+indexing+scoring time. Morphological specs need sudachipy+sudachidict-core or
fugashi+unidic-lite installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.datasets import load_retrieval_dir
from embeddings.evaluate import top_ids
from embeddings.lexical import make_lexical
from embeddings.metrics import evaluate_rankings

SETS = {
    "devset": ROOT / "data" / "devset",
    "jsquad_valid": ROOT.parent / "shared" / "data" / "retrieval" / "jsquad_valid",
    "jaquad_dev": ROOT.parent / "shared" / "data" / "retrieval" / "jaquad_dev",
}
SPECS = "tfidf:char23,bm25:char23,bm25:char2,bm25:sudachi,bm25:sudachi-c,bm25:fugashi"


def main() -> int:
    """Print one JSON line per (set, spec)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--specs", default=SPECS)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    print(machine_header())
    for name in args.sets.split(","):
        folder = SETS[name]
        data = load_retrieval_dir(folder, args.limit)
        for spec in args.specs.split(","):
            started = time.time()
            try:
                scores = make_lexical(spec).fit(data.doc_texts).score(data.query_texts)
            except ImportError as exc:
                print(json.dumps({"set": name, "spec": spec, "skipped": str(exc)}))
                continue
            runs = {q: top_ids(row, data.doc_ids) for q, row in zip(data.query_ids, scores)}
            metrics = evaluate_rankings(runs, data.qrels)
            row = {"set": name, "spec": spec, "seconds": round(time.time() - started, 1)}
            row.update({k: metrics[k] for k in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")})
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
