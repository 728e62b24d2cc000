"""An on-disk cache of vectors keyed by model id, role and text hash, for offline evaluation.

Vectors live in ``<root>/<model>/shard-*.npz`` (arrays ``keys`` and ``vectors``); a run that is
stopped keeps every finished shard, and a later run embeds only what is missing.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.encoders import Encoder
from embeddings.text import vector_key


def default_cache_dir() -> Path:
    """``$MATCHMAKER_CACHE`` or ``~/.cache/matchmaker``."""
    return Path(os.environ.get("MATCHMAKER_CACHE", Path.home() / ".cache" / "matchmaker"))


class VectorStore:
    """Vectors of one model, persisted in shards.

    Args:
        root: Cache directory.
        model_id: The encoder's ``model_id``; each model gets its own folder.
    """

    def __init__(self, root: Path, model_id: str) -> None:
        self.model_id = model_id
        self.path = Path(root) / re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.is_dir():
            for shard in sorted(self.path.glob("shard-*.npz")):
                with np.load(shard) as data:
                    self._vectors.update(zip(data["keys"].tolist(), data["vectors"]))

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> np.ndarray | None:
        """The stored vector for ``key``, if any."""
        return self._vectors.get(key)

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors and write them as one new shard."""
        if not keys:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._vectors.update(zip(keys, vectors))
        name = self.path / f"shard-{time.time_ns()}-{os.getpid()}.npz"
        tmp = self.path / f"partial-{name.name}"  # not matched by the shard glob until renamed
        np.savez(tmp, keys=np.asarray(list(keys)), vectors=np.asarray(vectors, dtype=np.float32))
        tmp.rename(name)


def encode_cached(
    encoder: Encoder,
    texts: Sequence[str],
    role: str,
    store: VectorStore | None,
    batch_size: int = 128,
    progress: bool = False,
) -> np.ndarray:
    """Embed ``texts`` on one side, reusing and extending ``store``.

    Args:
        encoder: The encoder.
        texts: Texts to embed.
        role: ``"query"`` or ``"document"``.
        store: The cache, or ``None`` to embed everything.
        batch_size: Texts embedded (and saved) per step.
        progress: Print progress to stderr.

    Returns:
        A (len(texts), dim) float32 array.
    """
    keys = [vector_key(encoder.model_id, role, t) for t in texts]
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    todo: dict[str, int] = {}
    for i, key in enumerate(keys):
        found = store.get(key) if store is not None else None
        if found is None:
            todo.setdefault(key, i)
        else:
            out[i] = found
    pending = list(todo.items())
    encode = encoder.encode_queries if role == "query" else encoder.encode_documents
    fresh: dict[str, np.ndarray] = {}
    started = time.time()
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        vectors = encode([texts[i] for _, i in batch])
        fresh.update(zip([k for k, _ in batch], vectors))
        if store is not None:
            store.put_many([k for k, _ in batch], vectors)
        if progress:
            done = start + len(batch)
            rate = done / max(time.time() - started, 1e-9)
            print(f"  {role}: {done}/{len(pending)} embedded ({rate:.1f}/s)", file=sys.stderr)
    for i, key in enumerate(keys):
        if key in fresh:
            out[i] = fresh[key]
    return out
