"""Calibration, fusion, MMR and the exposure cap."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.fusion import cap_exposure, display_score, mmr, ranks, rrf, weighted_zsum, zscore


def test_zscore_per_row_and_constant_rows() -> None:
    z = zscore(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(z[0], [-1.2247449, 0.0, 1.2247449], rtol=1e-5)
    assert np.all(z[1] == 0)


def test_ranks_are_one_based_and_stable() -> None:
    assert ranks(np.array([0.5, 0.9, 0.5])).tolist() == [2, 1, 3]


def test_rrf_prefers_agreement_over_one_strong_channel() -> None:
    a = np.array([3.0, 2.0, 1.0])
    b = np.array([1.0, 3.0, 2.0])
    fused = rrf({"a": a, "b": b}, {"a": 1.0, "b": 1.0}, k=60)
    # doc 1 is 2nd and 1st; doc 0 is 1st and 3rd
    assert int(np.argmax(fused)) == 1
    np.testing.assert_allclose(fused[0], 1 / 61 + 1 / 63)


def test_weighted_zsum_ignores_zero_weight_and_needs_one_channel() -> None:
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 1.0])
    assert np.argmax(weighted_zsum({"a": a, "b": b}, {"a": 1.0, "b": 0.0})) == 0
    with pytest.raises(ValueError):
        weighted_zsum({"a": a}, {})


def test_display_score_is_monotone_within_unit_interval() -> None:
    s = display_score(np.array([-10.0, 0.0, 1.0, 3.0, 10.0]), center=1.0, scale=1.5)
    assert np.all(np.diff(s) > 0) and s.min() > 0 and s.max() < 1
    assert abs(float(s[2]) - 0.5) < 1e-9


def test_mmr_lambda_one_is_relevance_order() -> None:
    vecs = np.eye(4, dtype=np.float32)
    assert mmr([7, 8, 9, 10], np.array([0.9, 0.8, 0.7, 0.1]), vecs, 4, lambda_=1.0) == [7, 8, 9, 10]


def test_mmr_skips_a_near_duplicate() -> None:
    dup = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    other = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    vecs = np.vstack([dup, dup, other])
    picked = mmr([0, 1, 2], np.array([1.0, 0.95, 0.7]), vecs, 2, lambda_=0.5)
    assert picked == [0, 2]


def test_exposure_cap_keeps_order_and_skips_excess() -> None:
    owners = ["a", "a", "a", "b", "", "", "c"]
    assert cap_exposure(range(7), owners, cap=2, k=5) == [0, 1, 3, 4, 5]
    assert cap_exposure(range(7), owners, cap=1, k=10) == [0, 3, 4, 5, 6]
    assert cap_exposure(range(7), owners, cap=0, k=3) == [0, 1, 2]
