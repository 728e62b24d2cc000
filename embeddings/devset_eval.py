"""Structured evaluation: rank the development set with ``TwoSidedRecommender`` as the app does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from embeddings.config import RankerConfig
from embeddings.datasets import RetrievalSet
from embeddings.devset import challenge_document, solution_document
from embeddings.documents import MatchDocument, embedding_texts
from embeddings.encoders import load_encoder
from embeddings.metrics import evaluate_rankings
from embeddings.recommender import TwoSidedRecommender
from embeddings.vectorstore import VectorStore, encode_cached

Vectors = dict[str, np.ndarray]


def documents(data: RetrievalSet) -> tuple[list[MatchDocument], list[MatchDocument]]:
    """Challenges (from queries) and solutions (from the corpus); each its own owner by default."""
    challenges = [
        challenge_document(i, obj, owner=f"q:{qid}")
        for i, (qid, obj) in enumerate(zip(data.query_ids, data.query_objects))
    ]
    solutions = [
        solution_document(i, obj, owner=f"d:{did}")
        for i, (did, obj) in enumerate(zip(data.doc_ids, data.doc_objects))
    ]
    return challenges, solutions


def embed_documents(
    docs: Sequence[MatchDocument], encoder_spec: str | None, cache: Path | None
) -> Vectors:
    """Slot → vectors for ``docs`` (empty when ``encoder_spec`` is None)."""
    if encoder_spec is None or not docs:
        return {}
    encoder = load_encoder(encoder_spec)
    store = VectorStore(cache, encoder.model_id) if cache is not None else None
    out: Vectors = {}
    for slot in ("query", "document"):
        role = embedding_texts(docs[0])[slot][0]
        texts = [embedding_texts(d)[slot][1] for d in docs]
        out[slot] = encode_cached(encoder, texts, role, store)
    return out


def method_config(method: str, base: RankerConfig | None = None) -> RankerConfig:
    """The configuration that isolates one channel (or the full hybrid)."""
    cfg = base or RankerConfig()
    if method == "hybrid":
        return cfg
    single = replace(cfg, reverse_weight=0.0, structure_weights={}, mmr_lambda=1.0)
    if method == "lexical":
        return replace(single, dense_weight=0.0, lexical_weight=1.0)
    if method == "dense":
        return replace(single, lexical_weight=0.0, dense_weight=1.0)
    if method == "text":  # lexical + dense, one direction, no structure
        return single
    if method == "structure":
        return replace(single, lexical_weight=0.0, dense_weight=0.0,
                       structure_weights=cfg.structure_weights)
    raise ValueError(f"unknown method {method!r}")


def site_rankings(
    data: RetrievalSet,
    challenges: Sequence[MatchDocument],
    challenge_vectors: Mapping[str, np.ndarray],
    solutions: Sequence[MatchDocument],
    solution_vectors: Mapping[str, np.ndarray],
    config: RankerConfig,
    depth: int = 100,
) -> dict[str, list[str]]:
    """Query id → document ids as ``solutions_for`` ranks them with ``config``, best first."""
    rec = TwoSidedRecommender(config).fit(challenges, challenge_vectors, solutions, solution_vectors)
    return rankings_of(rec, data, challenges, depth)


def rankings_of(rec: TwoSidedRecommender, data: RetrievalSet, challenges: Sequence[MatchDocument],
                depth: int = 100) -> dict[str, list[str]]:
    """Query id → document ids as the fitted ``rec`` ranks them for each challenge, best first."""
    return {qid: [data.doc_ids[h.id] for h in rec.solutions_for(challenge.id, k=depth, explain=False)]
            for qid, challenge in zip(data.query_ids, challenges)}


def embed_both(
    data: RetrievalSet, encoder_spec: str | None, cache: Path | None
) -> tuple[list[MatchDocument], Vectors, list[MatchDocument], Vectors]:
    """The set's challenges and solutions as documents, each side with its vectors."""
    challenges, solutions = documents(data)
    return (challenges, embed_documents(challenges, encoder_spec, cache),
            solutions, embed_documents(solutions, encoder_spec, cache))


def run_structured(
    data: RetrievalSet, methods: Sequence[str], encoder_spec: str, cache: Path,
    config: RankerConfig | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per method (``lexical``, ``dense``, ``text``, ``structure``, ``hybrid``)."""
    need_dense = any(m != "lexical" and m != "structure" for m in methods)
    challenges, cv, solutions, sv = embed_both(data, encoder_spec if need_dense else None, cache)
    return {
        m: evaluate_rankings(
            site_rankings(data, challenges, cv, solutions, sv, method_config(m, config)), data.qrels)
        for m in methods
    }
