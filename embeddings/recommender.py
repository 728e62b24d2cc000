"""Two-sided recommendation of solutions for challenges and challenges for companies.

For a query document the ranker (1) applies filters and excludes the query's own organisation,
(2) scores every remaining target with calibrated lexical and dense scores plus structured fit,
(3) re-scores the best ``pool_size`` with the reverse direction (how the target would rank the
query), (4) fuses, diversifies (MMR), caps exposure per owner and (5) explains each hit.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from embeddings.assemble import rank_pool
from embeddings.channels import Direction, RowUpdate
from embeddings.config import RankerConfig
from embeddings.documents import (
    CHALLENGE,
    SOLUTION,
    Filters,
    MatchDocument,
    Reason,
    Recommendation,
    embedding_texts,
)
from embeddings.lexical import make_lexical
from embeddings.outcomes import OutcomeReranker
from embeddings.reasons import PhraseStats
from embeddings.search import top_k_indices
from embeddings.structure import SideIndex, filter_mask, structure_features

__all__ = [
    "Filters", "KeptRankings", "MatchDocument", "RankerConfig", "Reason", "Recommendation", "SideChanges",
    "TwoSidedRecommender", "embedding_texts",
]


@dataclass(frozen=True)
class SideChanges:
    """What changed on one side since the fit: documents saved (new or changed) with their
    vectors (slot → (len(saved), dim), all-zero or missing rows for "not embedded yet"), and the
    ids of documents removed."""

    saved: Sequence[MatchDocument] = ()
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)
    removed: Collection[int] = ()


# What each ranking call reads: (query side, target side, directions). A query's scores against
# a target depend only on the two documents and on the query's calibration, so a change elsewhere
# on the target side reaches a list only through the changed document itself.
_READS = {
    "solutions_for": (CHALLENGE, SOLUTION, ("c2s_", "s2c_")),
    "challenges_for": (SOLUTION, CHALLENGE, ("s2c_", "c2s_")),
    "similar_challenges": (CHALLENGE, CHALLENGE, ("c2c_",)),
}


@dataclass(frozen=True)
class KeptRankings:
    """Which rankings of the recommender an update started from are still exact on the update.

    A list is kept when its query document is unchanged, every changed target document was
    left out of it (``exclude_ids``: a draft edited beside the published challenges that a
    profile's list shows), and the directions it reads calibrated no one anew (a small side
    sampled whole recalibrates all its queries when it grows). A refit keeps nothing.
    """

    changed: Mapping[str, frozenset[int]] = field(default_factory=dict)  # side → ids saved or removed
    recalibrated: frozenset[str] = frozenset()  # directions whose every query was calibrated anew
    everything_changed: bool = False

    def keeps(self, method: str, item_id: int, exclude_ids: Collection[int] = ()) -> bool:
        if self.everything_changed:
            return False
        query, target, directions = _READS[method]
        return (item_id not in self.changed.get(query, frozenset())
                and self.changed.get(target, frozenset()).issubset(exclude_ids)
                and self.recalibrated.isdisjoint(directions))


@dataclass(frozen=True)
class _Merged:
    docs: tuple[MatchDocument, ...]
    take: np.ndarray  # new row -> row of [old rows, saved documents]
    previous: np.ndarray  # new row -> old row of the same document, -1 for a new one
    saved: np.ndarray  # new rows that hold a saved document
    unchanged: bool  # the same documents in the same rows


def _merge(old: tuple[MatchDocument, ...], rows: Mapping[int, int], changes: SideChanges) -> _Merged:
    """Saved documents replace their old rows in place, new ones go last, removed ones go."""
    saved_at = {doc.id: i for i, doc in enumerate(changes.saved)}
    removed = set(changes.removed) - saved_at.keys()
    docs: list[MatchDocument] = []
    take: list[int] = []
    previous: list[int] = []
    for row, doc in enumerate(old):
        if doc.id in removed:
            continue
        position = saved_at.get(doc.id)
        docs.append(doc if position is None else changes.saved[position])
        take.append(row if position is None else len(old) + position)
        previous.append(row)
    for doc_id, position in saved_at.items():
        if doc_id not in rows:
            docs.append(changes.saved[position])
            take.append(len(old) + position)
            previous.append(-1)
    take_arr = np.array(take, dtype=np.int64)
    return _Merged(tuple(docs), take_arr, np.array(previous, dtype=np.int64),
                   np.flatnonzero(take_arr >= len(old)), unchanged=not saved_at and len(docs) == len(old))


def _stack(old: np.ndarray, saved: np.ndarray | None, n_saved: int, take: np.ndarray) -> np.ndarray:
    """Rows ``take`` of [old vectors, saved vectors]; a side without vectors gets zero rows."""
    width = old.shape[1] or (0 if saved is None else np.asarray(saved).shape[1])
    added = np.zeros((n_saved, width), dtype=np.float32)
    if saved is not None and np.asarray(saved).shape[1] == width:
        added[:] = saved
    if old.shape[1] != width:
        old = np.zeros((old.shape[0], width), dtype=np.float32)
    stacked: np.ndarray = np.concatenate([old, added])[take]
    return stacked


@dataclass(frozen=True)
class _Query:
    """Everything needed to rank for one query document."""

    doc: MatchDocument
    lex_row: sp.csr_matrix
    lex_stats: tuple[float, float]
    vector: np.ndarray | None
    dense_stats: tuple[float, float]
    reverse_doc: sp.csr_matrix | None
    reverse_vector: np.ndarray | None
    self_row: int | None


def _vectors(vectors: Mapping[str, np.ndarray], slot: str, n: int) -> np.ndarray:
    found = vectors.get(slot)
    if found is None:
        return np.zeros((n, 0), dtype=np.float32)
    arr = np.asarray(found, dtype=np.float32)
    if arr.shape[0] != n:
        raise ValueError(f"slot {slot!r} has {arr.shape[0]} rows for {n} documents")
    return arr


class TwoSidedRecommender:
    """Hybrid two-way ranker over challenges and solution profiles.

    Args:
        config: Weights and list shaping; defaults are tuned on the development set.
        reranker: A fitted ``OutcomeReranker``; used only once it is active and has at least
            ``config.min_labels`` labels.
    """

    def __init__(
        self, config: RankerConfig | None = None, reranker: OutcomeReranker | None = None
    ) -> None:
        self.config = config
        self.reranker = reranker
        self.kept_ = KeptRankings(everything_changed=True)  # from the recommender this one was updated from

    def fit(
        self,
        challenges: Sequence[MatchDocument],
        challenge_vectors: Mapping[str, np.ndarray],
        solutions: Sequence[MatchDocument],
        solution_vectors: Mapping[str, np.ndarray],
    ) -> TwoSidedRecommender:
        """Index both sides.

        Args:
            challenges: Challenge documents.
            challenge_vectors: Slot (see ``embedding_texts``) → (n_challenges, dim) float32;
                all-zero rows mean "not embedded yet" (ranked by lexical + structure).
            solutions: Solution documents.
            solution_vectors: Slot → (n_solutions, dim) float32.

        Returns:
            self
        """
        cfg = self.config_ = self.config or RankerConfig()
        self.challenges_ = tuple(challenges)
        self.solutions_ = tuple(solutions)
        nc, ns = len(self.challenges_), len(self.solutions_)
        self.challenge_rows_ = {d.id: i for i, d in enumerate(self.challenges_)}
        self.solution_rows_ = {d.id: i for i, d in enumerate(self.solutions_)}
        c_query = _vectors(challenge_vectors, "query", nc)
        c_doc = _vectors(challenge_vectors, "document", nc)
        s_query = _vectors(solution_vectors, "query", ns)
        s_doc = _vectors(solution_vectors, "document", ns)
        c_full = [d.text() for d in self.challenges_]
        s_full = [d.text() for d in self.solutions_]

        # Lexical queries use every field: on the dev set BM25 with the whole challenge as the
        # query beat the need fields alone (MRR@10 0.75 vs 0.66). Each text is tokenised once.
        tokenize = make_lexical(cfg.lexical).tokenize
        c_full_t, s_full_t = tokenize(c_full), tokenize(s_full)

        def direction() -> Direction:
            return Direction(cfg.lexical, cfg.calibration_sample, cfg.seed)

        self.c2s_ = direction().fit(c_full_t, s_full_t, c_query, s_doc)
        self.s2c_ = direction().fit(s_full_t, c_full_t, s_query, c_doc)
        self.c2c_ = direction().fit(c_full_t, c_full_t, c_doc, c_doc, same_side=True)
        self.challenge_index_ = SideIndex.build(CHALLENGE, self.challenges_)
        self.solution_index_ = SideIndex.build(SOLUTION, self.solutions_)
        owners = sorted({d.owner for d in self.challenges_ + self.solutions_})
        self.owner_codes_ = {o: i for i, o in enumerate(owners)}
        self._owner_arrays = {
            CHALLENGE: np.array([self.owner_codes_[d.owner] for d in self.challenges_], dtype=np.int64),
            SOLUTION: np.array([self.owner_codes_[d.owner] for d in self.solutions_], dtype=np.int64),
        }
        rng = np.random.default_rng(cfg.seed)
        texts = [t for t in (c_full + s_full)]
        pick = rng.permutation(len(texts))[:4000]
        self.phrase_stats_ = PhraseStats.fit(texts[i] for i in pick)
        return self

    def updated(self, challenges: SideChanges = SideChanges(),
                solutions: SideChanges = SideChanges()) -> TwoSidedRecommender:
        """A new recommender with these changes, without refitting: saved documents are indexed
        again in place of their old rows, new ones are added, removed ones dropped. This one is
        left as it was (rankings in progress keep using it).

        New terms join the lexical vocabulary, but the fitted terms' statistics, the calibration
        samples and the phrase statistics stay those of the fit, so an updated index ranks a
        little differently from a fresh fit over the same documents; fit again after many
        changes. A side without changes keeps its arrays (a challenge saved beside 100k profiles
        leaves the profile side's matrices alone).
        """
        cfg = self.config_
        new = copy.copy(self)
        c = _merge(self.challenges_, self.challenge_rows_, challenges)
        s = _merge(self.solutions_, self.solution_rows_, solutions)
        tokenize = make_lexical(cfg.lexical).tokenize
        c_tokens = tokenize([d.text() for d in challenges.saved])
        s_tokens = tokenize([d.text() for d in solutions.saved])

        def rows(merged: _Merged, tokens: list[list[str]], old: np.ndarray,
                 saved: np.ndarray | None) -> RowUpdate:
            vectors = old if merged.unchanged else _stack(old, saved, len(tokens), merged.take)
            return RowUpdate(merged.take, merged.previous, merged.saved, tokens, vectors, merged.unchanged)

        c_query = rows(c, c_tokens, self.c2s_.source_vectors_, challenges.vectors.get("query"))
        c_doc = rows(c, c_tokens, self.s2c_.target_vectors_, challenges.vectors.get("document"))
        s_query = rows(s, s_tokens, self.s2c_.source_vectors_, solutions.vectors.get("query"))
        s_doc = rows(s, s_tokens, self.c2s_.target_vectors_, solutions.vectors.get("document"))
        new.c2s_ = self.c2s_.updated(c_query, s_doc)
        new.s2c_ = self.s2c_.updated(s_query, c_doc)
        new.c2c_ = self.c2c_.updated(c_doc, c_doc)
        unseen = {d.owner for d in (*challenges.saved, *solutions.saved)} - self.owner_codes_.keys()
        new.owner_codes_ = {**self.owner_codes_, **{o: len(self.owner_codes_) + i for i, o in enumerate(sorted(unseen))}}
        if not c.unchanged:
            new.challenges_, new.challenge_rows_ = c.docs, {d.id: i for i, d in enumerate(c.docs)}
            new.challenge_index_ = self.challenge_index_.updated(c.docs, c.take, challenges.saved)
        if not s.unchanged:
            new.solutions_, new.solution_rows_ = s.docs, {d.id: i for i, d in enumerate(s.docs)}
            new.solution_index_ = self.solution_index_.updated(s.docs, s.take, solutions.saved)
        new._owner_arrays = {
            kind: self._owner_arrays[kind] if merged.unchanged else np.concatenate([self._owner_arrays[kind], np.array(
                [new.owner_codes_[d.owner] for d in changes.saved], dtype=np.int64)])[merged.take]
            for kind, merged, changes in ((CHALLENGE, c, challenges), (SOLUTION, s, solutions))
        }
        new.kept_ = KeptRankings(
            changed={kind: frozenset(d.id for d in changes.saved) | frozenset(changes.removed)
                     for kind, changes in ((CHALLENGE, challenges), (SOLUTION, solutions))},
            recalibrated=frozenset(name for name in ("c2s_", "s2c_", "c2c_")
                                   if getattr(new, name).calibration_ != getattr(self, name).calibration_),
        )
        return new

    # --- public ranking calls -------------------------------------------------------------

    def solutions_for(
        self, challenge_id: int, k: int = 10, *, exclude_ids: Collection[int] = (),
        filters: Filters | None = None, explain: bool = True,
    ) -> list[Recommendation]:
        """Solution profiles for a challenge, best first.

        Args:
            challenge_id: An indexed challenge.
            k: How many.
            exclude_ids: Solution ids to leave out (e.g. already matched).
            filters: Hard filters on the solutions, applied before scoring.
            explain: Build reasons (skip them for offline evaluation).

        Returns:
            Up to ``k`` recommendations.
        """
        row = self.challenge_rows_[challenge_id]
        q = self._indexed_query(self.challenges_[row], row, self.c2s_, self.s2c_, None)
        return self._rank(q, self.c2s_, self.s2c_, self.solution_index_, self.solutions_,
                          k, exclude_ids, filters, explain)

    def challenges_for(
        self, solution_id: int, k: int = 10, *, exclude_ids: Collection[int] = (),
        filters: Filters | None = None, explain: bool = True,
    ) -> list[Recommendation]:
        """Challenges for a company's solution profile, best first (arguments as above)."""
        row = self.solution_rows_[solution_id]
        q = self._indexed_query(self.solutions_[row], row, self.s2c_, self.c2s_, None)
        return self._rank(q, self.s2c_, self.c2s_, self.challenge_index_, self.challenges_,
                          k, exclude_ids, filters, explain)

    def similar_challenges(
        self, challenge_id: int, k: int = 5, *, exclude_ids: Collection[int] = (), explain: bool = True,
        only_ids: Collection[int] = (),
    ) -> list[Recommendation]:
        """Challenges of other organisations most like this one (for ヨコ展開); ``only_ids``: rank
        those alone (to explain a few picked from a long list asked with ``explain=False``)."""
        row = self.challenge_rows_[challenge_id]
        q = self._indexed_query(self.challenges_[row], row, self.c2c_, None, row)
        return self._rank(q, self.c2c_, None, self.challenge_index_, self.challenges_, k, exclude_ids, None, explain,
                          only_ids)

    def rank_adhoc(
        self, query: MatchDocument, query_vectors: Mapping[str, np.ndarray] | None, k: int = 10
    ) -> list[Recommendation]:
        """Rank the other side for a document that is not in the index (e.g. a draft preview)."""
        fwd, rev = (self.c2s_, self.s2c_) if query.kind == CHALLENGE else (self.s2c_, self.c2s_)
        vectors = query_vectors or {}
        lex_row = fwd.index_.query_matrix([query.text()])
        lex_mean, lex_std = fwd.lexical_stats(lex_row)
        vector = vectors.get("query")
        vec = None if vector is None else np.asarray(vector, dtype=np.float32).reshape(-1)
        dense_stats = (0.0, 0.0)
        if vec is not None and vec.shape[0] == fwd.target_vectors_.shape[1]:
            mean, std = fwd.dense_stats(vec[None, :])
            dense_stats = (float(mean[0]), float(std[0]))
        else:
            vec = None
        doc_vec = vectors.get("document")
        q = _Query(
            query, lex_row, (float(lex_mean[0]), float(lex_std[0])), vec, dense_stats,
            rev.index_.document_matrix([query.text()]),
            None if doc_vec is None else np.asarray(doc_vec, dtype=np.float32).reshape(-1),
            None,
        )
        target = self.solution_index_ if query.kind == CHALLENGE else self.challenge_index_
        docs = self.solutions_ if query.kind == CHALLENGE else self.challenges_
        return self._rank(q, fwd, rev, target, docs, k, (), None, True)

    # --- internals ---------------------------------------------------------------------------

    def _indexed_query(
        self, doc: MatchDocument, row: int, fwd: Direction, rev: Direction | None,
        self_row: int | None,
    ) -> _Query:
        has_vec = fwd.source_has_.size > 0 and bool(fwd.source_has_[row])
        return _Query(
            doc=doc,
            lex_row=fwd.queries_[row],
            lex_stats=(float(fwd.lex_mean_[row]), float(fwd.lex_std_[row])),
            vector=fwd.source_vectors_[row] if has_vec else None,
            dense_stats=(float(fwd.dense_mean_[row]), float(fwd.dense_std_[row])),
            reverse_doc=None if rev is None else rev.index_.doc_matrix_[row],
            reverse_vector=None if rev is None or rev.target_vectors_.size == 0
            else rev.target_vectors_[row],
            self_row=self_row,
        )

    def _rank(
        self, q: _Query, fwd: Direction, rev: Direction | None, target: SideIndex,
        docs: tuple[MatchDocument, ...], k: int, exclude_ids: Collection[int],
        filters: Filters | None, explain: bool, only_ids: Collection[int] = (),
    ) -> list[Recommendation]:
        cfg = self.config_
        mask = filter_mask(filters, target)
        if q.doc.owner in self.owner_codes_:  # never recommend an organisation to itself
            mask &= self._owner_arrays[target.kind] != self.owner_codes_[q.doc.owner]
        if q.self_row is not None:
            mask[q.self_row] = False
        rows_of = self.challenge_rows_ if target.kind == CHALLENGE else self.solution_rows_
        if exclude_ids:
            mask[[rows_of[i] for i in exclude_ids if i in rows_of]] = False
        if only_ids:
            only = np.zeros_like(mask)
            only[[rows_of[i] for i in only_ids if i in rows_of]] = True
            mask &= only
        candidates = np.flatnonzero(mask)
        if candidates.size == 0 or k <= 0:
            return []
        lex = fwd.lexical_z(q.lex_row, *q.lex_stats)
        dense = fwd.dense_z(q.vector, *q.dense_stats)
        struct = structure_features(q.doc, target)
        weights = dict(cfg.structure_weights)
        if rev is None:  # similar challenges: only the topic matters
            weights = {"domain": weights.get("domain", 0.0)}
        # Each feature contributes weight × 2 × (value − 0.5); summed in place over all targets,
        # per-feature contributions only for the pool (they are shown as reasons).
        structure = np.full(len(docs), -sum(weights.get(n, 0.0) for n in struct), np.float32)
        scaled = np.empty_like(structure)
        for name, values in struct.items():
            if weights.get(name, 0.0):
                structure += np.multiply(values, np.float32(2.0 * weights[name]), out=scaled)
        forward = np.multiply(lex, np.float32(cfg.lexical_weight))
        forward += np.multiply(dense, np.float32(cfg.dense_weight), out=scaled)
        base = np.add(forward, structure, out=scaled)
        if candidates.size == base.size:  # nothing filtered out: no copy
            pool = top_k_indices(base, cfg.pool_size)
        else:
            pool = candidates[top_k_indices(base[candidates], cfg.pool_size)]
        if rev is not None and q.reverse_doc is not None:
            rlex, rdense = rev.pair_z(pool, q.reverse_doc, q.reverse_vector)
            reverse = cfg.lexical_weight * rlex + cfg.dense_weight * rdense
        else:
            rlex, rdense, reverse = lex[pool], dense[pool], forward[pool]
        return rank_pool(
            self, q.doc, docs, fwd.target_vectors_, pool, k,
            lex[pool], dense[pool], rlex, rdense, forward[pool], reverse, structure[pool],
            {n: v[pool] for n, v in struct.items()},
            {n: weights.get(n, 0.0) * 2.0 * (v[pool] - 0.5) for n, v in struct.items()},
            explain,
        )
