"""Learning from outcomes: labelled matches → a fitted `OutcomeReranker` → re-ordered recommendations.

A match created from a recommendation card stores the ranking features of that pair (recomputed here,
on the server, by ``pair_features``; never taken from the browser). Its outcome is the label:

* positive (1): it moved forward — it is at proposal, sounding, pilot or adopted, or it was closed after
  reaching a proposal for a reason other than 不採択 (a pilot that ended counts as progress too);
* negative (0): it was declined (closed as 不採択 before a pilot) or closed while still at 'recommended';
* no label: still at 'recommended' (no outcome yet).

``model()`` fits the re-ranker on the labelled matches with stored features and evaluates it offline
(grouped by challenge) once per change of the labels, and caches both in ``app.extensions``. The learned
order is used only when ``LEARNED_RERANKER`` is "on", the model is active (at least
``LEARNED_RERANKER_MIN_LABELS`` labels, both classes) and the offline evaluation shows it does not make
things worse (out-of-fold AUC ≥ the fused score's AUC). ``rerank`` then re-orders a candidate pool by
``(1 − blend)·z(fused) + blend·z(learned log-odds)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import Match, db
from models.match import MatchStage

if TYPE_CHECKING:
    from embeddings.outcomes import OutcomeReranker
    from embeddings.recommender import Recommendation

log = logging.getLogger(__name__)
_lock = threading.Lock()

M = MatchStage
BASE_FEATURE = "fused"
CHALLENGE_TO_SOLUTION, SOLUTION_TO_CHALLENGE = "challenge_to_solution", "solution_to_challenge"
POSITIVE_STAGES = frozenset({M.PROPOSAL.value, M.SOUNDING.value, M.PILOT.value, M.ADOPTED.value})
DECLINED = "rejected"  # CLOSE_REASONS: 不採択
POOL_FACTOR, MIN_POOL, MAX_POOL = 3, 30, 150

FEATURE_LABELS: dict[str, Any] = {
    "lexical": _l("語句の一致"),
    "dense": _l("意味の近さ"),
    "reverse_lexical": _l("語句の一致（相手側から）"),
    "reverse_dense": _l("意味の近さ（相手側から）"),
    "forward": _l("記載内容の近さ"),
    "reverse": _l("記載内容の近さ（相手側から）"),
    "domain": _l("分野"),
    "region": _l("対応地域"),
    "form": _l("連携手法"),
    "budget": _l("予算帯"),
    "maturity": _l("成熟度"),
    "structure": _l("分野・地域などの合計"),
    "fused": _l("基本スコア"),
}


# --- labels ----------------------------------------------------------------------------------


def label_of(stage: str, close_reason: str | None = None, closed_from: str | None = None) -> int | None:
    """1 = moved forward, 0 = declined or closed without progress, ``None`` = no outcome yet."""
    if stage in POSITIVE_STAGES:
        return 1
    if stage != M.CLOSED.value:
        return None
    if closed_from == M.PILOT.value:
        return 1
    if close_reason == DECLINED or closed_from in (None, M.RECOMMENDED.value):
        return 0
    return 1


def ranker_features(features: Mapping[str, Any] | None) -> dict[str, float] | None:
    """The ranker's numeric features stored on a match (``features["ranker"]``), if it has the base score."""
    ranker = (features or {}).get("ranker")
    if not isinstance(ranker, Mapping) or BASE_FEATURE not in ranker:
        return None
    out: dict[str, float] = {}
    for name, value in ranker.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[str(name)] = number
    return out if BASE_FEATURE in out else None


@dataclass(frozen=True)
class Labels:
    """Labelled matches with features (X, y, groups by challenge) and counts of what could not be used."""

    X: tuple[dict[str, float], ...] = ()
    y: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    match_ids: tuple[int, ...] = ()
    without_features: int = 0  # labelled, but the match stores no ranking features
    pending: int = 0  # still at 'recommended': no outcome yet

    @property
    def positive(self) -> int:
        return sum(self.y)

    @property
    def negative(self) -> int:
        return len(self.y) - self.positive

    def fingerprint(self) -> str:
        """Changes whenever a label or a feature changes (the cache key of the fitted model)."""
        payload = json.dumps([self.match_ids, self.y, self.X], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        return {"positive": self.positive, "negative": self.negative, "total": len(self.y),
                "without_features": self.without_features, "pending": self.pending}


def collect_labels() -> Labels:
    """Every match with an outcome; those that store ranking features become training rows."""
    rows = db.session.execute(
        select(Match.id, Match.challenge_id, Match.stage, Match.close_reason, Match.closed_from, Match.features)
        .order_by(Match.id)
    ).all()
    X: list[dict[str, float]] = []
    y: list[int] = []
    groups: list[int] = []
    ids: list[int] = []
    without = pending = 0
    for match_id, challenge_id, stage, close_reason, closed_from, features in rows:
        label = label_of(stage, close_reason, closed_from)
        if label is None:
            pending += 1
            continue
        x = ranker_features(features)
        if x is None:
            without += 1
            continue
        X.append(x)
        y.append(label)
        groups.append(challenge_id)
        ids.append(match_id)
    return Labels(tuple(X), tuple(y), tuple(groups), tuple(ids), without, pending)


# --- the fitted model, cached per change of the labels -----------------------------------------


@dataclass(frozen=True)
class LearnedModel:
    """The re-ranker fitted on the current labels, its offline evaluation and whether it is used."""

    fingerprint: str
    counts: dict[str, int]
    min_labels: int
    reranker: OutcomeReranker
    evaluation: dict[str, float | None]
    setting: str  # LEARNED_RERANKER: "off" | "on"
    blend: float
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        """Enough labels of both classes: the model learned something."""
        return bool(getattr(self.reranker, "active_", False))

    @property
    def does_not_hurt(self) -> bool:
        """Out-of-fold AUC (grouped by challenge) at least that of the fused score alone."""
        base, learned = self.evaluation.get("auc_base"), self.evaluation.get("auc_model")
        return base is not None and learned is not None and learned >= base

    @property
    def would_be_active(self) -> bool:
        return self.fitted and self.does_not_hurt

    @property
    def active(self) -> bool:
        return self.setting == "on" and self.would_be_active

    def weight_rows(self) -> list[tuple[str, Any, float]]:
        """(feature, label, weight) by decreasing influence, for the coordinators' page."""
        return [(name, FEATURE_LABELS.get(name, name), weight)
                for name, weight in sorted(self.weights.items(), key=lambda item: -abs(item[1]))]

    @property
    def state(self) -> str:
        """One word for the coordinators' page: active, off, too_few_labels or not_better."""
        if not self.fitted:
            return "too_few_labels"
        if not self.does_not_hurt:
            return "not_better"
        return "active" if self.active else "off"

    def report(self) -> dict[str, Any]:
        """What `flask recommend outcomes` prints and the coordinators' page shows."""
        return {
            "setting": self.setting,
            "min_labels": self.min_labels,
            "labels": self.counts,
            "evaluation": {**self.evaluation, "grouped_by": "challenge"},
            "fitted": self.fitted,
            "does_not_hurt": self.does_not_hurt,
            "active": self.active,
            "state": self.state,
            "blend": self.blend,
            "weights": self.weights,
        }


def setting() -> str:
    value = str(current_app.config.get("LEARNED_RERANKER", "off")).strip().lower()
    return "on" if value in ("on", "1", "true", "yes") else "off"


def min_labels() -> int:
    return int(current_app.config.get("LEARNED_RERANKER_MIN_LABELS", 30))


def blend() -> float:
    return min(1.0, max(0.0, float(current_app.config.get("LEARNED_RERANKER_BLEND", 0.5))))


def _state_key() -> tuple[Any, ...]:
    """One cheap query: changes whenever a match is created, changes stage or gets features."""
    return tuple(db.session.execute(select(func.count(Match.id), func.max(Match.updated_at))).one())


def model() -> LearnedModel:
    """The model for the current labels: refitted only when the labels (or the settings) changed."""
    cache: dict[str, Any] = current_app.extensions.setdefault("outcome_model", {})
    key = (_state_key(), min_labels())
    current: LearnedModel | None = cache.get("model")
    if current is not None and cache.get("key") == key:
        return _with_settings(current)
    with _lock:
        current = cache.get("model")
        if current is not None and cache.get("key") == key:
            return _with_settings(current)
        labels = collect_labels()
        fingerprint = f"{labels.fingerprint()}:{min_labels()}"
        if current is None or current.fingerprint != fingerprint:
            current = _fit(labels, fingerprint)
            cache["fits"] = cache.get("fits", 0) + 1
        cache["model"], cache["key"] = current, key
        return _with_settings(current)


def _with_settings(learned: LearnedModel) -> LearnedModel:
    """The switch and the blend are read per call: changing them needs no refit."""
    if learned.setting == setting() and learned.blend == blend():
        return learned
    return replace(learned, setting=setting(), blend=blend())


def _fit(labels: Labels, fingerprint: str) -> LearnedModel:
    from embeddings.outcomes import OutcomeReranker, evaluate_reranker  # the ranking stack loads on first use

    threshold = min_labels()
    reranker = OutcomeReranker(min_labels=threshold).fit(list(labels.X), list(labels.y))
    raw = evaluate_reranker(list(labels.X), list(labels.y), list(labels.groups), min_labels=threshold)
    evaluation = {k: (round(v, 4) if math.isfinite(v) else None) for k, v in raw.items()}
    learned = LearnedModel(
        fingerprint=fingerprint, counts=labels.counts(), min_labels=threshold, reranker=reranker,
        evaluation=evaluation, setting=setting(), blend=blend(), weights=reranker.weights(),
    )
    log.info("outcome re-ranker fitted: %s", json.dumps(learned.report(), ensure_ascii=False))
    return learned


def active_model() -> LearnedModel | None:
    """The model when it should re-order recommendations; ``None`` (and no query at all) when switched off."""
    if setting() != "on":
        return None
    learned = model()
    return learned if learned.active else None


# --- using it ------------------------------------------------------------------------------


def pool_size(k: int) -> int:
    """How many candidates to ask the ranker for when the learned order will re-sort them."""
    return min(MAX_POOL, max(POOL_FACTOR * k, MIN_POOL))


def _z(values: Sequence[float]) -> list[float]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return [0.0 if std < 1e-12 else (v - mean) / std for v in values]


def rerank(hits: Sequence[Recommendation], learned: LearnedModel) -> list[Recommendation]:
    """Re-order a candidate pool by the learned score blended with the fused score, best first.

    Ties keep the ranker's order. Ranks are renumbered; each hit keeps its displayed score, which
    belongs to the pair (the same on the other side's list), not to the position.
    """
    if len(hits) < 2:
        return list(hits)
    features = [dict(h.features) for h in hits]
    learned_scores = [float(v) for v in learned.reranker.decision_function(features)]
    base = [float(f.get(BASE_FEATURE, 0.0)) for f in features]
    mixed = [(1 - learned.blend) * b + learned.blend * s for b, s in zip(_z(base), _z(learned_scores), strict=True)]
    order = sorted(range(len(hits)), key=lambda i: (-mixed[i], i))
    return [replace(hits[i], rank=rank) for rank, i in enumerate(order, start=1)]


# --- the features of one pair, recomputed on the server ------------------------------------------


def pair_features(challenge_id: int, solution_id: int, direction: str) -> dict[str, float] | None:
    """The ranker's features for (challenge, solution) as the recommendation in ``direction`` computed them.

    Ranks only the one pair (every other target excluded), which costs one ranking call; the features
    do not depend on the other candidates. ``None`` when the pair is not rankable (not in the index,
    same organisation).
    """
    from matchmaker.services.vectors import fitted_index  # the ranking stack loads on first use

    recommender = fitted_index().recommender
    try:
        if direction == CHALLENGE_TO_SOLUTION:
            target, rows = solution_id, recommender.solution_rows_
            others = [i for i in rows if i != target]
            hits = recommender.solutions_for(challenge_id, 1, exclude_ids=others, explain=False) \
                if target in rows else []
        elif direction == SOLUTION_TO_CHALLENGE:
            target, rows = challenge_id, recommender.challenge_rows_
            others = [i for i in rows if i != target]
            hits = recommender.challenges_for(solution_id, 1, exclude_ids=others, explain=False) \
                if target in rows else []
        else:
            return None
    except KeyError:  # the query itself is not in the index
        return None
    if not hits or hits[0].id != target:
        return None
    return {name: round(float(value), 6) for name, value in hits[0].features.items()
            if math.isfinite(float(value))}
