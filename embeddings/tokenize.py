"""Tokenisers for the lexical channel: character n-grams (no dictionary) and morphological ones.

Morphological analysers are optional dependencies (``sudachipy`` + ``sudachidict-core`` or
``fugashi`` + ``unidic-lite``); they are imported only when asked for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from operator import add

from embeddings.text import normalize

Tokenizer = Callable[[str], list[str]]

_NOISE = re.compile(r"[\s、。，．,.・「」『』（）()\[\]【】:：;；!！?？/／~〜ー\-–—→…\"'“”]+")
# Parts of speech kept for BM25: content words only (nouns, verbs, adjectives, prefixes of nouns).
_CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞")


def char_ngrams(text: str, n_min: int = 2, n_max: int = 3) -> list[str]:
    """Split text into overlapping character n-grams that do not span punctuation or spaces.

    Args:
        text: Raw text; it is normalised first.
        n_min: Shortest n-gram.
        n_max: Longest n-gram.

    Returns:
        The n-grams in text order, with repeats.
    """
    grams: list[str] = []
    for run in _NOISE.split(normalize(text).lower()):
        if 0 < len(run) < n_min:
            grams.append(run)
            continue
        current = list(run)  # n-grams grow one character at a time, concatenated in C
        if n_min == 1:
            grams.extend(current)
        for n in range(2, n_max + 1):
            current = list(map(add, current, run[n - 1 :]))
            if n >= n_min:
                grams.extend(current)
    return grams


@functools.lru_cache(maxsize=4)
def _sudachi(mode: str, dict_type: str = "core") -> Tokenizer:
    from sudachipy import Dictionary, SplitMode

    tokenizer = Dictionary(dict=dict_type).tokenizer()
    split = {"A": SplitMode.A, "B": SplitMode.B, "C": SplitMode.C}[mode]

    def tokenize(text: str) -> list[str]:
        out = []
        for m in tokenizer.tokenize(normalize(text), split):
            if m.part_of_speech()[0] in _CONTENT_POS:
                out.append(m.normalized_form().lower())
        return out

    return tokenize


@functools.lru_cache(maxsize=1)
def _fugashi() -> Tokenizer:
    import fugashi

    tagger = fugashi.Tagger()

    def tokenize(text: str) -> list[str]:
        out = []
        for word in tagger(normalize(text)):
            if word.feature.pos1 in _CONTENT_POS:
                lemma = word.feature.lemma or word.surface
                out.append(lemma.split("-")[0].lower())
        return out

    return tokenize


def get_tokenizer(name: str) -> Tokenizer:
    """Return the tokeniser named ``name``.

    Args:
        name: ``"char23"`` (character 2–3-grams), ``"char2"``, ``"sudachi"`` / ``"sudachi-a"`` /
            ``"sudachi-c"`` (SudachiPy content words, split mode B / A / C, core dictionary),
            ``"sudachi-small"`` (mode B, small dictionary) or ``"fugashi"``
            (MeCab + unidic-lite content-word lemmas).

    Returns:
        A function from text to tokens.

    Raises:
        ValueError: If the name is unknown.
    """
    if name == "char23":
        return char_ngrams
    if name == "char2":
        return functools.partial(char_ngrams, n_min=2, n_max=2)
    if name == "sudachi":
        return _sudachi("B")
    if name in ("sudachi-a", "sudachi-c"):
        return _sudachi(name[-1].upper())
    if name == "sudachi-small":
        return _sudachi("B", "small")
    if name == "fugashi":
        return _fugashi()
    raise ValueError(f"unknown tokenizer {name!r}")
