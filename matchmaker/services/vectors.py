"""The one adapter between rows and the ranking library.

It turns challenges and solution profiles into `embeddings.MatchDocument`s, keeps their stored
vectors in step with their text (re-embedding only slots whose text hash or model changed), and
holds a fitted `TwoSidedRecommender` that follows the rows and vectors: what changed since the
last look is updated in place (`TwoSidedRecommender.updated`), and the whole index is fitted
again only after many changes or an hour.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from flask import current_app, g
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from embeddings import Encoder, SideChanges, load_encoder, text_hash
from embeddings.recommender import MatchDocument, RankerConfig, TwoSidedRecommender, embedding_texts
from matchmaker.jobs import after_commit_batch
from matchmaker.locks import named_lock
from matchmaker.refreshing import refreshing
from models import Challenge, Organisation, Solution, StoredVector, db
from models.base import count_and_latest, sqlite_writes_ahead, utcnow
from models.challenge import TEXT_FIELDS as CHALLENGE_TEXT_FIELDS
from models.solution import TEXT_FIELDS as SOLUTION_TEXT_FIELDS

log = logging.getLogger(__name__)

Entity = Challenge | Solution
KINDS: tuple[tuple[str, type[Entity]], ...] = (("challenge", Challenge), ("solution", Solution))


def entity_type(entity: Entity) -> str:
    return "challenge" if isinstance(entity, Challenge) else "solution"


def document_for(entity: Entity) -> MatchDocument:
    if isinstance(entity, Challenge):
        return MatchDocument(
            id=entity.id,
            kind="challenge",
            fields={f: getattr(entity, f) or "" for f in CHALLENGE_TEXT_FIELDS},
            domains=frozenset(entity.domains or ()),
            prefectures=frozenset({entity.organisation.prefecture}),
            forms=frozenset(entity.collaboration_forms or ()),
            budget=(entity.budget_min, entity.budget_max),
            maturity=None,
            owner=f"org:{entity.organisation_id}",
        )
    return MatchDocument(
        id=entity.id,
        kind="solution",
        fields={f: getattr(entity, f) or "" for f in SOLUTION_TEXT_FIELDS},
        domains=frozenset(entity.domains or ()),
        prefectures=frozenset(entity.regions or ()),
        forms=frozenset(entity.collaboration_forms or ()),
        budget=(entity.price_min, entity.price_max),
        maturity=entity.maturity,
        owner=f"org:{entity.organisation_id}",
    )


def encoder() -> Encoder:
    spec = current_app.config["MATCHMAKER_ENCODER"]
    cache: dict[str, Encoder] = current_app.extensions.setdefault("encoders", {})
    if spec not in cache:
        cache[spec] = load_encoder(spec)
    return cache[spec]


def schedule_reembed(entity: Entity) -> None:
    """After the current transaction commits, bring this entity's vectors up to date.

    Saves queued before the runner takes them up are embedded together (`reembed_batch`).
    """
    after_commit_batch(db.session, reembed_batch, (entity_type(entity), entity.id))


def reembed_batch(items: Sequence[tuple[str, int]]) -> int:
    """Bring the vectors of these ``(kind, id)`` entities up to date: one encoder call per role
    and one write transaction for all; entities deleted meanwhile are skipped."""
    entities: list[Entity] = []
    for kind, model in KINDS:
        ids = sorted({entity_id for k, entity_id in items if k == kind})
        if ids:
            entities += db.session.scalars(select(model).where(model.id.in_(ids)).order_by(model.id))
    return _embed_entities(entities) if entities else 0


def sync_all_vectors(batch_size: int = 32, wait: float = 0.0) -> int:
    """Embed every slot that is missing or stale for the configured encoder.

    One process sweeps at a time (a named lock). Another that starts meanwhile waits up to
    ``wait`` seconds for it and then sweeps what is left, or (by default) leaves it to the first
    rather than encoding the same texts again.
    """
    with named_lock("sync-vectors", wait=wait) as held:
        return _sync_all(batch_size) if held else 0


def _sync_all(batch_size: int) -> int:
    written = 0
    models: tuple[type[Challenge | Solution], ...] = (Challenge, Solution)
    for model in models:
        ids = list(db.session.scalars(select(model.id).order_by(model.id)))
        for start in range(0, len(ids), batch_size):
            rows: list[Entity] = list(db.session.scalars(
                select(model).where(model.id.in_(ids[start:start + batch_size]))))
            written += _embed_entities(rows)
    if written:
        log.info("embedded %d slots", written)
    return written


@dataclass(frozen=True)
class _Slot:
    kind: str
    entity_id: int
    slot: str
    role: str
    text: str
    digest: str


def _embed_entities(entities: Sequence[Entity]) -> int:
    """Bring the entities' stored vectors up to date and commit; returns the slots written.

    The model runs with no transaction open: on SQLite an open transaction during a slow encode
    would keep web requests from saving. The vectors are then written in one short transaction.
    """
    enc = encoder()
    stale = _stale_slots(entities, enc.model_id)
    db.session.commit()
    if not stale:
        return 0
    vectors: dict[_Slot, np.ndarray] = {}
    for role in ("query", "document"):
        batch = [s for s in stale if s.role == role]
        if batch:
            texts = [s.text for s in batch]
            encoded = enc.encode_queries(texts) if role == "query" else enc.encode_documents(texts)
            vectors.update(zip(batch, encoded))
    # The write transaction reads first (which rows are alive, which vectors exist): on SQLite it
    # must take the write lock when it begins, or a save committed meanwhile makes it fail with
    # "database is locked" (measured: 4 of 64 profiles saved in a burst were left unembedded).
    token = sqlite_writes_ahead.set(True)
    try:
        return _write_vectors(stale, vectors, enc.model_id)
    finally:
        sqlite_writes_ahead.reset(token)


def _write_vectors(stale: Sequence[_Slot], vectors: dict[_Slot, np.ndarray], model_id: str) -> int:
    alive = {
        kind: set(db.session.scalars(select(model.id).where(model.id.in_({s.entity_id for s in stale if s.kind == kind}))))
        for kind, model in KINDS
    }
    stored = _stored_for([(s.kind, s.entity_id) for s in stale], model_id)
    written = 0
    for slot, vector in vectors.items():
        if slot.entity_id not in alive[slot.kind]:
            continue  # deleted while the model ran
        key = (slot.kind, slot.entity_id, slot.slot)
        row = stored.get(key)
        if row is None:
            row = StoredVector(entity_type=slot.kind, entity_id=slot.entity_id, slot=slot.slot, model_id=model_id)
            db.session.add(row)
            stored[key] = row
        row.text_hash = slot.digest
        row.vector = vector
        written += 1
    db.session.commit()
    return written


def _stale_slots(entities: Sequence[Entity], model_id: str) -> list[_Slot]:
    stored = _stored_for([(entity_type(e), e.id) for e in entities], model_id)
    stale: list[_Slot] = []
    for entity in entities:
        kind = entity_type(entity)
        for slot, (role, text) in embedding_texts(document_for(entity)).items():
            digest = text_hash(text)
            row = stored.get((kind, entity.id, slot))
            if row is None or row.text_hash != digest:
                stale.append(_Slot(kind, entity.id, slot, role, text, digest))
    return stale


def _stored_for(keys: Sequence[tuple[str, int]], model_id: str) -> dict[tuple[str, int, str], StoredVector]:
    out: dict[tuple[str, int, str], StoredVector] = {}
    for kind in ("challenge", "solution"):
        ids = {entity_id for k, entity_id in keys if k == kind}
        if not ids:
            continue
        rows = db.session.scalars(
            select(StoredVector).where(
                StoredVector.entity_type == kind,
                StoredVector.entity_id.in_(ids),
                StoredVector.model_id == model_id,
            )
        )
        for row in rows:
            out[(kind, row.entity_id, row.slot)] = row
    return out


# --- the fitted recommender ---------------------------------------------------------------


# The index is updated in place while the documents saved or removed since its fit stay under
# REFIT_SHARE of all documents (or REFIT_MIN_CHANGES documents) and the fit is younger than
# REFIT_SECONDS; then it is fitted again, which refreshes the vocabulary, term statistics and
# calibration. (On the dev set an index updated with a tenth of its profiles kept 97.5% of a fresh
# fit's top 10: tests/embeddings/test_index_updates.py.)
REFIT_SHARE = 0.1
REFIT_MIN_CHANGES = 20
REFIT_SECONDS = 3600.0
# Rows stamped up to this long before the latest change an index has seen are looked at again: a
# transaction that stamped its rows before another's but committed after it is not missed.
LATE_COMMIT = timedelta(seconds=120)


class HitsKey(NamedTuple):
    """A ranking call whose hits an index keeps: recommender method, query id, how many, the ids
    left out, for explanations of a chosen few their ids, and whether the hits carry reasons."""

    method: str
    item_id: int
    k: int
    exclude_ids: tuple[int, ...] = ()
    only_ids: tuple[int, ...] = ()
    explain: bool = True


# Hits kept per index (about 2 KB each with their features and reasons; a similar-challenges
# reference list holds 100): past this many in all the kept lists start afresh.
MAX_KEPT_HITS = 50_000


class KeptHits:
    """Ranking calls' hit lists asked of one index (``services.recommend``), ``MAX_KEPT_HITS`` hits
    at most: once full it is emptied, not trimmed, so a worker never holds more than about 100 MB
    of them whatever the catalogue size."""

    def __init__(self) -> None:
        self._entries: dict[HitsKey, tuple[Any, ...] | None] = {}
        self._hits = 0

    def get(self, key: HitsKey, default: Any = None) -> Any:
        return self._entries.get(key, default)

    def put(self, key: HitsKey, found: tuple[Any, ...] | None) -> None:
        if self._hits + len(found or ()) > MAX_KEPT_HITS:
            self._entries, self._hits = {}, 0  # a new dict: a request reading the old one is not disturbed
        self._entries[key] = found
        self._hits += len(found or ())

    def __iter__(self) -> Iterator[HitsKey]:
        return iter(list(self._entries.copy()))

    def keep_from(self, previous: KeptHits, keep: Callable[[HitsKey], bool]) -> None:
        """Add the entries of ``previous`` that ``keep`` accepts (requests may add to it meanwhile)."""
        for key, found in previous._entries.copy().items():
            if keep(key):
                self.put(key, found)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class FittedIndex:
    key: _State
    recommender: TwoSidedRecommender
    published_challenge_ids: frozenset[int]
    fitted_at: float  # time.monotonic() of the last whole fit
    stamps: Mapping[tuple[str, int], datetime]  # recent rows' updated_at, as applied
    changed: frozenset[tuple[str, int]] = frozenset()  # documents saved or removed since the fit
    # Rankings asked of this index, kept by an update that cannot change them.
    hits: KeptHits = field(default_factory=KeptHits, compare=False, repr=False)

    @functools.cached_property
    def unpublished_challenge_ids(self) -> tuple[int, ...]:
        """Indexed challenges that are not published (left out of the challenges for a profile)."""
        return tuple(sorted(set(self.recommender.challenge_rows_) - self.published_challenge_ids))

    @functools.cached_property
    def vectors_pending(self) -> bool:
        """Whether a challenge or profile in the index has no vectors yet (ranked by its text)."""
        rec = self.recommender
        return not all(has.all() for has in (rec.c2s_.source_has_, rec.c2s_.target_has_,
                                             rec.s2c_.source_has_, rec.s2c_.target_has_))


class _State(NamedTuple):
    """What the index depends on, read in one round trip: row counts and latest changes of
    challenges, profiles, organisations (a challenge's document carries its organisation's
    prefecture) and this model's vectors; the sums of challenge and profile ids (a deletion with
    an insertion leaves the count as it was, not the sum); and how many of these rows were
    stamped within LATE_COMMIT of now (a save stamped before the latest change but committed
    after it moves neither count nor latest change)."""

    model_id: str
    challenges: int
    challenges_at: datetime | None
    solutions: int
    solutions_at: datetime | None
    organisations: int
    organisations_at: datetime | None
    vectors: int
    vectors_at: datetime | None
    challenge_ids: int | None
    solution_ids: int | None
    recent: int


_WATCHED: tuple[tuple[str, Any], ...] = (
    ("challenge", Challenge), ("solution", Solution), ("organisation", Organisation), ("vector", StoredVector))


def _watched(model_id: str) -> list[tuple[str, Any, tuple[Any, ...]]]:
    return [(name, model, (StoredVector.model_id == model_id,) if model is StoredVector else ())
            for name, model in _WATCHED]


def _state_key(model_id: str) -> _State:
    watched = _watched(model_id)
    parts = [part for _, model, where in watched for part in count_and_latest(model, model.updated_at, *where)]
    parts += [select(func.sum(model.id)).scalar_subquery() for model in (Challenge, Solution)]
    recently = utcnow() - LATE_COMMIT
    recent = [select(func.count(model.id)).where(model.updated_at >= recently, *where).scalar_subquery()
              for _, model, where in watched]
    row = tuple(db.session.execute(select(*parts, *recent)).one())
    return _State._make((model_id, *row[:len(parts)], sum(row[len(parts):])))


def fitted_index() -> FittedIndex:
    """The recommender over all challenges and active profiles, kept up to date with the data.

    Every process (each gunicorn worker) holds one, refreshed in the background
    (`matchmaker.refreshing`): a save in any process is ranked by every process within about
    ``INDEX_REFRESH_SECONDS`` plus the update, and no request but the first waits for a fit. Within
    one app context (a web request) the same index is used throughout.
    """
    cached: FittedIndex | None = g.get("fitted_index")
    if cached is not None:
        return cached
    g.fitted_index = refreshing("ranking-index", lambda: _state_key(encoder().model_id), _build).get()
    return g.fitted_index


def _build(key: _State, previous: FittedIndex | None) -> FittedIndex:
    if (previous is None or previous.key.model_id != key.model_id
            or time.monotonic() - previous.fitted_at > REFIT_SECONDS):
        return _fit(key)
    return _update(previous, key) or _fit(key)


def _fit(key: _State) -> FittedIndex:
    started = time.perf_counter()
    enc = encoder()
    stamps = _recent_stamps(key)
    challenges = _challenges()
    solutions = _solutions(Solution.active.is_(True))
    recommender = TwoSidedRecommender(RankerConfig()).fit(
        [document_for(c) for c in challenges],
        _vectors_for("challenge", [c.id for c in challenges], enc),
        [document_for(s) for s in solutions],
        _vectors_for("solution", [s.id for s in solutions], enc),
    )
    log.info("fitted the ranking index (%d challenges, %d profiles) in %.2f s",
             len(challenges), len(solutions), time.perf_counter() - started)
    return FittedIndex(
        key=key,
        recommender=recommender,
        published_challenge_ids=frozenset(c.id for c in challenges if c.status == "published"),
        fitted_at=time.monotonic(),
        stamps=stamps,
    )


def _challenges(*where: Any) -> list[Challenge]:
    """Challenges with the organisation their document reads, in id order."""
    return list(db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation)).where(*where).order_by(Challenge.id)))


def _solutions(*where: Any) -> list[Solution]:
    return list(db.session.scalars(select(Solution).where(*where).order_by(Solution.id)))


def _recent_stamps(since: _State) -> dict[tuple[str, int], datetime]:
    """``updated_at`` of the rows stamped within LATE_COMMIT of the latest changes in ``since``
    (every row of a table that ``since`` found empty), read before the rows they stand for: a
    change committed in between is looked at again next time."""
    latest = {"challenge": since.challenges_at, "solution": since.solutions_at,
              "organisation": since.organisations_at, "vector": since.vectors_at}
    stamps: dict[tuple[str, int], datetime] = {}
    for name, model, where in _watched(since.model_id):
        stamped = latest[name]
        if stamped is not None:
            where = (*where, model.updated_at >= stamped - LATE_COMMIT)
        stamps.update(((name, row_id), stamp) for row_id, stamp in db.session.execute(
            select(model.id, model.updated_at).where(*where)))
    return stamps


def _changed_since(previous: FittedIndex) -> tuple[dict[str, set[int]], dict[tuple[str, int], datetime]]:
    """Challenges and profiles whose row, organisation or vectors changed since ``previous`` was
    built, and the stamps read."""
    stamps = _recent_stamps(previous.key)
    fresh = [k for k, stamp in stamps.items() if previous.stamps.get(k) != stamp]
    changed: dict[str, set[int]] = {"challenge": set(), "solution": set()}
    for name, row_id in fresh:
        if name in changed:
            changed[name].add(row_id)
    vector_ids = [row_id for name, row_id in fresh if name == "vector"]
    if vector_ids:
        for kind, entity_id in db.session.execute(select(StoredVector.entity_type, StoredVector.entity_id).where(
                StoredVector.id.in_(vector_ids))):
            changed[kind].add(entity_id)
    organisation_ids = [row_id for name, row_id in fresh if name == "organisation"]
    if organisation_ids:
        changed["challenge"].update(db.session.scalars(
            select(Challenge.id).where(Challenge.organisation_id.in_(organisation_ids))))
    return changed, stamps


def _update(previous: FittedIndex, key: _State) -> FittedIndex | None:
    """``previous`` with what changed since it was built, or None when a whole fit is due."""
    started = time.perf_counter()
    changed, stamps = _changed_since(previous)
    rec = previous.recommender
    removed: dict[str, set[int]] = {"challenge": set(), "solution": set()}
    if (key.challenges, key.challenge_ids, key.solutions, key.solution_ids) != (
            previous.key.challenges, previous.key.challenge_ids, previous.key.solutions, previous.key.solution_ids):
        # rows added or deleted: compare ids
        indexed = {"challenge": set(rec.challenge_rows_), "solution": set(rec.solution_rows_)}
        current = {"challenge": set(db.session.scalars(select(Challenge.id))),
                   "solution": set(db.session.scalars(select(Solution.id).where(Solution.active.is_(True))))}
        for kind in removed:
            removed[kind] |= indexed[kind] - current[kind]
            changed[kind] |= current[kind] - indexed[kind]
    if not any(changed.values()) and not any(removed.values()):
        return replace(previous, key=key, stamps=stamps)
    touched = previous.changed | {(kind, i) for part in (changed, removed) for kind, ids in part.items() for i in ids}
    if len(touched) > max(REFIT_MIN_CHANGES, REFIT_SHARE * (len(rec.challenges_) + len(rec.solutions_))):
        return None
    enc = encoder()
    challenges = _challenges(Challenge.id.in_(changed["challenge"])) if changed["challenge"] else []
    solutions = _solutions(Solution.id.in_(changed["solution"])) if changed["solution"] else []
    removed["challenge"] |= changed["challenge"] - {c.id for c in challenges}
    removed["solution"] |= changed["solution"] - {s.id for s in solutions if s.active}
    solutions = [s for s in solutions if s.active]
    recommender = rec.updated(
        SideChanges([document_for(c) for c in challenges],
                    _vectors_for("challenge", [c.id for c in challenges], enc, only_these=True), removed["challenge"]),
        SideChanges([document_for(s) for s in solutions],
                    _vectors_for("solution", [s.id for s in solutions], enc, only_these=True), removed["solution"]),
    )
    published = (previous.published_challenge_ids - removed["challenge"] - {c.id for c in challenges}) | {
        c.id for c in challenges if c.status == "published"}
    index = replace(previous, key=key, recommender=recommender, published_challenge_ids=frozenset(published),
                    changed=frozenset(touched), stamps=stamps, hits=KeptHits())
    # The lists the update leaves exactly as they were (``KeptRankings``: a draft edited beside
    # them, another profile saved). The presenter leaves out the challenges unpublished now, so a
    # list that left out others is not asked again.
    hidden, kept = index.unpublished_challenge_ids, recommender.kept_
    index.hits.keep_from(previous.hits, lambda k: kept.keeps(k.method, k.item_id, k.exclude_ids)
                         and k.exclude_ids in ((), hidden))
    log.info("updated the ranking index (%d challenges and %d profiles saved, %d removed; %d of %d rankings kept) "
             "in %.3f s", len(challenges), len(solutions), sum(map(len, removed.values())), len(index.hits),
             len(previous.hits), time.perf_counter() - started)
    return index


def _vectors_for(kind: str, ids: Iterable[int], enc: Encoder, only_these: bool = False) -> dict[str, np.ndarray]:
    """Slot → (len(ids), dim) vectors of these entities, zero rows where none is stored; reads
    this kind's every vector unless ``only_these`` (a few ids)."""
    ids = list(ids)
    position = {entity_id: i for i, entity_id in enumerate(ids)}
    out: dict[str, np.ndarray] = {}
    where = [StoredVector.entity_type == kind, StoredVector.model_id == enc.model_id]
    if only_these:
        where.append(StoredVector.entity_id.in_(ids))
    rows = db.session.execute(select(StoredVector.entity_id, StoredVector.slot, StoredVector.data).where(*where))
    for entity_id, slot, data in rows:
        if entity_id not in position:
            continue
        matrix = out.get(slot)
        if matrix is None:
            matrix = out[slot] = np.zeros((len(ids), enc.dim), dtype=np.float32)
        matrix[position[entity_id]] = np.frombuffer(data, dtype=np.float32, count=enc.dim)
    return out
