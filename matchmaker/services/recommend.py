"""The recommendation presenter: ranking hits plus rows → what a page shows.

It asks the fitted `TwoSidedRecommender` (through `matchmaker.services.vectors`) for ranked ids,
loads the rows, keeps only what the reader may see (published challenges; active profiles),
turns the library's reasons into 1–3 short Japanese sentences, and counts how often each
company's profiles were shown (`CompanyExposure`) in the same request. The caller commits.

When learning from outcomes is switched on and passes its offline check (`services.outcomes`), the
two directions between challenges and profiles ask for a larger candidate pool and re-order it by the
learned score blended with the fused score. Each card carries the match of its pair, if one exists.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, cast

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Table, select
from sqlalchemy.orm import selectinload

from matchmaker.i18n import format_yen_range
from matchmaker.services import outcomes
from matchmaker.services.challenges import local_today
from matchmaker.services.clarity import FIELD_LABELS as CHALLENGE_FIELD_LABELS
from matchmaker.services.solutions import SOLUTION_FIELD_LABELS
from models import Challenge, CompanyExposure, Match, Solution, db
from models.codes import COLLABORATION_FORMS, DOMAINS, MATURITY

if TYPE_CHECKING:
    from embeddings.recommender import Reason, Recommendation

log = logging.getLogger(__name__)

Direction = Literal["solutions", "challenges", "similar"]
MAX_REASONS = 3


@dataclass(frozen=True)
class MatchCard:
    """One ranked hit as a page shows it."""

    rank: int
    score: float
    kind: Literal["solution", "challenge"]
    id: int
    title: str
    organisation: str
    prefecture: str
    domains: tuple[str, ...]
    forms: tuple[str, ...]
    summary: str
    reasons: tuple[Markup, ...]
    regions: tuple[str, ...] = ()  # profiles only; empty = nationwide
    entity: Any = None
    match: Any = None  # the Match of this pair once someone acted on it (the card then links to it)


@dataclass(frozen=True)
class RankedList:
    cards: tuple[MatchCard, ...] = ()
    vectors_pending: bool = False  # the meaning channel is still being computed
    unavailable: bool = False  # this item is not ranked (yet): e.g. an inactive profile

    def __bool__(self) -> bool:
        return bool(self.cards)


@dataclass(frozen=True)
class ChallengePanel:
    """What the panel on a challenge page shows to the current reader."""

    recommendations: RankedList | None  # None: the reader may not see them
    similar: RankedList = field(default_factory=RankedList)


# --- the three rankings -----------------------------------------------------------------------


def solutions_for_challenge(challenge: Challenge, k: int = 10, *, count_exposure: bool = True) -> RankedList:
    index = _index()
    learned = outcomes.active_model()
    hits = _cached_hits(index, "solutions_for", challenge.id, outcomes.pool_size(k) if learned else k)
    if hits is None:
        return RankedList(unavailable=True, vectors_pending=index.vectors_pending)
    if learned is not None:
        hits = outcomes.rerank(hits, learned)
    rows = _rows(Solution, [h.id for h in hits])
    cards = [_solution_card(hit, rows[hit.id], challenge) for hit in hits
             if hit.id in rows and rows[hit.id].active]
    cards = _with_matches(_renumber(cards)[:k], challenge_id=challenge.id)
    if count_exposure:
        record_exposure(cards)
    return RankedList(tuple(cards), vectors_pending=index.vectors_pending)


def challenges_for_solution(solution: Solution, k: int = 10) -> RankedList:
    """Published challenges for a profile."""
    return top_challenges_per_solution([solution], k)[solution.id]


def similar_challenges(challenge: Challenge, k: int = 5, *, reader: Any = None) -> RankedList:
    """Published challenges of other municipalities that resemble this one (ヨコ展開), each with the
    solutions proposed, piloted or adopted on it that ``reader`` may see (``None``: the public).

    Only relevant ones are shown: ``similar.relevant_similar`` (a shared domain with a text score
    at least the median of this challenge's candidates, or an outstanding text score), judged on
    a long list from the ranker, so a municipality with one unrelated neighbour sees nothing.
    """
    from matchmaker.services import similar

    index = _index()
    hidden = index.unpublished_challenge_ids
    # The long list is the reference distribution (no reasons: only the few shown need them).
    hits = _cached_hits(index, "similar_challenges", challenge.id, max(similar.REFERENCE_SIZE, 3 * k + 5),
                        exclude_ids=hidden, explain=False)
    if hits is None:
        return SimilarList(unavailable=True)
    facts = _similar_facts([h.id for h in hits])
    shown = [
        hit for hit in similar.relevant_similar(hits, challenge.domains or (),
                                                {i: f[0] for i, f in facts.items()})
        if hit.id in facts and hit.id != challenge.id and facts[hit.id][1] == "published"
        and facts[hit.id][2] != challenge.organisation_id
    ][:k]
    if shown:
        explained = _cached_hits(index, "similar_challenges", challenge.id, len(shown), exclude_ids=hidden,
                                 only_ids=tuple(h.id for h in shown))
        reasons = {h.id: h.reasons for h in explained or ()}
        shown = [dataclasses.replace(hit, reasons=reasons.get(hit.id, ())) for hit in shown]
    rows = _rows(Challenge, [h.id for h in shown])
    cards = [_challenge_card(hit, rows[hit.id], "similar", challenge) for hit in shown if hit.id in rows]
    return SimilarList(tuple(_renumber(cards)), vectors_pending=index.vectors_pending,
                       uses=similar.solution_uses(rows.keys(), reader))


def top_challenges_per_solution(solutions: Sequence[Solution], k: int = 3) -> dict[int, RankedList]:
    """Published challenges for each profile (a company's dashboard), with one query for all
    their challenges and one for their matches."""
    if not solutions:
        return {}
    index = _index()
    hidden, pending = index.unpublished_challenge_ids, index.vectors_pending
    learned = outcomes.active_model()
    hits_of: dict[int, list[Recommendation] | None] = {}
    for solution in solutions:
        if solution.active:
            hits = _cached_hits(index, "challenges_for", solution.id,
                                outcomes.pool_size(k) if learned else k, exclude_ids=hidden)
            hits_of[solution.id] = outcomes.rerank(hits, learned) if hits is not None and learned else hits
    rows = _rows(Challenge, sorted({h.id for hits in hits_of.values() for h in hits or ()}))
    cards_of: dict[int, list[MatchCard]] = {}
    for solution in solutions:
        hits = hits_of.get(solution.id)
        if hits is not None:
            cards = [_challenge_card(hit, rows[hit.id], "challenges", solution) for hit in hits
                     if hit.id in rows and rows[hit.id].status == "published"]
            cards_of[solution.id] = _renumber(cards)[:k]
    matches = _matches_of(list(cards_of), [card.id for cards in cards_of.values() for card in cards])
    out: dict[int, RankedList] = {}
    for solution in solutions:
        if solution.id not in cards_of:
            out[solution.id] = RankedList(unavailable=True, vectors_pending=pending and solution.active)
            continue
        out[solution.id] = RankedList(tuple(_attach(cards_of[solution.id], {
            challenge_id: m for (challenge_id, solution_id), m in matches.items() if solution_id == solution.id})),
            vectors_pending=pending)
    return out


def challenge_panel(challenge: Challenge, user: Any, k: int = 3) -> ChallengePanel:
    """Recommendations only for the owner and coordinators; similar challenges for everyone."""
    recommendations = solutions_for_challenge(challenge, k) if challenge.can_see_recommendations(user) else None
    return ChallengePanel(recommendations=recommendations, similar=similar_challenges(challenge, k, reader=user))


# --- exposure --------------------------------------------------------------------------------


def record_exposure(cards: Sequence[MatchCard], day: date | None = None) -> None:
    """Count the profiles in a recommendation list per company, with one upsert per company."""
    shown: Counter[int] = Counter()
    top3: Counter[int] = Counter()
    for card in cards:
        if card.kind == "solution" and card.entity is not None:
            shown[card.entity.organisation_id] += 1
            top3[card.entity.organisation_id] += card.rank <= 3
    day = day or local_today()  # exposure is counted per Japanese calendar day
    # In company order, not rank order: two lists ranking the same companies differently would
    # otherwise each hold one row the other waits for (a deadlock on PostgreSQL).
    for organisation_id, count in sorted(shown.items()):
        _bump(organisation_id, day, count, top3[organisation_id])


def _bump(organisation_id: int, day: date, shown: int, top3: int) -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        db.session.execute(_upsert(dialect, organisation_id, day, shown, top3))
        return
    row = db.session.scalar(select(CompanyExposure).where(
        CompanyExposure.organisation_id == organisation_id, CompanyExposure.day == day))
    if row is None:
        db.session.add(CompanyExposure(organisation_id=organisation_id, day=day, shown=shown, top3=top3))
    else:
        row.shown += shown
        row.top3 += top3


def _upsert(dialect: str, organisation_id: int, day: date, shown: int, top3: int) -> Any:
    """INSERT … ON CONFLICT (organisation_id, day) DO UPDATE: one statement, safe under concurrency."""
    from sqlalchemy.dialects import postgresql, sqlite

    table = cast(Table, CompanyExposure.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(organisation_id=organisation_id, day=day, shown=shown, top3=top3)
    return stmt.on_conflict_do_update(
        index_elements=["organisation_id", "day"],
        set_={"shown": table.c.shown + shown, "top3": table.c.top3 + top3},
    )


# --- helpers ---------------------------------------------------------------------------------


def _index() -> Any:
    from matchmaker.services.vectors import fitted_index  # the ranking stack loads on first use

    return fitted_index()


# A ranking depends only on the fitted index and its arguments, not on the reader: every challenge
# page (the most visited page) asked the ranker again for similar challenges, which took a fifth of
# a worker's time under load, and each company dashboard ranks every profile of the company. The
# index keeps the hit lists (``FittedIndex.hits``), and an update keeps those it cannot change.
def _cached_hits(index: Any, method: str, item_id: int, k: int, exclude_ids: Sequence[int] = (),
                 only_ids: tuple[int, ...] = (), explain: bool = True) -> list[Recommendation] | None:
    """The index's ``method`` hits for ``item_id`` (``None``: not in the index); with
    ``only_ids``, those targets alone; ``explain=False`` for a list whose reasons nobody reads."""
    from matchmaker.services.vectors import HitsKey

    key = HitsKey(method, item_id, k, tuple(exclude_ids), only_ids, explain)
    found = index.hits.get(key, _MISSING)
    if found is _MISSING:
        kwargs: dict[str, Any] = {name: value for name, value in (("exclude_ids", exclude_ids), ("only_ids", only_ids))
                                  if value}
        if not explain:
            kwargs["explain"] = False
        hits = _ask(getattr(index.recommender, method), item_id, k, **kwargs)
        found = None if hits is None else tuple(hits)
        index.hits.put(key, found)
    return None if found is None else list(found)


_MISSING = object()


def _ask(method: Any, item_id: int, k: int, **kwargs: Any) -> list[Recommendation] | None:
    """Call the ranker; ``None`` when the item is not in the fitted index (e.g. just deactivated)."""
    try:
        return list(method(item_id, k, **kwargs))
    except KeyError:
        log.info("%s: %s %d is not in the index", getattr(method, "__name__", method), "item", item_id)
        return None


def _rows(model: Any, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    query = select(model).where(model.id.in_(ids)).options(selectinload(model.organisation))
    return {row.id: row for row in db.session.scalars(query)}


def _renumber(cards: list[MatchCard]) -> list[MatchCard]:
    """Ranks as the reader sees them, after rows they may not see were dropped."""
    return [
        card if card.rank == i else MatchCard(**{**card.__dict__, "rank": i})
        for i, card in enumerate(cards, start=1)
    ]


def _with_matches(cards: list[MatchCard], *, challenge_id: int) -> list[MatchCard]:
    """Attach the existing match of each card's pair with this challenge (one query)."""
    matches = _matches_of([card.id for card in cards], [challenge_id])
    return _attach(cards, {solution_id: m for (_, solution_id), m in matches.items()})


def _matches_of(solution_ids: Sequence[int], challenge_ids: Sequence[int]) -> dict[tuple[int, int], Match]:
    """The matches between these profiles and challenges, by (challenge id, solution id)."""
    if not solution_ids or not challenge_ids:
        return {}
    query = select(Match).where(Match.solution_id.in_(set(solution_ids)), Match.challenge_id.in_(set(challenge_ids)))
    return {(m.challenge_id, m.solution_id): m for m in db.session.scalars(query)}


def _attach(cards: list[MatchCard], by_id: dict[int, Match]) -> list[MatchCard]:
    return [card if card.id not in by_id else MatchCard(**{**card.__dict__, "match": by_id[card.id]})
            for card in cards]


def _solution_card(hit: Recommendation, row: Solution, query: Challenge) -> MatchCard:
    return MatchCard(
        rank=hit.rank, score=_clamp(hit.score), kind="solution", id=row.id, title=row.title,
        organisation=row.organisation.name, prefecture=row.organisation.prefecture,
        domains=tuple(row.domains or ()), forms=tuple(row.collaboration_forms or ()),
        summary=row.summary, regions=tuple(row.regions or ()), entity=row,
        reasons=reason_lines(hit, "solutions", query, row),
    )


def _challenge_card(hit: Recommendation, row: Challenge, direction: Direction, query: Any) -> MatchCard:
    return MatchCard(
        rank=hit.rank, score=_clamp(hit.score), kind="challenge", id=row.id, title=row.title,
        organisation=row.organisation.name, prefecture=row.organisation.prefecture,
        domains=tuple(row.domains or ()), forms=tuple(row.collaboration_forms or ()),
        summary=row.problem, entity=row, reasons=reason_lines(hit, direction, query, row),
    )


def _clamp(score: float) -> float:
    return min(1.0, max(0.0, float(score)))


def reason_lines(hit: Recommendation, direction: Direction, query: Any, found: Any) -> tuple[Markup, ...]:
    """The 1–3 strongest reasons of a hit, as sentences; a generic one when the ranker gave none.

    Shared phrases explain a match best, so the strongest text reason that names phrases is kept
    even when structured fits (domain, region, …) outweigh it.
    """
    ordered = sorted(hit.reasons, key=lambda r: -r.weight)
    chosen = ordered[:MAX_REASONS]
    phrased = [r for r in ordered if r.kind == "text" and r.phrases]
    if phrased and not any(r in phrased for r in chosen):
        chosen = chosen[: MAX_REASONS - 1] + phrased[:1]
    lines: list[Markup] = []
    for reason in chosen + ordered[MAX_REASONS:]:
        line = sentence(reason, direction, query, found)
        if line is not None and line not in lines:
            lines.append(line)
        if len(lines) == MAX_REASONS:
            break
    if not lines:
        lines.append(Markup.escape(_("記載内容の意味が近いため")))
    return tuple(lines)


# --- reasons in words a municipal officer understands ------------------------------------------

def _field_label(entity: Any, name: str | None) -> str | None:
    labels = CHALLENGE_FIELD_LABELS if isinstance(entity, Challenge) else SOLUTION_FIELD_LABELS
    label = labels.get(name or "")
    return str(label) if label is not None else None


def _marked(phrases: Iterable[str], limit: int = 4) -> Markup:
    return Markup("、").join(Markup("<mark>%s</mark>") % p for p in list(phrases)[:limit])


def _labels(values: Iterable[str], table: dict[str, Any]) -> str:
    return "、".join(str(table.get(v, v)) for v in values)


def _codes(phrases: Sequence[str], fallback: Iterable[str], table: dict[str, Any]) -> list[str]:
    """Phrases of a structured reason may be codes or labels; without any, use the overlap."""
    given = set(phrases)
    if given - table.keys():  # labels: translating every label of the table costs 2 ms, so only then
        by_label = {str(label): code for code, label in table.items()}
        given = {p if p in table else by_label.get(p, p) for p in given}
    given = given or set(fallback)
    return [c for c in table if c in given] + sorted(c for c in given if c not in table)


def _say(template: str, **values: Any) -> Markup:
    """Fill a translated sentence, escaping every value that is not already markup."""
    return Markup(template) % values


def _text_sentence(reason: Reason, direction: Direction, query: Any, found: Any) -> Markup | None:
    mine, theirs = _field_label(query, reason.query_field), _field_label(found, reason.field)
    if reason.phrases and mine and theirs and direction == "similar" and mine == theirs:
        return _say(_("両方の『%(field)s』で共通する語：%(phrases)s"), field=mine, phrases=_marked(reason.phrases))
    if reason.phrases and mine and theirs:
        template = {
            "solutions": _("課題の『%(mine)s』とソリューションの『%(theirs)s』で共通する語：%(phrases)s"),
            "challenges": _("ソリューションの『%(mine)s』と課題の『%(theirs)s』で共通する語：%(phrases)s"),
            "similar": _("この課題の『%(mine)s』と『%(theirs)s』で共通する語：%(phrases)s"),
        }[direction]
        return _say(template, mine=mine, theirs=theirs, phrases=_marked(reason.phrases))
    if reason.phrases:
        return _say(_("共通する語：%(phrases)s"), phrases=_marked(reason.phrases))
    if theirs:
        return _say(_("『%(field)s』の記載内容が近い"), field=theirs)
    return None


def sentence(reason: Reason, direction: Direction, query: Any, found: Any) -> Markup | None:
    """One reason as a sentence, or ``None`` when there is nothing to say."""
    kind = reason.kind
    if kind == "text":
        return _text_sentence(reason, direction, query, found)
    if kind == "domain":
        codes = _codes(reason.phrases, set(query.domains or ()) & set(found.domains or ()), DOMAINS)
        return _say(_("分野が一致：%(domains)s"), domains=_labels(codes, DOMAINS)) if codes else None
    if kind == "form":
        codes = _codes(reason.phrases, set(query.collaboration_forms or ()) & set(found.collaboration_forms or ()),
                       COLLABORATION_FORMS)
        if not codes:
            return None
        template = {
            "solutions": _("希望する連携手法：%(forms)s"),
            "challenges": _("受け付けている連携手法：%(forms)s"),
            "similar": _("連携手法が共通：%(forms)s"),
        }[direction]
        return _say(template, forms=_labels(codes, COLLABORATION_FORMS))
    if kind == "region":
        if direction == "similar":
            return _say(_("同じ都道府県：%(regions)s"), regions="、".join(reason.phrases)) if reason.phrases else None
        if reason.phrases:
            return _say(_("対応地域：%(regions)s"), regions="、".join(reason.phrases))
        return Markup.escape(_("対応地域：全国"))
    if kind == "budget":
        if direction == "similar":
            return _say(_("予算規模が近い：%(budget)s"), budget=format_yen_range(found.budget_min, found.budget_max))
        challenge, solution = (query, found) if direction == "solutions" else (found, query)
        return _say(_("予算帯が重なる（予算 %(budget)s／価格 %(price)s）"),
                    budget=format_yen_range(challenge.budget_min, challenge.budget_max),
                    price=format_yen_range(solution.price_min, solution.price_max))
    if kind == "maturity":
        solution = found if isinstance(found, Solution) else query
        if not isinstance(solution, Solution):
            return None
        return _say(_("成熟度：%(maturity)s"), maturity=str(MATURITY.get(solution.maturity, solution.maturity)))
    return None


# --- similar challenges (ヨコ展開) ---------------------------------------------------------------


@dataclass(frozen=True)
class SimilarList(RankedList):
    """Similar challenges, with what was done about each: challenge id → solutions (see similar.py)."""

    uses: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)


def _similar_facts(ids: Sequence[int]) -> dict[int, tuple[tuple[str, ...], str, int]]:
    """id → (domains, status, organisation id) of the ranker's candidates, in one light query."""
    if not ids:
        return {}
    query = select(Challenge.id, Challenge.domains, Challenge.status, Challenge.organisation_id).where(
        Challenge.id.in_(ids))
    return {i: (tuple(domains or ()), status, org) for i, domains, status, org in db.session.execute(query)}
