"""Recall floors on the development set: these fail if ranking regresses.

The lexical + structure test needs no model. The hybrid test uses dev-set vectors stored in
tests/embeddings/data/devset_vectors.npz (float16, keyed by model id and text hash) so the suite
stays fast; when a dev-set text changes the keys no longer match and the test says how to
regenerate the file (python bench/make_devset_vectors.py).

Floors sit a little under the measured figures (see the README), so noise does not trip them
but a real regression does.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet
from embeddings.devset_eval import documents, method_config, site_rankings
from embeddings.documents import embedding_texts
from embeddings.metrics import evaluate_rankings
from embeddings.text import vector_key

ROOT = Path(__file__).resolve().parents[2]
VECTORS = Path(__file__).parent / "data" / "devset_vectors.npz"

# Measured (2026-11-22, 84 queries × 286 profiles): lexical+structure MRR@10 0.840 /
# Recall@10 0.917; hybrid 0.857 / 0.929; lexical alone 0.767; dense alone 0.712.
LEXICAL_STRUCTURE_FLOOR = {"MRR@10": 0.80, "Recall@10": 0.86}
HYBRID_FLOOR = {"MRR@10": 0.83, "Recall@10": 0.88}
MIN_GAIN_OVER_SINGLE_CHANNEL = 0.05


def stored_vectors(
    data: RetrievalSet, path: Path = VECTORS
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    stored = np.load(path)
    model_id = str(stored["model_id"])
    challenges, solutions = documents(data)
    out: list[dict[str, np.ndarray]] = []
    for side, docs in (("challenge", challenges), ("solution", solutions)):
        vectors = {}
        for slot in ("query", "document"):
            role, _ = embedding_texts(docs[0])[slot]
            keys = [vector_key(model_id, role, embedding_texts(d)[slot][1]) for d in docs]
            assert keys == stored[f"{side}_{slot}_keys"].tolist(), (
                f"dev-set texts changed: run python bench/make_devset_vectors.py --set {path.stem[:-8]}")
            vectors[slot] = stored[f"{side}_{slot}"].astype(np.float32)
        out.append(vectors)
    return out[0], out[1]


def test_devset_is_big_enough(devset: RetrievalSet) -> None:
    assert len(devset.query_ids) >= 80
    assert all(devset.query_objects) and all(devset.doc_objects), "structured objects present"


def lexical_structure_metrics(data: RetrievalSet) -> dict[str, float]:
    """The site's ranking of ``data`` without vectors: lexical channel and structured fit only."""
    challenges, solutions = documents(data)
    config = replace(RankerConfig(), dense_weight=0.0, reverse_weight=0.0)
    return evaluate_rankings(site_rankings(data, challenges, {}, solutions, {}, config), data.qrels)


def test_lexical_plus_structure_floor(devset: RetrievalSet) -> None:
    metrics = lexical_structure_metrics(devset)
    for name, floor in LEXICAL_STRUCTURE_FLOOR.items():
        assert metrics[name] >= floor, (name, metrics)


def test_hybrid_floor_and_gain_over_single_channels(devset: RetrievalSet) -> None:
    challenges, solutions = documents(devset)
    cv, sv = stored_vectors(devset)
    hybrid = evaluate_rankings(
        site_rankings(devset, challenges, cv, solutions, sv, RankerConfig()), devset.qrels)
    for name, floor in HYBRID_FLOOR.items():
        assert hybrid[name] >= floor, (name, hybrid)
    for single in ("lexical", "dense"):
        alone = evaluate_rankings(
            site_rankings(devset, challenges, cv, solutions, sv, method_config(single)), devset.qrels)
        assert hybrid["MRR@10"] >= alone["MRR@10"] + MIN_GAIN_OVER_SINGLE_CHANNEL, (single, alone)
