"""Text channels of one ranking direction, with per-query calibration.

A ``Direction`` scores documents of a source side (as queries) against the documents of a target
side, lexically and densely. Each raw score is turned into a z-score against the source
document's own score distribution, estimated once at fit time on a fixed random sample of the
target side: z says how unusual this pair is *for this query*, which makes BM25 sums of long and
short queries and compressed cosines comparable, and keeps scores stable when filters leave only
a few candidates.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from embeddings.lexical import make_lexical, widened


def _row_stats(scores: np.ndarray, self_columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread per row; ``self_columns[i]`` (or -1) is a column to leave out of row ``i``."""
    if scores.shape[1] == 0:
        n = scores.shape[0]
        return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
    if self_columns is not None and np.any(self_columns >= 0):
        rows = np.flatnonzero(self_columns >= 0)
        scores = scores.astype(np.float64)
        keep = np.ones(scores.shape, dtype=bool)
        keep[rows, self_columns[rows]] = False
        count = keep.sum(axis=1)
        safe = np.maximum(count, 1)
        mean = np.where(keep, scores, 0.0).sum(axis=1) / safe
        var = np.where(keep, (scores - mean[:, None]) ** 2, 0.0).sum(axis=1) / safe
        # A document alone on its side has nothing to be calibrated against: no spread.
        return mean.astype(np.float32), np.where(count > 0, np.sqrt(var), 0.0).astype(np.float32)
    return scores.mean(axis=1).astype(np.float32), scores.std(axis=1).astype(np.float32)


def calibrate(raw: np.ndarray, mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """(raw - mean) / std, and 0 where the spread is unknown."""
    if np.ndim(mean) == 0 and np.ndim(std) == 0:  # one query: two passes over the scores
        if float(std) <= 1e-9:
            return np.zeros(np.shape(raw), dtype=np.float32)
        z: np.ndarray = np.subtract(raw, np.float32(mean), dtype=np.float32)
        z *= np.float32(1.0 / float(std))
        return z
    std_arr = np.asarray(std, dtype=np.float32)
    centred = np.asarray(raw, dtype=np.float32) - np.asarray(mean, dtype=np.float32)
    out: np.ndarray = np.divide(centred, std_arr, out=np.zeros_like(centred), where=std_arr > 1e-9)
    return out.astype(np.float32)


def has_vector(vectors: np.ndarray) -> np.ndarray:
    """Rows that hold a vector (all-zero rows mean "not embedded yet")."""
    if vectors.size == 0:
        return np.zeros(vectors.shape[0], dtype=bool)
    out: np.ndarray = np.any(vectors != 0, axis=1)
    return out


def sparse_rows_dot(
    matrix: sp.csr_matrix, rows: np.ndarray, vector: sp.csr_matrix, width: int
) -> np.ndarray:
    """Dot products of some CSR rows with one sparse row vector, without slicing the matrix.

    scipy's fancy row indexing costs milliseconds on a 100k-row matrix; this reads the rows'
    slices of ``indptr`` directly.
    """
    dense = np.zeros(width, dtype=np.float32)
    dense[vector.indices] = vector.data
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[np.asarray(rows) + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(len(rows), dtype=np.float32)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    positions = offsets + np.arange(total)
    products = matrix.data[positions] * dense[matrix.indices[positions]]
    owner = np.repeat(np.arange(len(rows)), lengths)
    return np.bincount(owner, weights=products, minlength=len(rows)).astype(np.float32)


@dataclass(frozen=True)
class RowUpdate:
    """How the rows of one side change between a fit and an update.

    Row ``i`` of the updated side is row ``take[i]`` of [the fitted rows, then the saved
    documents]; ``previous[i]`` is the fitted row of the same document (-1 for a new one);
    ``saved`` are the updated rows that hold a saved (new or changed) document; ``tokens`` are
    the saved documents' tokens in the order ``take`` numbers them; ``vectors`` are the whole
    updated side's vectors for the direction's slot; ``unchanged``: the same documents in the
    same rows.
    """

    take: np.ndarray
    previous: np.ndarray
    saved: np.ndarray
    tokens: Sequence[Sequence[str]]
    vectors: np.ndarray
    unchanged: bool


class Direction:
    """Lexical and dense scores from a source side to a target side.

    Args:
        lexical: Lexical spec (``"bm25:char23"`` …).
        sample_size: Target documents sampled to calibrate each source document.
        seed: Sampling seed.
    """

    def __init__(self, lexical: str, sample_size: int = 256, seed: int = 0) -> None:
        self.lexical = lexical
        self.sample_size = sample_size
        self.seed = seed
        self.same_side = False

    def fit(
        self,
        source_tokens: Sequence[Sequence[str]],
        target_tokens: Sequence[Sequence[str]],
        source_vectors: np.ndarray,
        target_vectors: np.ndarray,
        same_side: bool = False,
    ) -> Direction:
        """Index the target side and calibrate every source document.

        Args:
            source_tokens: Tokens of each source document's query text.
            target_tokens: Tokens of each target document.
            source_vectors: (n_source, dim) query-side vectors, or (n_source, 0).
            target_vectors: (n_target, dim) document-side vectors, or (n_target, 0).
            same_side: Source and target are the same documents (challenge → challenge): a
                document is left out of its own calibration sample, where its perfect score
                with itself would inflate the spread and squeeze every other score.

        Returns:
            self
        """
        self.index_ = make_lexical(self.lexical).fit_tokens(target_tokens, () if same_side else source_tokens)
        self.queries_ = self.index_.query_matrix_tokens(source_tokens).tocsr()
        self.source_vectors_ = np.asarray(source_vectors, dtype=np.float32)
        self.target_vectors_ = np.asarray(target_vectors, dtype=np.float32)
        self.source_has_ = has_vector(self.source_vectors_)
        self.target_has_ = has_vector(self.target_vectors_)
        self.all_targets_embedded_ = bool(self.target_has_.all())
        rng = np.random.default_rng(self.seed)
        n_target = len(target_tokens)
        self.sample_ = np.sort(rng.choice(n_target, min(self.sample_size, n_target), replace=False))
        self.same_side = same_side
        self.lex_mean_, self.lex_std_ = self.lexical_stats(self.queries_, self._self_columns(self.sample_))
        embedded = self.sample_[self.target_has_[self.sample_]]
        self.dense_mean_, self.dense_std_ = self.dense_stats(self.source_vectors_, self._self_columns(embedded))
        self.calibration_ = 0  # counts the updates that calibrated every source document anew
        return self

    def updated(self, source: RowUpdate, target: RowUpdate) -> Direction:
        """A copy with saved documents re-indexed in place of their old rows, new ones added and
        removed ones dropped, without refitting the rest.

        New terms of saved target documents join the vocabulary; the fitted terms' statistics and
        the calibration sample stay those of the fit (sampled documents that were removed leave
        it; a sample of the whole side stays the whole side). The saved source documents are
        calibrated again, and all of them when the sample gained documents. A direction whose two
        sides are unchanged is returned as it is.
        """
        if source.unchanged and target.unchanged:
            return self
        new = copy.copy(self)
        if not target.unchanged:
            new.index_ = self.index_.with_rows(target.take, target.tokens)
        queries = widened(self.queries_, len(new.index_.vocabulary_))  # new terms: empty columns
        if not source.unchanged:
            queries = sp.vstack([queries, new.index_.query_matrix_tokens(source.tokens)], format="csr")[source.take]
        new.queries_ = queries
        new.source_vectors_ = np.asarray(source.vectors, dtype=np.float32)
        new.target_vectors_ = np.asarray(target.vectors, dtype=np.float32)
        new.source_has_ = self.source_has_ if source.unchanged else has_vector(new.source_vectors_)
        if not target.unchanged:
            new.target_has_ = has_vector(new.target_vectors_)
            new.all_targets_embedded_ = bool(new.target_has_.all())
        fitted_targets = self.index_.doc_matrix_.shape[0]
        moved = np.full(fitted_targets, -1, dtype=np.int64)
        kept = target.previous >= 0
        moved[target.previous[kept]] = np.flatnonzero(kept)
        sample = moved[self.sample_]
        if self.sample_.size == fitted_targets:  # the sample was the whole side: it stays so
            new.sample_ = np.arange(min(len(target.take), self.sample_size))
        else:
            new.sample_ = np.sort(sample[sample >= 0])
        # A sample that gained documents (a small side sampled whole, growing) calibrates every
        # source document anew: its spread was measured on fewer targets. One that lost or changed
        # a few of its documents is kept until the next fit, as the term statistics are: a
        # challenge saved beside 100k profiles would otherwise recalibrate every profile.
        recalibrate = source.saved
        if new.sample_.size > np.count_nonzero(sample >= 0):
            recalibrate = np.arange(len(source.take))
            new.calibration_ = self.calibration_ + 1
        old_row = np.maximum(source.previous, 0)
        stats = []
        for mean, std in ((self.lex_mean_, self.lex_std_), (self.dense_mean_, self.dense_std_)):
            stats.append((mean[old_row].copy(), std[old_row].copy()))
        if recalibrate.size:
            rows = recalibrate
            columns = new._self_columns(new.sample_)
            lex = new.lexical_stats(new.queries_[rows], None if columns is None else columns[rows])
            embedded = new.sample_[new.target_has_[new.sample_]]
            columns = new._self_columns(embedded)
            dense = new.dense_stats(new.source_vectors_[rows], None if columns is None else columns[rows])
            for (mean, std), (fresh_mean, fresh_std) in zip(stats, (lex, dense)):
                mean[rows], std[rows] = fresh_mean, fresh_std
        (new.lex_mean_, new.lex_std_), (new.dense_mean_, new.dense_std_) = stats
        return new

    def _self_columns(self, sample: np.ndarray) -> np.ndarray | None:
        """Per source row, its own position in ``sample`` (-1 if absent); None unless same-sided."""
        if not self.same_side:
            return None
        columns = np.full(self.queries_.shape[0], -1, dtype=np.int64)
        columns[sample] = np.arange(len(sample))
        return columns

    def lexical_stats(self, query_rows: sp.csr_matrix,
                      self_columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of lexical scores of query rows over the calibration sample."""
        sample = self.index_.doc_matrix_[self.sample_]
        return _row_stats(np.asarray((query_rows @ sample.T).toarray(), dtype=np.float32), self_columns)

    def dense_stats(self, vectors: np.ndarray,
                    self_columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of cosines of query vectors over the embedded part of the sample."""
        sample = self.sample_[self.target_has_[self.sample_]]
        if vectors.size == 0 or sample.size == 0:
            n = vectors.shape[0]
            return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        return _row_stats(vectors @ self.target_vectors_[sample].T, self_columns)

    def lexical_z(self, query_row: sp.csr_matrix, mean: float, std: float) -> np.ndarray:
        """Calibrated lexical score of one query row against every target document."""
        return calibrate(self.index_.score_one(query_row), mean, std)

    def dense_z(self, vector: np.ndarray | None, mean: float, std: float) -> np.ndarray:
        """Calibrated cosine of one query vector against every target (0 where not embedded)."""
        n = self.target_vectors_.shape[0]
        if vector is None or not np.any(vector) or self.target_vectors_.size == 0:
            return np.zeros(n, dtype=np.float32)
        z = calibrate(self.target_vectors_ @ vector, mean, std)
        if not self.all_targets_embedded_:
            z[~self.target_has_] = 0.0
        return z

    def source_z(self, rows: np.ndarray, target_row: int) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated (lexical, dense) scores of source documents ``rows`` for one target.

        Used for the reverse direction: how the recommended documents would rank the query.
        """
        doc = self.index_.doc_matrix_[target_row]
        return self.pair_z(rows, doc, self.target_vectors_[target_row])

    def pair_z(
        self, rows: np.ndarray, target_doc: sp.csr_matrix, target_vector: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like ``source_z`` for a target given as a weight row and a vector (may be absent)."""
        lex_raw = sparse_rows_dot(self.queries_, rows, target_doc, len(self.index_.vocabulary_))
        lex = calibrate(lex_raw, self.lex_mean_[rows], self.lex_std_[rows])
        dense = np.zeros(len(rows), dtype=np.float32)
        if target_vector is not None and np.any(target_vector) and self.source_vectors_.size:
            raw = self.source_vectors_[rows] @ target_vector
            dense = calibrate(raw, self.dense_mean_[rows], self.dense_std_[rows])
            dense[~self.source_has_[rows]] = 0.0
        return lex, dense
