"""The documents the ranker reads and the results it returns (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from embeddings.text import normalize

CHALLENGE = "challenge"
SOLUTION = "solution"

CHALLENGE_FIELDS = (
    "title", "background", "problem", "causes", "affected",
    "target_state", "kpis", "constraints", "offerings",
)
SOLUTION_FIELDS = ("title", "summary", "target_users", "track_record", "evidence")

# What a document asks for (query side) and what it is (document side), per kind.
QUERY_FIELDS = {
    CHALLENGE: ("title", "problem", "affected", "target_state", "causes"),
    SOLUTION: ("title", "summary", "target_users"),
}
DOCUMENT_FIELDS = {
    CHALLENGE: ("title", "problem", "background", "target_state", "affected", "offerings"),
    SOLUTION: ("title", "summary", "target_users", "track_record", "evidence"),
}
# Fields compared for "why it matched"; constraints, kpis and offerings rarely name the topic.
REASON_FIELDS = {
    CHALLENGE: ("title", "problem", "target_state", "affected", "background", "causes"),
    SOLUTION: ("title", "summary", "target_users", "track_record", "evidence"),
}
MATURITY_LEVELS = {"idea": 0.0, "prototype": 1 / 3, "piloted": 2 / 3, "in_service": 1.0}
# e5-small reads 512 tokens per window and costs ~2 ms a token on 2 cores: cap what we embed.
MAX_EMBED_CHARS = 480


@dataclass(frozen=True)
class MatchDocument:
    """A challenge or a solution profile as the ranker sees it.

    Attributes:
        id: Row id in the app.
        kind: ``"challenge"`` or ``"solution"``.
        fields: Model field name → text (see docs/fields.md).
        domains: Domain codes.
        prefectures: A challenge's prefecture; the prefectures a solution serves (empty means
            nationwide).
        forms: Collaboration form codes.
        budget: A challenge's budget range or a solution's price range in yen; ``None`` is open.
        maturity: A solution's maturity code.
        owner: Organisation key; caps exposure and keeps an organisation from meeting itself.
    """

    id: int
    kind: str
    fields: Mapping[str, str]
    domains: frozenset[str] = frozenset()
    prefectures: frozenset[str] = frozenset()
    forms: frozenset[str] = frozenset()
    budget: tuple[int | None, int | None] = (None, None)
    maturity: str | None = None
    owner: str = ""

    def __post_init__(self) -> None:
        if self.kind not in (CHALLENGE, SOLUTION):
            raise ValueError(f"kind must be 'challenge' or 'solution', not {self.kind!r}")

    def text(self, names: tuple[str, ...] | None = None) -> str:
        """The named fields (default: all known fields of this kind) joined by newlines."""
        if names is None:
            names = CHALLENGE_FIELDS if self.kind == CHALLENGE else SOLUTION_FIELDS
        parts = (normalize(self.fields.get(name) or "") for name in names)
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Filters:
    """Hard filters on the recommended side, applied before scoring; empty means no filter.

    Attributes:
        domains: Keep documents with at least one of these domain codes.
        prefectures: Keep challenges in these prefectures / solutions serving one of them
            (a nationwide solution serves every prefecture).
        forms: Keep documents offering at least one of these collaboration forms.
        maturity: Keep documents whose maturity is one of these codes.
        max_price: Keep solutions whose minimum price is at most this (unknown prices pass).
    """

    domains: frozenset[str] = frozenset()
    prefectures: frozenset[str] = frozenset()
    forms: frozenset[str] = frozenset()
    maturity: frozenset[str] = frozenset()
    max_price: int | None = None


@dataclass(frozen=True)
class Reason:
    """One reason a document was recommended, in a form the page can show.

    Attributes:
        kind: ``"text"``, ``"domain"``, ``"region"``, ``"form"``, ``"budget"`` or ``"maturity"``.
        field: Field of the recommended document that matched (``kind == "text"``).
        query_field: Field of the query document that matched (``kind == "text"``).
        phrases: Shared key phrases (substrings of both texts) or the matched codes.
        weight: Contribution, used to order reasons.
    """

    kind: str
    field: str | None
    query_field: str | None
    phrases: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Recommendation:
    """One ranked document.

    Attributes:
        id: The recommended document's id.
        score: 0..1 for display: the pair score (``embeddings.assemble.pair_score``), the same
            from both sides; not a cosine.
        rank: 1-based position.
        channels: Per-channel calibrated scores (``lexical``, ``dense``, ``structure``,
            ``reverse``, ``reciprocal``).
        features: The ranking features, to store with a match and learn from outcomes.
        reasons: 1..4 reasons, most important first.
    """

    id: int
    score: float
    rank: int
    channels: Mapping[str, float] = field(default_factory=dict)
    features: Mapping[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()


def _clip(text: str) -> str:
    return text[:MAX_EMBED_CHARS]


def embedding_texts(doc: MatchDocument) -> dict[str, tuple[str, str]]:
    """Texts to embed for a document: slot → (role, text).

    Two slots per document: ``"query"`` (role ``query``: what it asks for, used to search the
    other side) and ``"document"`` (role ``document``: what it is, found by the other side and
    by similar-document search). Texts are clipped to ``MAX_EMBED_CHARS`` to bound encoding time.

    Args:
        doc: A challenge or a solution.

    Returns:
        ``{"query": ("query", text), "document": ("document", text)}``.
    """
    return {
        "query": ("query", _clip(doc.text(QUERY_FIELDS[doc.kind]))),
        "document": ("document", _clip(doc.text(DOCUMENT_FIELDS[doc.kind]))),
    }
