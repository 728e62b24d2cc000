"""Exact search against a brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.search import Hit, semantic_search, top_k_indices


def oracle(queries: np.ndarray, corpus: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    out = []
    for q in queries:
        scores = [(float(np.dot(q, c)), i) for i, c in enumerate(corpus)]
        scores.sort(key=lambda si: (-si[0], si[1]))
        out.append([(i, s) for s, i in scores[:k]])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 7, 50])
@pytest.mark.parametrize("chunks", [(1, 1), (3, 5), (100, 50_000), (7, 13)])
def test_semantic_search_matches_oracle(seed: int, k: int, chunks: tuple[int, int]) -> None:
    rng = np.random.default_rng(seed)
    queries = rng.normal(size=(11, 16)).astype(np.float32)
    corpus = rng.normal(size=(37, 16)).astype(np.float32)
    got = semantic_search(queries, corpus, top_k=k, query_chunk_size=chunks[0],
                          corpus_chunk_size=chunks[1])
    want = oracle(queries, corpus, k)
    assert len(got) == len(want)
    for hits, expected in zip(got, want):
        assert [h.id for h in hits] == [i for i, _ in expected]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-4)


def test_ties_are_broken_by_row_whatever_the_chunking() -> None:
    corpus = np.array([[1.0, 0.0]] * 9, dtype=np.float32)
    for chunk in (1, 2, 4, 9):
        hits = semantic_search(np.array([[1.0, 0.0]]), corpus, top_k=4, corpus_chunk_size=chunk)
        assert [h.id for h in hits[0]] == [0, 1, 2, 3]


def test_corpus_ids_and_short_corpus() -> None:
    corpus = np.eye(3, dtype=np.float32)
    hits = semantic_search(np.array([[0.0, 1.0, 0.0]]), corpus, top_k=10, corpus_ids=[10, 20, 30])
    assert hits[0][0] == Hit(20, 1.0)
    assert len(hits[0]) == 3


def test_dimension_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        semantic_search(np.ones((1, 3)), np.ones((2, 4)))


@pytest.mark.parametrize("k", [0, 1, 5, 20, 40])
def test_top_k_indices_matches_sort(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 5, size=33).astype(np.float32)  # many ties
    expected = sorted(range(33), key=lambda i: (-scores[i], i))[:k]
    assert top_k_indices(scores, k).tolist() == expected


def test_sparse_rows_dot_matches_scipy() -> None:
    import scipy.sparse as sp

    from embeddings.channels import sparse_rows_dot

    rng = np.random.default_rng(3)
    matrix = sp.random(40, 25, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    vector = sp.random(1, 25, density=0.3, format="csr", dtype=np.float32, random_state=rng)
    rows = np.array([5, 0, 39, 5, 17])
    expected = (matrix[rows] @ vector.T).toarray().ravel()
    np.testing.assert_allclose(sparse_rows_dot(matrix, rows, vector, 25), expected, rtol=1e-5)
    empty = sp.csr_matrix((3, 25), dtype=np.float32)
    assert sparse_rows_dot(empty, np.array([0, 2]), vector, 25).tolist() == [0.0, 0.0]
