"""Learned fusion: folds by query, the two models, their files and the re-ranker hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from bench.fusion_models import (
    SCORE_FEATURES,
    LearnedFusion,
    PoolRanker,
    TreeFusion,
    feature_names,
    fold_models,
    load_fusion,
    pool_matrix,
    query_folds,
)
from embeddings import RankerConfig, TwoSidedRecommender


def synthetic_pools(n_queries: int, size: int = 30, seed: int = 0) -> tuple[
        list[list[dict[str, float]]], list[np.ndarray]]:
    """Pools whose one relevant member has the highest dense score; lexical is noise."""
    rng = np.random.default_rng(seed)
    pools, labels = [], []
    for _ in range(n_queries):
        rows = [{n: float(rng.normal()) for n in SCORE_FEATURES} for _ in range(size)]
        best = int(rng.integers(size))
        rows[best]["dense"] = max(r["dense"] for r in rows) + 0.5
        rows[best]["lexical"] = float(rng.normal()) - 1.0
        for r in rows:
            r["reverse"], r["structure"] = r["reverse_lexical"], r["domain"]
        pools.append(rows)
        labels.append(np.arange(size) == best)
    return pools, labels


def mrr(model: PoolRanker, pools: list[list[dict[str, float]]], labels: list[np.ndarray]) -> float:
    ranks = [1 + int(np.sum(s > s[y.argmax()])) for s, y in
             ((model.decision_function(p), y) for p, y in zip(pools, labels))]
    return float(np.mean([1.0 / r for r in ranks]))


@pytest.mark.parametrize("n_groups,n_splits,seed", [(7, 2, 0), (23, 5, 1), (40, 5, 2), (5, 5, 3)])
def test_query_folds_never_put_a_test_query_in_training(n_groups: int, n_splits: int,
                                                        seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = [f"q{g}" for g in range(n_groups) for _ in range(int(rng.integers(1, 4)))]
    tested = np.zeros(len(groups), dtype=int)
    for train, test in query_folds(groups, n_splits, seed):
        assert {groups[i] for i in train}.isdisjoint({groups[i] for i in test})
        assert len(train) + len(test) == len(groups) and len(test) > 0
        tested[test] += 1
    assert (tested == 1).all()


def test_query_folds_refuse_more_folds_than_queries() -> None:
    with pytest.raises(ValueError):
        query_folds(["a", "a", "b"], 3)


def test_fold_models_rank_each_query_with_a_model_that_never_saw_it() -> None:
    pools, labels = synthetic_pools(30)
    for i, rows in enumerate(pools):
        for r in rows:
            r["maturity"] = float(i)  # tags every row with its query
    groups = [f"q{i // 2}" for i in range(30)]  # two pools per query

    class Spy(LearnedFusion):
        def fit(self, X: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> Spy:
            self.seen = {int(m[0, SCORE_FEATURES.index("maturity")]) for m in X}
            return super().fit(X, y)

    ranked: list[int] = []
    matrices = [pool_matrix(p, with_ranks=False) for p in pools]
    for model, test in fold_models(matrices, labels, groups, lambda: Spy(with_ranks=False)):
        assert isinstance(model, Spy)
        assert {groups[i] for i in model.seen}.isdisjoint({groups[i] for i in test})
        assert len(model.seen) + len(test) == 30
        ranked += test.tolist()
    assert sorted(ranked) == list(range(30))


def test_pairwise_logistic_learns_which_channel_to_trust(tmp_path: Path) -> None:
    pools, labels = synthetic_pools(60)
    held_out, held_labels = synthetic_pools(40, seed=1)
    model = LearnedFusion().fit([pool_matrix(p) for p in pools], labels)
    assert model.weights()["dense"] > abs(model.weights()["lexical"])
    assert mrr(model, held_out, held_labels) > 0.9
    model.save(tmp_path / "m.json", command="test")
    loaded = load_fusion(tmp_path / "m.json")
    for rows in held_out[:5]:
        np.testing.assert_allclose(loaded.decision_function(rows), model.decision_function(rows))


def test_pool_matrix_rank_features_are_reciprocal_ranks_with_ties_averaged() -> None:
    rows = [{"lexical": 3.0}, {"lexical": 1.0}, {"lexical": 3.0}]
    matrix = pool_matrix(rows, rrf_k=60.0)
    assert matrix.shape == (3, len(feature_names()))
    np.testing.assert_allclose(matrix[:, feature_names().index("rank_lexical")],
                               [60 / 61.5, 60 / 63, 60 / 61.5])
    assert pool_matrix([]).shape == (0, len(feature_names()))


def test_a_file_of_other_features_is_refused(tmp_path: Path) -> None:
    pools, labels = synthetic_pools(10)
    model = LearnedFusion().fit([pool_matrix(p) for p in pools], labels)
    model.save(tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text().replace('"maturity"', '"certified"')
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ValueError, match="other features"):
        load_fusion(tmp_path / "m.json")


def test_lambdarank_numpy_scores_equal_lightgbm(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pools, labels = synthetic_pools(60)
    model = TreeFusion(n_estimators=40, num_leaves=4, min_child_samples=5).fit(
        [pool_matrix(p) for p in pools], labels)
    held_out, held_labels = synthetic_pools(40, seed=1)
    matrix = np.vstack([pool_matrix(p) for p in held_out])
    np.testing.assert_allclose(model.score_pool(matrix), model.booster_.predict(matrix), atol=1e-9)
    assert mrr(model, held_out, held_labels) > 0.8
    model.save(tmp_path / "t.json")
    loaded = load_fusion(tmp_path / "t.json")
    np.testing.assert_allclose(loaded.score_pool(matrix), model.score_pool(matrix))


@pytest.mark.parametrize("make", [LearnedFusion, lambda: LearnedFusion(with_ranks=False)])
def test_a_learned_fusion_orders_the_recommenders_pool(
        corpus: tuple, make: Callable[[], LearnedFusion]) -> None:
    """Plugged in as the re-ranker, the model's score of the whole pool is the order."""
    pools, labels = synthetic_pools(40)
    model = make().fit([pool_matrix(p, with_ranks=make().with_ranks) for p in pools], labels)
    cfg = RankerConfig(mmr_lambda=1.0, exposure_cap=0)
    base = TwoSidedRecommender(cfg).fit(*corpus)
    rec = TwoSidedRecommender(cfg, reranker=model).fit(*corpus)  # type: ignore[arg-type]
    for challenge in corpus[0]:
        hits = rec.solutions_for(challenge.id, k=100, explain=False)
        assert len(hits) == len(base.solutions_for(challenge.id, k=100, explain=False)) > 3
        scores = model.decision_function([h.features for h in hits])
        assert list(scores) == sorted(scores, reverse=True)
