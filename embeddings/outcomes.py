"""Learning from outcomes: re-weight the ranking features with logistic regression.

A match that moved forward (proposal, sounding, pilot, adoption) is a positive label; one that was
declined or closed without progress is a negative. The features are those stored with each
``Recommendation``. The model stays off until ``min_labels`` labels of both classes exist, and
``evaluate_reranker`` reports its effect offline (grouped cross-validation) before it is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

BASE_FEATURE = "fused"


class OutcomeReranker:
    """Logistic regression over ranking features, off below ``min_labels`` labels.

    Args:
        min_labels: Labels needed before the model is active.
        C: Inverse regularisation strength.
    """

    def __init__(self, min_labels: int = 30, C: float = 1.0) -> None:
        self.min_labels = min_labels
        self.C = C

    def fit(self, X: Sequence[Mapping[str, float]], y: Sequence[int]) -> OutcomeReranker:
        """Learn feature weights from labelled matches (1 = moved forward, 0 = declined)."""
        labels = np.asarray(y, dtype=int)
        self.feature_names_ = tuple(sorted(set().union(*(x.keys() for x in X)))) if X else ()
        self.n_labels_ = len(labels)
        self.active_ = bool(
            self.n_labels_ >= self.min_labels and len(set(labels.tolist())) == 2
        )
        if self.active_:
            from sklearn.linear_model import LogisticRegression  # heavy: import on first use

            matrix = self._matrix(X)
            self.mean_ = matrix.mean(axis=0)
            self.scale_ = matrix.std(axis=0) + 1e-9
            model = LogisticRegression(C=self.C, max_iter=1000)
            self.model_: LogisticRegression | None = model.fit(
                (matrix - self.mean_) / self.scale_, labels
            )
        else:
            self.model_ = None
        return self

    def _matrix(self, X: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array(
            [[float(x.get(name, 0.0)) for name in self.feature_names_] for x in X], dtype=np.float64
        ).reshape(len(X), len(self.feature_names_))

    def decision_function(self, X: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Log-odds that each match moves forward; the base ``fused`` score when inactive."""
        if not getattr(self, "active_", False) or self.model_ is None:
            return np.array([float(x.get(BASE_FEATURE, 0.0)) for x in X])
        return np.asarray(self.model_.decision_function((self._matrix(X) - self.mean_) / self.scale_))

    def weights(self) -> dict[str, float]:
        """Learned weight per (standardised) feature, for the coordinator's audit page."""
        if not getattr(self, "active_", False) or self.model_ is None:
            return {}
        return dict(zip(self.feature_names_, self.model_.coef_[0].round(4).tolist()))


def evaluate_reranker(
    X: Sequence[Mapping[str, float]],
    y: Sequence[int],
    groups: Sequence[int | str],
    min_labels: int = 30,
    n_splits: int = 5,
) -> dict[str, float]:
    """Compare the learned re-ranker with the base score on held-out query groups.

    Args:
        X: Features of labelled matches.
        y: Labels (1 = moved forward).
        groups: The query (challenge or company) of each match; folds never split a group.
        min_labels: As for ``OutcomeReranker``.
        n_splits: Cross-validation folds (reduced to the number of groups if fewer).

    Returns:
        ``labels``, ``auc_base`` (the ``fused`` feature alone), ``auc_model`` (out-of-fold) and
        ``recommend`` (1.0 when the model beats the base and may be switched on).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    labels = np.asarray(y, dtype=int)
    out = {"labels": float(len(labels)), "auc_base": float("nan"), "auc_model": float("nan"),
           "recommend": 0.0}
    if len(labels) < min_labels or len(set(labels.tolist())) < 2:
        return out
    base = np.array([float(x.get(BASE_FEATURE, 0.0)) for x in X])
    out["auc_base"] = float(roc_auc_score(labels, base))
    group_arr = np.asarray([str(g) for g in groups])
    splits = min(n_splits, len(set(group_arr.tolist())))
    if splits < 2:
        return out
    predicted = np.zeros(len(labels))
    for train, test in GroupKFold(n_splits=splits).split(base, labels, group_arr):
        model = OutcomeReranker(min_labels=0).fit([X[i] for i in train], labels[train].tolist())
        predicted[test] = model.decision_function([X[i] for i in test])
    out["auc_model"] = float(roc_auc_score(labels, predicted))
    out["recommend"] = float(out["auc_model"] > out["auc_base"])
    return out
