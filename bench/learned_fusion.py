"""A learned fusion of the site's channels, cross-validated by query, against the current ranking.

Usage: python bench/learned_fusion.py [--sets devset,devset2,jsquad,jaquad] [--limit 1000]
       [--resamples 5000] [--folds 5] [--fold-seed 0] [--write PATH]

Each set is ranked by ``TwoSidedRecommender`` as the app ranks (the public sets as text-only
documents: the question as a challenge's problem, the paragraph as a profile's summary, so the
structured fit is neutral). Every query's pool (the best ``pool_size`` by forward score and
structure) comes with the features ``rank_pool`` computes; a model of ``bench/fusion_models.py``
(settings fixed before any run) learns to order them and is plugged in as the ranker's re-ranker,
so MMR and the exposure cap apply as on the site.

Training: the pools of data/devset and data/devset2 together, in ``--folds`` folds by query
(``query_folds``); each dev-set query is ranked by the model of the folds that did not contain
it. JSQuAD and JaQuAD are ranked by one model trained on every dev-set query and are never
trained on. Rows: ``LambdaMART`` (``TreeFusion`` over the scores and the reciprocal ranks within
the pool: the candidate), ``pairwise logistic`` (``LearnedFusion``, C = 1, the same features),
``pairwise logistic, no rank features``, ``site`` and, on the public sets, ``hybrid`` (the
current ranking there: weighted RRF of lexical 1.0 and dense 0.5 over the whole corpus, as in
``bench/ranking_channels.py``) and ``site, text only``. The baseline is ``site`` on the dev sets
and ``hybrid`` on the public sets.

``--write PATH`` saves the LambdaMART model trained on every dev-set query, with its training
command (``load_fusion`` reads it back); nothing ships one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fusion_models import LearnedFusion, PoolRanker, TreeFusion, fold_models, pool_matrix
from bench.machine import machine_header
from bench.ranking_channels import (
    LEXICAL,
    SETS,
    Encoded,
    ranked_per_query,
    report,
    site_inputs,
    structured,
)
from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet, load_retrieval_dir
from embeddings.devset import challenge_document, solution_document
from embeddings.encoders import DEFAULT_ENCODER
from embeddings.evaluate import HYBRID_WEIGHTS, top_ids
from embeddings.fusion import rrf
from embeddings.lexical import make_lexical
from embeddings.recommender import TwoSidedRecommender

DEPTH = 100  # as embeddings.devset_eval.site_rankings
CANDIDATE = "LambdaMART"
VARIANTS: dict[str, Callable[[], PoolRanker]] = {  # row names as in the README's table
    CANDIDATE: TreeFusion,
    "pairwise logistic": LearnedFusion,
    "pairwise logistic, no rank features": lambda: LearnedFusion(with_ranks=False),
}


class Ranked:
    """One set, fitted as the site fits it, with every query's judged pool."""

    def __init__(self, name: str, data: RetrievalSet, encode: Encoded) -> None:
        self.name, self.data = name, data
        if structured(data):
            challenges, cv, solutions, sv = site_inputs(data, encode)
        else:
            challenges = [challenge_document(i, {"problem": t}, owner=f"q:{i}")
                          for i, t in enumerate(data.query_texts)]
            solutions = [solution_document(i, {"summary": t}, owner=f"d:{i}")
                         for i, t in enumerate(data.doc_texts)]
            qv, dv = encode(data.query_texts, "query"), encode(data.doc_texts, "document")
            cv, sv = {"query": qv, "document": qv}, {"query": dv, "document": dv}
        self.challenges = challenges
        self.rec = TwoSidedRecommender(RankerConfig()).fit(challenges, cv, solutions, sv)
        size = self.rec.config_.pool_size
        self.pools: list[list[dict[str, float]]] = []
        self.labels: list[np.ndarray] = []
        for qid, challenge in zip(data.query_ids, challenges):
            hits = self.rec.solutions_for(challenge.id, k=size, explain=False)
            rel = data.qrels.get(qid, {})
            self.pools.append([h.features for h in hits])
            self.labels.append(np.array([rel.get(data.doc_ids[h.id], 0) > 0 for h in hits]))

    def runs(self, model: PoolRanker | None, rows: Sequence[int]) -> dict[str, list[str]]:
        """Query id → ranked doc ids for ``rows``, with ``model`` as the re-ranker (None: site)."""
        self.rec.reranker = model
        ids = self.data.doc_ids
        out = {self.data.query_ids[i]: [ids[h.id] for h in self.rec.solutions_for(
            self.challenges[i].id, k=DEPTH, explain=False)] for i in rows}
        self.rec.reranker = None
        return out


def matrices(ranked: Ranked, with_ranks: bool) -> list[np.ndarray]:
    return [pool_matrix(p, with_ranks=with_ranks) for p in ranked.pools]


def cross_validated(dev: list[Ranked], folds: int, make: Callable[[], PoolRanker],
                    seed: int = 0) -> dict[str, dict[str, list[str]]]:
    """Out-of-fold rankings of every dev-set query, per set."""
    units = [(r, i) for r in dev for i in range(len(r.pools))]
    groups = [f"{r.name}:{r.data.query_ids[i]}" for r, i in units]
    with_ranks = make().with_ranks
    pools = [m for r in dev for m in matrices(r, with_ranks)]
    labels = [y for r in dev for y in r.labels]
    out: dict[str, dict[str, list[str]]] = {r.name: {} for r in dev}
    for model, test in fold_models(pools, labels, groups, make, folds, seed):
        for r in dev:
            rows = [units[j][1] for j in test if units[j][0] is r]
            out[r.name].update(r.runs(model, rows))
    return out


def trained_on(dev: list[Ranked], make: Callable[[], PoolRanker]) -> PoolRanker:
    """The model of every dev-set query (for the public sets and ``--write``)."""
    model = make()
    return model.fit([m for r in dev for m in matrices(r, model.with_ranks)],
                     [y for r in dev for y in r.labels])


def hybrid_runs(data: RetrievalSet, encode: Encoded) -> dict[str, list[str]]:
    """The public sets' current ranking: weighted RRF of lexical and dense over the corpus."""
    lex = make_lexical(LEXICAL).fit(list(data.doc_texts)).score(list(data.query_texts))
    dense = encode(data.query_texts, "query") @ encode(data.doc_texts, "document").T
    fused = rrf({"lexical": lex, "dense": dense}, HYBRID_WEIGHTS, RankerConfig.rrf_k)
    return {q: top_ids(fused[i], data.doc_ids, 10) for i, q in enumerate(data.query_ids)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=5000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0, help="which queries go together")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    print(machine_header())
    encode = Encoded(args.encoder)
    variants = dict(VARIANTS)
    if find_spec("lightgbm") is None:
        if args.write:
            parser.error(f"--write saves the {CANDIDATE} model, which needs lightgbm")
        print(f"lightgbm is not installed (pip install lightgbm): no {CANDIDATE} rows")
        del variants[CANDIDATE]
    dev = [Ranked(n, load_retrieval_dir(SETS[n]), encode) for n in ("devset", "devset2")]
    oof = {name: cross_validated(dev, args.folds, make, args.fold_seed) for name, make in variants.items()}
    final = {name: trained_on(dev, make) for name, make in variants.items()}
    logistic = final["pairwise logistic"]
    assert isinstance(logistic, LearnedFusion)
    print("\npairwise logistic weights (every dev-set query, standardised features):",
          logistic.weights())
    if args.write:
        final[CANDIDATE].save(
            args.write, trained=datetime.now(UTC).strftime("%Y-%m-%d"),
            sets="data/devset + data/devset2 (every query)",
            command=f"python bench/learned_fusion.py --sets devset,devset2 --write {args.write}")
        print(f"wrote {args.write}")
    for name in args.sets.split(","):
        if name.startswith("devset"):
            r = next(d for d in dev if d.name == name)
            runs = {"site": r.runs(None, range(len(r.pools))),
                    **{v: oof[v][name] for v in variants}}
            baseline = "site"
        else:
            data = load_retrieval_dir(SETS[name], args.limit)
            r = Ranked(name, data, encode)
            runs = {"hybrid": hybrid_runs(data, encode), "site, text only": r.runs(None, range(len(r.pools))),
                    **{v: r.runs(final[v], range(len(r.pools))) for v in variants}}
            baseline = "hybrid"
        groups = {name: list(range(len(r.data.query_ids)))}
        if name == "devset":
            for part in ("a-", "b-"):
                groups[f"{name} part {part[0]}"] = [i for i, q in enumerate(r.data.query_ids)
                                                    if q.startswith(part)]
        for label, rows in groups.items():
            table = {m: ranked_per_query(run, r.data, rows) for m, run in runs.items()}
            report(label, table, baseline, args.resamples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
