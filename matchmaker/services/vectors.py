"""The one adapter between rows and the ranking library.

It turns challenges and solution profiles into `embeddings.MatchDocument`s, keeps their stored
vectors in step with their text (re-embedding only slots whose text hash or model changed), and
holds a fitted `TwoSidedRecommender` that is rebuilt when rows or vectors change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app, g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from embeddings import Encoder, load_encoder, text_hash
from embeddings.recommender import MatchDocument, RankerConfig, TwoSidedRecommender, embedding_texts
from matchmaker.jobs import after_commit_batch
from matchmaker.locks import named_lock
from matchmaker.refreshing import refreshing
from models import Challenge, Organisation, Solution, StoredVector, db
from models.base import count_and_latest, sqlite_writes_ahead
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
    """Bring the vectors of these ``(kind, id)`` entities up to date: one engine call per role
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


@dataclass(frozen=True)
class FittedIndex:
    key: tuple[Any, ...]
    recommender: TwoSidedRecommender
    published_challenge_ids: frozenset[int]


def _state_key(model_id: str) -> tuple[Any, ...]:
    """What the index depends on, in one round trip: row counts and last changes of challenges,
    profiles, organisations (a challenge's document carries its organisation's prefecture) and
    this model's vectors."""
    parts = [part for model in (Challenge, Solution, Organisation) for part in count_and_latest(model, model.updated_at)]
    parts += count_and_latest(StoredVector, StoredVector.updated_at, StoredVector.model_id == model_id)
    return (model_id, *db.session.execute(select(*parts)).one())


def fitted_index() -> FittedIndex:
    """The recommender over all challenges and active profiles, rebuilt when data changed.

    Every process (each gunicorn worker) holds one, refreshed in the background
    (`matchmaker.refreshing`): a save in any process is ranked by every process within about
    ``INDEX_REFRESH_SECONDS`` plus the fit, and no request but the first waits for a fit. Within
    one app context (a web request) the same index is used throughout.
    """
    cached: FittedIndex | None = g.get("fitted_index")
    if cached is not None:
        return cached
    g.fitted_index = refreshing("ranking-index", lambda: _state_key(encoder().model_id), _fit).get()
    return g.fitted_index


def _fit(key: tuple[Any, ...]) -> FittedIndex:
    started = time.perf_counter()
    enc = encoder()
    challenges = list(db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation)).order_by(Challenge.id)))
    solutions = list(db.session.scalars(select(Solution).where(Solution.active.is_(True)).order_by(Solution.id)))
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
    )


def _vectors_for(kind: str, ids: Iterable[int], enc: Encoder) -> dict[str, np.ndarray]:
    ids = list(ids)
    position = {entity_id: i for i, entity_id in enumerate(ids)}
    out: dict[str, np.ndarray] = {}
    rows = db.session.execute(
        select(StoredVector.entity_id, StoredVector.slot, StoredVector.data).where(
            StoredVector.entity_type == kind, StoredVector.model_id == enc.model_id
        )
    )
    for entity_id, slot, data in rows:
        if entity_id not in position:
            continue
        matrix = out.get(slot)
        if matrix is None:
            matrix = out[slot] = np.zeros((len(ids), enc.dim), dtype=np.float32)
        matrix[position[entity_id]] = np.frombuffer(data, dtype=np.float32, count=enc.dim)
    return out
