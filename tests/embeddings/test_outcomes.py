"""The outcome re-ranker stays off without enough labels and learns when it has them."""

from __future__ import annotations

import numpy as np

from embeddings.outcomes import OutcomeReranker, evaluate_reranker


def synthetic(n: int, seed: int = 0) -> tuple[list[dict[str, float]], list[int], list[int]]:
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for i in range(n):
        fused = float(rng.normal())
        domain = float(rng.integers(0, 2))
        # outcomes depend on domain fit much more than the base score predicts
        y.append(int(0.3 * fused + 2.0 * domain + rng.normal(scale=0.5) > 1.0))
        X.append({"fused": fused, "domain": domain, "budget": float(rng.random())})
        groups.append(i // 5)
    return X, y, groups


def test_inactive_below_min_labels_returns_base_score() -> None:
    X, y, _ = synthetic(10)
    model = OutcomeReranker(min_labels=30).fit(X, y)
    assert model.active_ is False and model.weights() == {}
    np.testing.assert_allclose(model.decision_function(X), [x["fused"] for x in X])


def test_active_model_learns_the_useful_feature() -> None:
    X, y, _ = synthetic(200)
    model = OutcomeReranker(min_labels=30).fit(X, y)
    assert model.active_ and model.n_labels_ == 200
    weights = model.weights()
    assert weights["domain"] > abs(weights["budget"])


def test_offline_evaluation_reports_before_switching_on() -> None:
    X, y, groups = synthetic(200)
    report = evaluate_reranker(X, y, groups, min_labels=30)
    assert report["auc_model"] > report["auc_base"] and report["recommend"] == 1.0
    few = evaluate_reranker(X[:10], y[:10], groups[:10], min_labels=30)
    assert few["recommend"] == 0.0 and np.isnan(few["auc_model"])
