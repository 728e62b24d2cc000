"""Vectors of the demo texts, shipped with the demo so that `make run` ranks with meaning at once.

The bundle maps the hash of each embedded text to its vector (float16, re-normalised on load) for
one model. Loading the demo stores the bundled vector of every slot whose text hash is in the
bundle and whose model is the configured encoder; anything else (another encoder, edited demo
text) is embedded by the background runner as usual. Regenerate the bundle after changing the demo
texts: ``flask --app wsgi embeddings sync`` on a freshly loaded demo, then
``flask --app wsgi demo export-vectors``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sqlalchemy import select

from embeddings import text_hash
from embeddings.recommender import embedding_texts
from matchmaker.services.vectors import Entity, document_for, encoder, entity_type
from models import StoredVector, db

BUNDLE = Path(__file__).resolve().parent / "vectors.npz"


def export(entities: Iterable[Entity], path: Path = BUNDLE) -> int:
    """Write the stored vectors of ``entities`` for the configured encoder; returns how many."""
    model_id = encoder().model_id
    wanted = {(entity_type(e), e.id) for e in entities}
    rows = [row for row in db.session.scalars(select(StoredVector).where(StoredVector.model_id == model_id))
            if (row.entity_type, row.entity_id) in wanted]
    hashes = sorted({row.text_hash: row for row in rows}.items())
    np.savez_compressed(
        path, model_id=np.array(model_id),
        hashes=np.array([h for h, _row in hashes]),
        vectors=np.stack([row.vector for _h, row in hashes]).astype(np.float16) if hashes else np.zeros((0, 0)),
    )
    return len(hashes)


def seed(entities: Iterable[Entity], path: Path = BUNDLE) -> int:
    """Store the bundled vector of every slot of ``entities`` it has; returns the slots stored."""
    if not path.exists():
        return 0
    model_id = encoder().model_id
    with np.load(path) as bundle:
        if str(bundle["model_id"]) != model_id:
            return 0
        position = {str(h): i for i, h in enumerate(bundle["hashes"])}
        vectors = bundle["vectors"].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    stored = 0
    for entity in entities:
        for slot, (_role, text) in embedding_texts(document_for(entity)).items():
            digest = text_hash(text)
            if digest in position:
                row = StoredVector(entity_type=entity_type(entity), entity_id=entity.id, slot=slot,
                                   model_id=model_id, text_hash=digest)
                row.vector = vectors[position[digest]]
                db.session.add(row)
                stored += 1
    db.session.flush()
    return stored
