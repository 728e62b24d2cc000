"""Fixtures for the ranking tests."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.documents import MatchDocument
from tests.embeddings.corpus import CHALLENGES, SOLUTIONS, embed


@pytest.fixture()
def corpus() -> tuple[list[MatchDocument], dict[str, np.ndarray], list[MatchDocument],
                      dict[str, np.ndarray]]:
    return CHALLENGES, embed(CHALLENGES), SOLUTIONS, embed(SOLUTIONS)
