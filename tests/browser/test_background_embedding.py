"""The live site's background re-embedding against a request that writes at the same moment.

Found by journey 1: on the embedded default (SQLite file, threaded job runner) the re-embedding job
of a newly saved challenge failed with "database is locked" about half the time, and the company
then saw 「意味の近さの計算がまだ終わっていない…」 for good (nothing retries the job until the next
save). This test makes the overlap certain instead of likely: it holds the encoder while the job is
inside its read transaction, lets another connection write (what any web request does: BEGIN,
UPDATE, COMMIT), then releases the encoder.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from matchmaker.services import vectors
from models import StoredVector, db
from tests import factories
from tests.browser import cast

pytestmark = pytest.mark.browser


class HeldEncoder:
    """The real encoder, made to wait at each call until the test lets it go."""

    def __init__(self, real: Any, started: threading.Event, gate: threading.Event) -> None:
        self.real, self.started, self.gate = real, started, gate
        self.model_id, self.dim = real.model_id, real.dim

    def _hold(self) -> None:
        self.started.set()
        if not self.gate.wait(timeout=60):
            raise TimeoutError("the test never released the encoder")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self._hold()
        return np.asarray(self.real.encode_queries(texts))

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        self._hold()
        return np.asarray(self.real.encode_documents(texts))


def test_embedding_is_stored_when_a_request_writes_while_it_encodes(live_site: Any) -> None:
    app = live_site.app
    started, gate = threading.Event(), threading.Event()
    with app.app_context():
        spec = app.config["MATCHMAKER_ENCODER"]
        real = vectors.encoder()
        app.extensions["encoders"][spec] = HeldEncoder(real, started, gate)
        city = factories.make_municipality(name="あおば市")
        challenge = cast.published_challenge(city, title="高齢者の通いの場への参加が途切れ、フレイルの兆しに気づけない")
        cast.commit()
        city_id, challenge_id = city.id, challenge.id
    try:
        assert started.wait(timeout=60), "the re-embedding job did not start"
        # The job has read the challenge and is encoding. Another request now writes.
        path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        writer = sqlite3.connect(path, timeout=20, isolation_level=None, check_same_thread=False)
        writer.execute("BEGIN")
        writer.execute("UPDATE organisation SET population = population + 1 WHERE id = ?", (city_id,))
        committing = threading.Thread(target=writer.execute, args=("COMMIT",))
        committing.start()
        gate.set()
        committing.join(timeout=60)
        assert not committing.is_alive(), "the writing request never committed"
        writer.close()
    finally:
        gate.set()
        live_site.wait_for_jobs()
        with app.app_context():
            app.extensions["encoders"][spec] = real
    with app.app_context():
        stored = db.session.scalar(select(func.count(StoredVector.id)).where(
            StoredVector.entity_type == "challenge", StoredVector.entity_id == challenge_id))
        population = db.session.scalar(select(factories.Organisation.population)
                                       .where(factories.Organisation.id == city_id))
    assert population == 150001, "the request's write was lost"
    assert stored, "the challenge's vectors were not stored: its re-embedding job failed"
