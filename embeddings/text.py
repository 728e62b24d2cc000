"""Text normalisation and hashing shared by encoders, caches and the lexical channel."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SPACE = re.compile(r"\s+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str every surrogate is lone: UTF-8 cannot hold it


def normalize(text: str) -> str:
    """Normalise text the same way everywhere before it is hashed, embedded or indexed.

    NFKC folds full-width ASCII and half-width katakana (``ＡＩ`` → ``AI``, ``ｶﾅ`` → ``カナ``)
    and runs of whitespace collapse to one space, so cosmetic edits do not trigger a re-embed.
    A lone surrogate (a broken ``\\ud800`` escape in JSON) becomes U+FFFD, so the text can be
    hashed and sent to an encoder, and one broken text does not fail a whole batch.

    Args:
        text: Any Unicode text.

    Returns:
        The normalised text, stripped.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", encodable(text))).strip()


def encodable(text: str) -> str:
    """``text`` with each lone surrogate (all a str can hold) replaced by U+FFFD, so UTF-8 can encode it."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def text_hash(text: str) -> str:
    """Return the key under which a vector for ``text`` is stored.

    Args:
        text: Raw text; it is normalised first.

    Returns:
        The sha256 hex digest (64 characters) of the NFKC-normalised UTF-8 text.
    """
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def vector_key(model_id: str, role: str, text: str) -> str:
    """Return a cache key that changes when the model, the role or the text changes.

    Args:
        model_id: The encoder's ``model_id``.
        role: ``"query"`` or ``"document"``; the two sides embed the same text differently.
        text: Raw text.

    Returns:
        A sha256 hex digest.
    """
    payload = f"{model_id}\x1f{role}\x1f{normalize(text)}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
