"""Fixtures for the ranking tests."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.documents import MatchDocument
from tests.embeddings.corpus import CHALLENGES, SOLUTIONS, embed


@pytest.fixture()
def corpus() -> tuple[list[MatchDocument], dict[str, np.ndarray], list[MatchDocument],
                      dict[str, np.ndarray]]:
    return CHALLENGES, embed(CHALLENGES), SOLUTIONS, embed(SOLUTIONS)


@pytest.fixture(scope="module")
def devset() -> RetrievalSet:
    """The development set (data/devset)."""
    if not (DEVSET / "qrels.tsv").exists():
        pytest.skip("data/devset not merged (python -m embeddings.devset)")
    return load_retrieval_dir(DEVSET)
