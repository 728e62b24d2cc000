"""Stored embedding vectors, keyed by model id and the hash of the text they came from."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Model, TimestampMixin


class StoredVector(TimestampMixin, Model):
    __tablename__ = "stored_vector"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id", "slot", "model_id", name="uq_stored_vector_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer, index=True)
    slot: Mapped[str] = mapped_column(String(40))
    model_id: Mapped[str] = mapped_column(String(200), index=True)
    text_hash: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.data, dtype=np.float32, count=self.dim)

    @vector.setter
    def vector(self, value: np.ndarray) -> None:
        arr = np.asarray(value, dtype=np.float32).ravel()
        self.dim = int(arr.shape[0])
        self.data = arr.tobytes()
