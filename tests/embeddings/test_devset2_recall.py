"""Recall floors on the second development set (data/devset2): these fail if ranking regresses.

devset2 was written with other authorship conventions than data/devset (challenges as municipal
plan excerpts and council answers, profiles as a company's own product page), so a change tuned
to the first set that does not generalise shows here. Vectors come from
tests/embeddings/data/devset2_vectors.npz (python bench/make_devset_vectors.py --set devset2).

Measured 2026-12-07 (40 challenges × 120 profiles): site ranking MRR@10 0.906 / R@5 1.000;
lexical + structure 0.865 / 1.000; lexical alone 0.904 / 0.975; dense alone 0.900 / 0.950.
Floors sit under these so noise does not trip them but a real regression does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT
from embeddings.devset_eval import documents, method_config, site_rankings
from embeddings.metrics import evaluate_rankings
from tests.embeddings.test_devset_recall import lexical_structure_metrics, stored_vectors

DEVSET2 = DEFAULT_ROOT.parent / "devset2"
VECTORS = Path(__file__).parent / "data" / "devset2_vectors.npz"
SITE_FLOOR = {"MRR@10": 0.85, "Recall@5": 0.95, "Recall@10": 0.97}
LEXICAL_STRUCTURE_FLOOR = {"MRR@10": 0.80, "Recall@5": 0.95}
SINGLE_CHANNEL_FLOOR = {"lexical": 0.85, "dense": 0.83}


@pytest.fixture(scope="module")
def devset2() -> RetrievalSet:
    return load_retrieval_dir(DEVSET2)


def test_devset2_shape(devset2: RetrievalSet) -> None:
    assert len(devset2.query_ids) >= 40 and len(devset2.doc_ids) >= 120
    assert all(devset2.query_objects) and all(devset2.doc_objects)
    docs = set(devset2.doc_ids)
    for qid in devset2.query_ids:
        relevant = [d for d, r in devset2.qrels.get(qid, {}).items() if r > 0]
        assert relevant and set(relevant) <= docs, qid


def test_devset2_lexical_plus_structure_floor(devset2: RetrievalSet) -> None:
    metrics = lexical_structure_metrics(devset2)
    for name, floor in LEXICAL_STRUCTURE_FLOOR.items():
        assert metrics[name] >= floor, (name, metrics)


def test_devset2_site_ranking_floor(devset2: RetrievalSet) -> None:
    challenges, solutions = documents(devset2)
    cv, sv = stored_vectors(devset2, VECTORS)
    site = evaluate_rankings(
        site_rankings(devset2, challenges, cv, solutions, sv, RankerConfig()), devset2.qrels)
    for name, floor in SITE_FLOOR.items():
        assert site[name] >= floor, (name, site)
    for single, floor in SINGLE_CHANNEL_FLOOR.items():
        alone = evaluate_rankings(
            site_rankings(devset2, challenges, cv, solutions, sv, method_config(single)), devset2.qrels)
        assert alone["MRR@10"] >= floor, (single, alone)
