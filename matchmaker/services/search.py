"""Japanese full-text search and facets over the public challenges.

Japanese has no spaces between words, so documents and queries are cut into overlapping character
bigrams and trigrams (a TF-IDF over ``analyzer="char", ngram_range=(2, 3)``): a two-character word
such as 防災 or 農業 is one bigram. Matching is exact: every whitespace-separated term of the query
must occur in the challenge's text (a term of four characters or more also matches when two thirds
of its bigrams do, so 高齢者見守り finds 高齢者の見守り). Matches are ranked by TF-IDF cosine, newest first otherwise.

The index holds every published or closed challenge and is kept in ``app.extensions`` under a
cheap change key (row count and last update), rebuilt only when challenges or organisations change.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from models import Challenge, Organisation, db
from models.challenge import TEXT_FIELDS
from models.codes import COLLABORATION_FORMS, DOMAINS, PREFECTURE_LABELS, ChallengeStatus

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

S = ChallengeStatus
VISIBLE = (S.PUBLISHED.value, S.CLOSED.value)
EXTENSION_KEY = "challenge_search"
# A term of this length or more also matches a text holding this share of its bigrams.
FUZZY_MIN_CHARS = 4
FUZZY_SHARE = 2 / 3
STATES = ("open", "closed")
_lock = threading.Lock()


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


@dataclass(frozen=True)
class IndexedChallenge:
    id: int
    status: str
    prefecture: str
    domains: frozenset[str]
    forms: frozenset[str]
    deadline: date | None
    published_at: datetime | None
    text: str
    grams: frozenset[str]

    def state(self, today: date) -> str:
        """Open while published and the deadline has not passed; closed otherwise."""
        if self.status == S.PUBLISHED.value and (self.deadline is None or self.deadline >= today):
            return "open"
        return "closed"

    def matches(self, term: str) -> bool:
        if term in self.text:
            return True
        if len(term) < FUZZY_MIN_CHARS:
            return False
        wanted = bigrams(term)
        return len(wanted & self.grams) >= FUZZY_SHARE * len(wanted) - 1e-9


@dataclass(frozen=True)
class ChallengeIndex:
    key: tuple[Any, ...]
    items: tuple[IndexedChallenge, ...]
    vectorizer: TfidfVectorizer | None
    matrix: Any  # scipy sparse, one L2-normalised row per item

    def scores(self, query: str) -> np.ndarray:
        if self.vectorizer is None or not self.items:
            return np.zeros(len(self.items), dtype=np.float64)
        q = self.vectorizer.transform([query])
        return np.asarray((self.matrix @ q.T).toarray()).ravel()


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    domain: str | None = None
    prefecture: str | None = None
    form: str | None = None
    state: str | None = None
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchResult:
    ids: list[int]
    total: int
    page: int
    pages: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)


# --- the index ------------------------------------------------------------------------------


def _change_key() -> tuple[Any, ...]:
    parts: list[Any] = list(
        db.session.execute(
            select(func.count(Challenge.id), func.max(Challenge.updated_at), func.max(Challenge.id))
            .where(Challenge.status.in_(VISIBLE))
        ).one()
    )
    parts.extend(db.session.execute(select(func.count(Organisation.id), func.max(Organisation.updated_at))).one())
    return tuple(parts)


def document_text(challenge: Challenge) -> str:
    """Everything a reader can search for: the text fields, the organisation and the tag labels."""
    with force_locale("ja"):
        labels = [str(DOMAINS.get(c, c)) for c in challenge.domains or ()]
        labels += [str(COLLABORATION_FORMS.get(c, c)) for c in challenge.collaboration_forms or ()]
    parts = [challenge.title, challenge.title]  # the title counts twice in the ranking
    parts += [getattr(challenge, f) or "" for f in TEXT_FIELDS if f != "title"]
    parts += [challenge.contact_department or "", challenge.organisation.name, challenge.organisation.prefecture]
    parts += labels
    return normalise("\n".join(parts))


def build_index(key: tuple[Any, ...]) -> ChallengeIndex:
    rows = db.session.execute(
        select(Challenge, Organisation).join(Organisation, Challenge.organisation_id == Organisation.id)
        .where(Challenge.status.in_(VISIBLE)).order_by(Challenge.id)
    ).all()
    items = []
    for challenge, organisation in rows:
        text = document_text(challenge)
        items.append(IndexedChallenge(
            id=challenge.id, status=challenge.status, prefecture=organisation.prefecture,
            domains=frozenset(challenge.domains or ()), forms=frozenset(challenge.collaboration_forms or ()),
            deadline=challenge.deadline, published_at=challenge.published_at, text=text,
            grams=frozenset(bigrams(text)),
        ))
    if not items:
        return ChallengeIndex(key=key, items=(), vectorizer=None, matrix=None)
    from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: loaded on the first search

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), lowercase=False, sublinear_tf=True,
                                 dtype=np.float32)
    matrix = vectorizer.fit_transform([item.text for item in items])
    return ChallengeIndex(key=key, items=tuple(items), vectorizer=vectorizer, matrix=matrix)


def challenge_index() -> ChallengeIndex:
    """The search index, rebuilt only when a visible challenge or an organisation changed."""
    key = _change_key()
    current: ChallengeIndex | None = current_app.extensions.get(EXTENSION_KEY)
    if current is not None and current.key == key:
        return current
    with _lock:
        current = current_app.extensions.get(EXTENSION_KEY)
        if current is None or current.key != key:
            current = build_index(key)
            current_app.extensions[EXTENSION_KEY] = current
    return current


# --- searching ------------------------------------------------------------------------------


def query_terms(q: str) -> list[str]:
    return [t for t in normalise(q).split() if t]


def _filters(params: SearchParams, today: date) -> dict[str, Callable[[IndexedChallenge], bool]]:
    out: dict[str, Callable[[IndexedChallenge], bool]] = {}
    if params.domain:
        out["domain"] = lambda item: params.domain in item.domains
    if params.prefecture:
        out["prefecture"] = lambda item: item.prefecture == params.prefecture
    if params.form:
        out["form"] = lambda item: params.form in item.forms
    if params.state in STATES:
        out["state"] = lambda item: item.state(today) == params.state
    return out


def _facet_counts(
    items: list[IndexedChallenge], filters: dict[str, Callable[[IndexedChallenge], bool]], today: date
) -> dict[str, Counter[str]]:
    """Counts per facet value among items passing every *other* facet's filter."""
    values: dict[str, Callable[[IndexedChallenge], Iterable[str]]] = {
        "domain": lambda item: item.domains,
        "prefecture": lambda item: (item.prefecture,),
        "form": lambda item: item.forms,
        "state": lambda item: (item.state(today),),
    }
    counts: dict[str, Counter[str]] = {}
    for facet, values_of in values.items():
        others = [f for name, f in filters.items() if name != facet]
        counter: Counter[str] = Counter()
        for item in items:
            if all(f(item) for f in others):
                counter.update(values_of(item))
        counts[facet] = counter
    return counts


def _facet_values(
    counts: Counter[str], order: Iterable[str], labels: dict[str, Any], selected: str | None
) -> list[FacetValue]:
    return [
        FacetValue(value=code, label=str(labels.get(code, code)), count=counts[code], selected=code == selected)
        for code in order if counts[code] or code == selected
    ]


def search(params: SearchParams, today: date, state_labels: dict[str, Any] | None = None,
           prefectures: Iterable[str] = ()) -> SearchResult:
    """One page of public challenges for ``params`` with facet counts."""
    index = challenge_index()
    terms = query_terms(params.q)
    matched = [item for item in index.items if all(item.matches(t) for t in terms)]
    filters = _filters(params, today)
    counts = _facet_counts(matched, filters, today)
    hits = [item for item in matched if all(f(item) for f in filters.values())]

    scores: dict[int, float] = {}
    if terms:
        all_scores = index.scores(" ".join(terms))
        position = {item.id: i for i, item in enumerate(index.items)}
        scores = {item.id: float(all_scores[position[item.id]]) for item in hits}
        hits.sort(key=lambda item: (-scores[item.id], -_timestamp(item), -item.id))
    else:
        hits.sort(key=lambda item: (-_timestamp(item), -item.id))

    total = len(hits)
    pages = max(1, math.ceil(total / params.page_size))
    page = min(max(1, params.page), pages)
    start = (page - 1) * params.page_size
    page_ids = [item.id for item in hits[start:start + params.page_size]]
    facets = {
        "domain": _facet_values(counts["domain"], DOMAINS, DOMAINS, params.domain),
        "prefecture": _facet_values(counts["prefecture"], prefectures or sorted(counts["prefecture"]),
                                    PREFECTURE_LABELS, params.prefecture),
        "form": _facet_values(counts["form"], COLLABORATION_FORMS, COLLABORATION_FORMS, params.form),
        "state": _facet_values(counts["state"], STATES, state_labels or {}, params.state),
    }
    return SearchResult(ids=page_ids, total=total, page=page, pages=pages, facets=facets,
                        scores={i: scores[i] for i in page_ids if i in scores})


def challenges_in_order(ids: list[int]) -> list[Challenge]:
    """The challenges of a result page with their organisations, in the result's order."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation)).where(Challenge.id.in_(ids))
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _timestamp(item: IndexedChallenge) -> float:
    return item.published_at.timestamp() if item.published_at else 0.0
