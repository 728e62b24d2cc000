"""Structured fit between a query document and every document of the other side, vectorised.

Features (each in [0, 1], one value per candidate):
    domain: share of the smaller domain set that overlaps (0.5 when either side has none).
    region: 1 when the solution serves the challenge's prefecture or is nationwide.
    form: share of the smaller form set that overlaps (0.5 when either side has none).
    budget: 1 when the budget and price ranges overlap, the ratio of the nearer ends when not,
        0.5 when either is unknown.
    maturity: the solution's maturity (idea 0 … in service 1; 0.5 unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embeddings.documents import CHALLENGE, MATURITY_LEVELS, Filters, MatchDocument

STRUCTURE_FEATURES = ("domain", "region", "form", "budget", "maturity")


@dataclass(frozen=True)
class CodeMatrix:
    """Each document's code set as a bit mask, for vectorised overlap counts.

    Up to 64 distinct codes per field fit one int64 (14 domains, 9 forms, 47 prefectures);
    a float multi-hot matrix product was 10 ms at 100k documents, popcounts take 0.2 ms.
    """

    codes: tuple[str, ...]
    masks: np.ndarray  # (n,) uint64
    sizes: np.ndarray  # (n,) float32, codes per document

    @classmethod
    def build(cls, sets: Sequence[frozenset[str]]) -> CodeMatrix:
        """Bit-encode ``sets`` (one per document)."""
        codes = tuple(sorted(set().union(*sets))) if sets else ()
        if len(codes) > 64:
            raise ValueError(f"at most 64 distinct codes per field, got {len(codes)}")
        bit = {c: 1 << i for i, c in enumerate(codes)}
        masks = np.array([sum(bit[c] for c in values) for values in sets], dtype=np.uint64)
        sizes = np.array([len(values) for values in sets], dtype=np.float32)
        return cls(codes, masks, sizes)

    def overlap(self, query: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
        """(shared count, document set size) for every document."""
        qmask = np.uint64(sum(1 << i for i, c in enumerate(self.codes) if c in query))
        shared = np.bitwise_count(self.masks & qmask).astype(np.float32)
        return shared, self.sizes


@dataclass(frozen=True)
class SideIndex:
    """Structured fields of every document of one side, ready for vectorised comparison."""

    kind: str
    domains: CodeMatrix
    forms: CodeMatrix
    prefectures: CodeMatrix
    budget_lo: np.ndarray  # float32, 0 = open
    budget_hi: np.ndarray  # float32, inf = open
    budget_unknown: np.ndarray  # bool: both ends open
    maturity: np.ndarray  # float32, nan = unknown
    owners: tuple[str, ...]

    @classmethod
    def build(cls, kind: str, docs: Sequence[MatchDocument]) -> SideIndex:
        """Index the structured fields of ``docs``."""
        def num(x: int | None) -> float:
            return float("nan") if x is None else float(x)

        return cls(
            kind=kind,
            domains=CodeMatrix.build([d.domains for d in docs]),
            forms=CodeMatrix.build([d.forms for d in docs]),
            prefectures=CodeMatrix.build([d.prefectures for d in docs]),
            budget_lo=np.nan_to_num(np.array([num(d.budget[0]) for d in docs], dtype=np.float32), nan=0.0),
            budget_hi=np.nan_to_num(np.array([num(d.budget[1]) for d in docs], dtype=np.float32), nan=np.inf),
            budget_unknown=np.array([d.budget == (None, None) for d in docs], dtype=bool),
            maturity=np.array(
                [MATURITY_LEVELS.get(d.maturity or "", np.nan) for d in docs], dtype=np.float32
            ),
            owners=tuple(d.owner for d in docs),
        )

    def updated(self, docs: Sequence[MatchDocument], take: np.ndarray, saved: Sequence[MatchDocument]) -> SideIndex:
        """The index of ``docs``, which are rows ``take`` of [this index's documents, then
        ``saved``]: only the saved documents are read (all of them when one brings a code this
        index has not seen)."""
        added = SideIndex.build(self.kind, saved)
        for name in ("domains", "forms", "prefectures"):
            if not set(getattr(added, name).codes) <= set(getattr(self, name).codes):
                return SideIndex.build(self.kind, docs)
        return self._taken(added, take)

    def _taken(self, added: SideIndex, take: np.ndarray) -> SideIndex:
        def codes(mine: CodeMatrix, theirs: CodeMatrix) -> CodeMatrix:
            bit = {c: np.uint64(1 << i) for i, c in enumerate(mine.codes)}
            masks = np.zeros(len(theirs.masks), dtype=np.uint64)
            for i, c in enumerate(theirs.codes):  # the added documents' bits, in this index's order
                masks[(theirs.masks & np.uint64(1 << i)) != 0] |= bit[c]
            return CodeMatrix(mine.codes, np.concatenate([mine.masks, masks])[take],
                              np.concatenate([mine.sizes, theirs.sizes])[take])

        def rows(name: str) -> np.ndarray:
            out: np.ndarray = np.concatenate([getattr(self, name), getattr(added, name)])[take]
            return out

        owners = self.owners + added.owners
        return SideIndex(
            kind=self.kind, domains=codes(self.domains, added.domains), forms=codes(self.forms, added.forms),
            prefectures=codes(self.prefectures, added.prefectures), budget_lo=rows("budget_lo"),
            budget_hi=rows("budget_hi"), budget_unknown=rows("budget_unknown"), maturity=rows("maturity"),
            owners=tuple(owners[i] for i in take),
        )


def _set_overlap(matrix: CodeMatrix, query: frozenset[str]) -> np.ndarray:
    if not query:
        return np.full(matrix.masks.shape[0], 0.5, dtype=np.float32)
    shared, size = matrix.overlap(query)
    smaller = np.minimum(size, np.float32(len(query)))
    out = shared / np.maximum(smaller, np.float32(1.0))
    out[smaller == 0] = 0.5
    return out


def _range_fit(lo_a: float, hi_a: float, side: SideIndex) -> np.ndarray:
    """1 on overlap, ratio of the nearer ends on a gap, 0.5 when a side is wholly unknown."""
    if np.isnan(lo_a) and np.isnan(hi_a):
        return np.full(side.budget_lo.shape[0], 0.5, dtype=np.float32)
    a_lo = np.float32(0.0 if np.isnan(lo_a) else lo_a)
    a_hi = np.float32(np.inf if np.isnan(hi_a) else hi_a)
    b_lo, b_hi = side.budget_lo, side.budget_hi  # float32; open ends already 0 / inf
    fit = np.ones(b_lo.shape[0], dtype=np.float32)
    dearer = np.flatnonzero(b_lo > a_hi)  # candidate's range above the query's
    fit[dearer] = a_hi / b_lo[dearer]
    cheaper = np.flatnonzero(b_hi < a_lo)  # candidate's range below the query's
    fit[cheaper] = np.minimum(fit[cheaper], b_hi[cheaper] / a_lo)
    fit[side.budget_unknown] = 0.5
    return fit


def structure_features(query: MatchDocument, side: SideIndex) -> dict[str, np.ndarray]:
    """Structured fit of ``query`` with every document of ``side`` (see module docstring)."""
    n = len(side.owners)
    region_served = side.prefectures.overlap(query.prefectures)
    if side.kind == CHALLENGE:
        # Candidates are challenges: the query solution serves them if nationwide or listed.
        served = region_served[0] > 0 if query.prefectures else np.ones(n, dtype=bool)
        maturity = np.full(n, MATURITY_LEVELS.get(query.maturity or "", 0.5), dtype=np.float32)
    else:
        shared, size = region_served
        served = (size == 0) | (shared > 0) if query.prefectures else np.ones(n, dtype=bool)
        maturity = np.nan_to_num(side.maturity, nan=0.5)
    lo, hi = (float("nan") if v is None else float(v) for v in query.budget)
    return {
        "domain": _set_overlap(side.domains, query.domains),
        "region": served.astype(np.float32),
        "form": _set_overlap(side.forms, query.forms),
        "budget": _range_fit(lo, hi, side),
        "maturity": maturity.astype(np.float32),
    }


def filter_mask(filters: Filters | None, side: SideIndex) -> np.ndarray:
    """Boolean mask of the documents of ``side`` that pass ``filters``."""
    n = len(side.owners)
    mask = np.ones(n, dtype=bool)
    if filters is None:
        return mask
    if filters.domains:
        mask &= side.domains.overlap(filters.domains)[0] > 0
    if filters.forms:
        mask &= side.forms.overlap(filters.forms)[0] > 0
    if filters.prefectures:
        shared, size = side.prefectures.overlap(filters.prefectures)
        mask &= (shared > 0) | ((size == 0) & (side.kind != CHALLENGE))
    if filters.maturity:
        levels = [MATURITY_LEVELS[m] for m in filters.maturity if m in MATURITY_LEVELS]
        mask &= np.isin(side.maturity, np.array(levels, dtype=np.float32))
    if filters.max_price is not None:
        mask &= ~(side.budget_lo > filters.max_price)  # open lower ends are 0: they pass
    return mask
