"""LambdaMART over pool features: trained with LightGBM, evaluated with numpy.

LightGBM is needed only to train (``bench/learned_fusion.py``; ``pip install lightgbm``); the
fitted trees are kept as flat arrays, so ranking with a saved model needs numpy alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from embeddings.learned_fusion import PoolRanker

LEAF = -1


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
