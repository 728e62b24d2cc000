"""A learned fusion of the ranking channels, over each query's candidate pool.

The site fuses its channels with fixed weights (reciprocal rank fusion of lexical, dense, reverse
and structure). A learned fusion learns the order instead, from judged pools of the development
sets. The features are those ``rank_pool`` already computes for every pool member
(``Recommendation.features``) plus, per channel, the reciprocal rank within the pool (what the
site's RRF sees): ``pool_matrix``. Two models: ``LearnedFusion``, a pairwise logistic regression
(every (relevant, non-relevant) pair of one pool is an example of the difference of their
features; no intercept), and ``TreeFusion`` (LambdaMART: trained with LightGBM, its trees kept
as flat arrays and evaluated with numpy, so a saved model ranks without LightGBM).

Both have the re-ranker shape ``rank_pool`` asks for (``active_``, ``n_labels_``,
``decision_function`` over the whole pool's feature rows), so
``TwoSidedRecommender(config, reranker=load_fusion(path))`` ranks with a saved model.
``bench/learned_fusion.py`` trains them by cross-validation over query groups
(``fold_models``) and measures them on every set. Neither is used by the site: neither won on
every set (README, "How the ranking works"), so they live here and not in ``embeddings``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

#: Per-pair scores taken as they are (names of ``Recommendation.features``).
SCORE_FEATURES = (
    "lexical", "dense", "reverse_lexical", "reverse_dense",
    "domain", "region", "form", "budget", "maturity",
)
#: Channels whose rank within the pool is a feature too (as ``k / (k + rank)``, ties averaged).
RANK_FEATURES = ("lexical", "dense", "reverse", "structure")
#: ``TreeFusion``'s feature index of a leaf node.
LEAF = -1


def pool_matrix(
    rows: Sequence[Mapping[str, float]], rrf_k: float = 60.0, with_ranks: bool = True
) -> np.ndarray:
    """The feature matrix of one query's pool.

    Args:
        rows: One mapping per pool member (``Recommendation.features`` or ``rank_pool``'s rows);
            the rank features are relative to these rows, so pass the whole pool.
        rrf_k: The constant of the reciprocal rank features.
        with_ranks: Add the reciprocal rank features.

    Returns:
        (len(rows), n_features) float64.
    """
    scores = np.array([[float(r.get(n, 0.0)) for n in SCORE_FEATURES] for r in rows],
                      dtype=np.float64).reshape(len(rows), len(SCORE_FEATURES))
    if not with_ranks:
        return scores
    ranked = [rrf_k / (rrf_k + rankdata([-float(r.get(n, 0.0)) for r in rows], method="average"))
              for n in RANK_FEATURES]
    return np.column_stack([scores, *ranked])


def feature_names(with_ranks: bool = True) -> tuple[str, ...]:
    """Column names of ``pool_matrix``."""
    return SCORE_FEATURES + (tuple(f"rank_{n}" for n in RANK_FEATURES) if with_ranks else ())


def query_folds(groups: Sequence[str], n_splits: int = 5,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds by query: every row of a group lands in one test fold only.

    Args:
        groups: The query of each training unit (a pool); equal strings are one group.
        n_splits: Folds (at most the number of distinct groups).
        seed: Shuffles which groups go together.

    Returns:
        (train indices, test indices) per fold.
    """
    names = sorted(set(groups))
    if not 2 <= n_splits <= len(names):
        raise ValueError(f"{n_splits} folds need at least as many groups (have {len(names)})")
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = {names[g]: i % n_splits for i, g in enumerate(order)}
    assigned = np.array([fold_of[g] for g in groups])
    return [(np.flatnonzero(assigned != f), np.flatnonzero(assigned == f)) for f in range(n_splits)]


def fold_models(
    pools: Sequence[np.ndarray], labels: Sequence[np.ndarray], groups: Sequence[str],
    make: Callable[[], PoolRanker], n_splits: int = 5, seed: int = 0,
) -> Iterator[tuple[PoolRanker, np.ndarray]]:
    """Cross-validation by query: per fold, a model fitted on the other folds and its test rows.

    Args:
        pools: One ``pool_matrix`` per query.
        labels: Per pool, relevance of each member.
        groups: The query of each pool (see ``query_folds``).
        make: A new unfitted model.
        n_splits: Folds.
        seed: Fold assignment seed.

    Yields:
        (fitted model, indices of the pools it must rank): no pool of a test query is in its
        training.
    """
    for train, test in query_folds(groups, n_splits, seed):
        yield make().fit([pools[i] for i in train], [labels[i] for i in train]), test


class PoolRanker:
    """What both learned fusions share: the re-ranker call of ``rank_pool`` and the file."""

    kind = ""
    rrf_k = 60.0
    with_ranks = True
    n_labels_: int
    active_: bool

    def fit(self, pools: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> PoolRanker:
        raise NotImplementedError

    def score_pool(self, matrix: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decision_function(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Scores of one whole pool given as feature rows; only the order within it matters."""
        return self.score_pool(pool_matrix(rows, self.rrf_k, self.with_ranks))

    def to_dict(self) -> dict[str, object]:
        raise NotImplementedError

    def save(self, path: Path, **provenance: str) -> None:
        """Write the model as JSON, with ``provenance`` (training command, sets, date)."""
        body = {"kind": self.kind, **provenance, "features": list(feature_names(self.with_ranks)),
                "rrf_k": self.rrf_k, "n_queries": self.n_labels_, **self.to_dict()}
        path.write_text(json.dumps(body, ensure_ascii=False) + "\n", encoding="utf-8")


class LearnedFusion(PoolRanker):
    """Pairwise logistic regression over pool features.

    Args:
        C: Inverse regularisation strength of the logistic regression.
        rrf_k: Constant of the reciprocal rank features.
        with_ranks: Use the reciprocal rank features as well as the scores.
    """

    kind = "pairwise-logistic"

    def __init__(self, C: float = 1.0, rrf_k: float = 60.0, with_ranks: bool = True) -> None:
        self.C = C
        self.rrf_k = rrf_k
        self.with_ranks = with_ranks

    def fit(self, pools: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> LearnedFusion:
        """Learn the weights from judged pools.

        Args:
            pools: One ``pool_matrix`` per training query.
            labels: Per pool, 1 for each relevant member and 0 otherwise; a pool without both
                classes teaches nothing and is skipped.

        Returns:
            self

        Raises:
            ValueError: If no pool has both a relevant and a non-relevant member.
        """
        from sklearn.linear_model import LogisticRegression  # heavy: import on first use

        stacked = np.vstack(pools)
        self.mean_ = stacked.mean(axis=0)
        self.scale_ = stacked.std(axis=0) + 1e-9
        diffs = []
        for matrix, y in zip(pools, labels):
            y = np.asarray(y) > 0
            if y.all() or not y.any():
                continue
            z = (matrix - self.mean_) / self.scale_
            diffs.append((z[y][:, None, :] - z[~y][None, :, :]).reshape(-1, z.shape[1]))
        if not diffs:
            raise ValueError("no pool has both a relevant and a non-relevant member")
        pairs = np.vstack(diffs)
        X = np.vstack([pairs, -pairs])
        target = np.r_[np.ones(len(pairs)), np.zeros(len(pairs))]
        model = LogisticRegression(C=self.C, fit_intercept=False, max_iter=2000).fit(X, target)
        self.coef_ = np.asarray(model.coef_[0], dtype=np.float64)
        self.n_labels_ = len(diffs)
        self.active_ = True
        return self

    def score_pool(self, matrix: np.ndarray) -> np.ndarray:
        """Higher is better; only the order within one pool means anything."""
        return np.asarray(((matrix - self.mean_) / self.scale_) @ self.coef_)

    def weights(self) -> dict[str, float]:
        """Learned weight per standardised feature."""
        return dict(zip(feature_names(self.with_ranks), self.coef_.round(4).tolist()))

    def to_dict(self) -> dict[str, object]:
        return {"C": self.C, "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], with_ranks: bool) -> LearnedFusion:
        model = cls(C=float(data["C"]), rrf_k=float(data["rrf_k"]), with_ranks=with_ranks)
        model.mean_ = np.asarray(data["mean"], dtype=np.float64)
        model.scale_ = np.asarray(data["scale"], dtype=np.float64)
        model.coef_ = np.asarray(data["coef"], dtype=np.float64)
        return model


class TreeFusion(PoolRanker):
    """Gradient-boosted trees with the LambdaRank objective, over ``pool_matrix`` features.

    The defaults are the shallowest, most regularised of the settings tried (stumps of two
    splits, 50 pool members per leaf at least): about 120 judged queries cannot carry more.

    Args:
        n_estimators: Boosting rounds.
        num_leaves: Leaves per tree.
        learning_rate: Shrinkage.
        min_child_samples: Fewest pool members in a leaf.
        seed: LightGBM's seed (training is deterministic with it).
    """

    kind = "lambdarank"

    def __init__(self, n_estimators: int = 300, num_leaves: int = 3, learning_rate: float = 0.03,
                 min_child_samples: int = 50, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.seed = seed

    def params(self) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "num_leaves": self.num_leaves,
                "learning_rate": self.learning_rate, "min_child_samples": self.min_child_samples,
                "seed": self.seed}

    def fit(self, pools: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> TreeFusion:
        """Learn the trees from judged pools (one ``pool_matrix`` and 0/1 labels per query)."""
        import lightgbm  # training only

        model = lightgbm.LGBMRanker(
            objective="lambdarank", n_estimators=self.n_estimators, num_leaves=self.num_leaves,
            learning_rate=self.learning_rate, min_child_samples=self.min_child_samples,
            random_state=self.seed, deterministic=True, force_row_wise=True, n_jobs=1,
            verbose=-1,
        )
        y = np.concatenate([np.asarray(v, dtype=int) for v in labels])
        model.fit(np.vstack(pools), y, group=[len(p) for p in pools])
        self.booster_ = model.booster_
        self.trees_ = [flatten(t["tree_structure"]) for t in model.booster_.dump_model()["tree_info"]]
        self.n_labels_ = sum(1 for v in labels if np.any(v) and not np.all(v))
        self.active_ = True
        return self

    def score_pool(self, matrix: np.ndarray) -> np.ndarray:
        """Sum of every tree's leaf value for each row."""
        out = np.zeros(matrix.shape[0])
        rows = np.arange(matrix.shape[0])
        for tree in self.trees_:
            feature, threshold, left, right, value = (np.asarray(tree[k]) for k in
                                                      ("feature", "threshold", "left", "right", "value"))
            node = np.zeros(matrix.shape[0], dtype=np.int64)
            while np.any(inner := feature[node] != LEAF):
                at = node[inner]
                go_left = matrix[rows[inner], feature[at]] <= threshold[at]
                node[inner] = np.where(go_left, left[at], right[at])
            out += value[node]
        return out

    def to_dict(self) -> dict[str, object]:
        return {"params": self.params(), "trees": self.trees_}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], with_ranks: bool) -> TreeFusion:
        if not with_ranks:
            raise ValueError("a lambdarank model is trained with the rank features")
        model = cls(**data["params"])
        model.trees_ = [dict(t) for t in data["trees"]]
        return model


def flatten(root: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A LightGBM tree dump as arrays: node 0 is the root; leaves have feature ``LEAF``.

    Raises:
        ValueError: On a split this evaluator does not implement (categorical, or missing
            values treated as zero: our features are never missing).
    """
    out: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "left", "right", "value")}

    def add(node: Mapping[str, Any]) -> int:
        at = len(out["feature"])
        for column in out.values():
            column.append(0)
        if "leaf_value" in node:
            out["feature"][at], out["value"][at] = LEAF, float(node["leaf_value"])
            out["left"][at] = out["right"][at] = at
            return at
        if node["decision_type"] != "<=" or node.get("missing_type") == "Zero":
            raise ValueError(f"unsupported split {node['decision_type']} / {node.get('missing_type')}")
        out["feature"][at], out["threshold"][at] = int(node["split_feature"]), float(node["threshold"])
        out["left"][at] = add(node["left_child"])
        out["right"][at] = add(node["right_child"])
        return at

    add(root)
    return out


def load_fusion(path: Path) -> PoolRanker:
    """A fitted learned fusion from ``save``'s file.

    Raises:
        ValueError: If the file's features are not the ones this code computes, or its kind is
            unknown.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    with_ranks = len(data["features"]) > len(SCORE_FEATURES)
    if tuple(data["features"]) != feature_names(with_ranks):
        raise ValueError(f"{path} was trained on other features: {data['features']}")
    kinds: dict[str, Any] = {LearnedFusion.kind: LearnedFusion, TreeFusion.kind: TreeFusion}
    if data.get("kind") not in kinds:
        raise ValueError(f"{path}: unknown kind {data.get('kind')!r}")
    model: PoolRanker = kinds[data["kind"]].from_dict(data, with_ranks)
    model.n_labels_ = int(data["n_queries"])
    model.active_ = True
    return model
