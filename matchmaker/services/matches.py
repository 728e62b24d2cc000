"""Matches: creating them from a recommendation, the one guarded stage change, adoption and close,
and the public case library.

``advance`` is the only function that changes ``Match.stage``. It asks the model
(``match.can_advance``), changes the stage through ``Match.move_to``, and writes a MatchEvent and an
audit row. Other services set the data a stage implies (pilot plan, adoption, close reason) and
then call it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import contains_eager

from matchmaker.services import audit, conflicts, notify, procurement, selection
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import Challenge, Match, MatchEvent, Pilot, Proposal, Solution, User, db
from models.match import (
    CLOSE_REASONS,
    NEGOTIATED_GROUNDS,
    ORIGINS,
    PROCUREMENT_ROUTES,
    STAGE_LABELS,
    MatchStage,
)
from models.procurement import CONTRACT_KINDS
from models.proposal import OPEN_STATUSES

M = MatchStage
FEATURE_KEYS: tuple[str, ...] = ("rank", "score", "direction")
MAX_RANKER_FEATURES = 40
MAX_RANK = 500  # the longest list a page or the CLI shows
DIRECTIONS: frozenset[str] = frozenset({"challenge_to_solution", "solution_to_challenge"})


class MoveRefused(Exception):
    """A stage change the actor may not make (the view answers 403 or flashes the message)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def now_utc() -> datetime:
    return datetime.now(UTC)


def match_url(match: Match) -> str:
    return url_for("matches.match", match_id=match.id)


# --- the one guarded stage change -----------------------------------------------------------


def advance(match: Match, to: str, user: User, reason: str | None = None, *,
            now: datetime | None = None, quiet: bool = False) -> MatchEvent:
    """Move ``match`` to stage ``to`` as ``user``: check, change, record (event + audit), notify.

    ``quiet``: the caller sends its own, more specific notification.
    """
    if not match.can_advance(user, to):
        raise MoveRefused(_("この操作は現在の段階では行えないか、権限がありません。"))
    reason = (reason or "").strip() or None
    when = now or now_utc()
    previous = match.move_to(to, match.actor_roles(user), now=when)
    event = MatchEvent(match=match, at=when, actor_id=user.id, kind="stage", from_stage=previous, to_stage=to,
                       reason=reason)
    db.session.add(event)
    db.session.flush()  # the CHECK constraints judge the new stage here
    audit.record(user, "match.stage", match, from_state=previous, to_state=to, reason=reason)
    if quiet:
        return event
    others = [u for u in notify.both_sides(match) if u.id != user.id]
    notify.notify(others, "match.stage",
                  _("「%(title)s」が「%(stage)s」に進みました", title=match.challenge.title,
                    stage=STAGE_LABELS[to]),
                  reason or "", match_url(match))
    return event


def record_event(match: Match, user: User | None, kind: str, reason: str | None = None) -> MatchEvent:
    """A timeline line that is not a stage change (proposal submitted, budget request, …)."""
    event = MatchEvent(match=match, at=now_utc(), actor_id=getattr(user, "id", None), kind=kind,
                       from_stage=match.stage, to_stage=match.stage, reason=reason)
    db.session.add(event)
    db.session.flush()
    return event


# --- creating matches ----------------------------------------------------------------------


def on_members_side(query: Select[tuple[Match]], user: Any) -> Select[tuple[Match]]:
    """Limit a query of matches to the member's side: the organisation's challenges (municipal
    staff) or solutions (company staff). Coordinators and administrators keep every match."""
    if user.is_municipal:
        return query.join(Challenge, Match.challenge_id == Challenge.id).where(
            Challenge.organisation_id == user.organisation_id)
    if user.is_company:
        return query.join(Solution, Match.solution_id == Solution.id).where(
            Solution.organisation_id == user.organisation_id)
    return query


def find_match(challenge_id: int, solution_id: int) -> Match | None:
    return db.session.scalar(
        select(Match).where(Match.challenge_id == challenge_id, Match.solution_id == solution_id)
    )


def clean_features(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Keep the known ranking features: rank (1–500), score (0–1), direction and the ranker's numbers.

    ``raw["ranker"]`` may be a mapping or its JSON text: short names → finite numbers. Values that do not
    fit are dropped. Input from a browser goes through ``card_features``, which never keeps its "ranker".
    """
    if not raw:
        return None
    out: dict[str, Any] = {}
    for key in FEATURE_KEYS:
        value = raw.get(key)
        if value in (None, ""):
            continue
        if key == "direction":
            if value in DIRECTIONS:
                out[key] = value
            continue
        number = _finite(value)
        if number is None:
            continue
        if key == "rank" and number == int(number) and 1 <= number <= MAX_RANK:
            out[key] = int(number)
        elif key == "score" and 0.0 <= number <= 1.0:
            out[key] = number
    ranker = raw.get("ranker")
    if isinstance(ranker, str) and ranker:
        try:
            ranker = json.loads(ranker)
        except ValueError:
            ranker = None
    if isinstance(ranker, Mapping):
        numbers = {str(k)[:40]: _finite(v) for k, v in list(ranker.items())[:MAX_RANKER_FEATURES]}
        kept = {k: v for k, v in numbers.items() if v is not None}
        if kept:
            out["ranker"] = kept
    return out or None


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def card_features(challenge: Challenge, solution: Solution, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The features to store for a match made from a recommendation card posted by a browser.

    Rank, score and direction are checked strictly (``clean_features``); the ranker's features are never
    taken from the request but recomputed for the pair in the card's direction (one ranking call).
    Without a direction the action did not come from a card and only the checked values are kept.
    """
    cleaned = clean_features({k: v for k, v in (raw or {}).items() if k != "ranker"})
    if cleaned is None or "direction" not in cleaned:
        return cleaned
    from matchmaker.services.outcomes import pair_features  # loads the ranking stack

    ranker = pair_features(challenge.id, solution.id, cleaned["direction"])
    if ranker:
        cleaned["ranker"] = ranker
    return cleaned


def _features_needed(challenge: Challenge, solution: Solution) -> bool:
    existing = find_match(challenge.id, solution.id)
    return existing is None or existing.features is None


def open_match(challenge: Challenge, solution: Solution, user: User, origin: str,
               features: Mapping[str, Any] | None = None) -> tuple[Match, bool]:
    """The match of this pair, created at stage 'recommended' if it does not exist yet; returns it
    and whether this call created it (a concurrent request that created it first wins)."""
    assert origin in ORIGINS
    existing = find_match(challenge.id, solution.id)
    if existing is not None:
        if existing.features is None and features:
            existing.features = clean_features(features)
        return existing, False
    match = Match(challenge=challenge, solution=solution, stage=M.RECOMMENDED.value, origin=origin,
                  created_by_id=user.id, features=clean_features(features), stage_changed_at=now_utc())
    try:
        with conflicts.savepoint():
            db.session.add(match)
            db.session.flush()
    except conflicts.Conflict:  # the other side (or a second click) created it a moment ago
        winner = find_match(challenge.id, solution.id)
        assert winner is not None
        return winner, False
    db.session.add(MatchEvent(match=match, at=match.stage_changed_at, actor_id=user.id, kind="created",
                              to_stage=match.stage, reason=None))
    audit.record(user, "match.created", match, to_state=match.stage, origin=origin)
    return match, True


def express_interest(challenge: Challenge, solution: Solution, user: User,
                     features: Mapping[str, Any] | None = None) -> tuple[Match, bool]:
    """「この課題に関心あり」: a company flags a recommended challenge for one of its solutions.

    ``features``: what the card posted (see ``card_features``; the ranker's features are recomputed).
    """
    if not (user.is_company and solution.organisation_id == user.organisation_id):
        raise MoveRefused(_("自社のソリューションでのみ関心を表明できます。"))
    if not challenge.is_open:
        raise MoveRefused(_("この課題は現在公開されていません。"))
    features = card_features(challenge, solution, features) if _features_needed(challenge, solution) else None
    match, created = open_match(challenge, solution, user, "company_interest", features)
    if created:
        notify.notify(notify.owners_of(challenge), "match.interest",
                      _("「%(title)s」に企業が関心を表明しました", title=challenge.title),
                      _("%(company)s の「%(solution)s」", company=solution.organisation.name,
                        solution=solution.title),
                      match_url(match))
    return match, created


def invite_company(challenge: Challenge, solution: Solution, user: User,
                   features: Mapping[str, Any] | None = None) -> tuple[Match, bool]:
    """「この企業に声をかける」: the owning municipality (or a coordinator) approaches a company.

    ``features``: what the card posted (see ``card_features``; the ranker's features are recomputed).
    """
    if not (user.is_staff or (user.is_municipal and challenge.organisation_id == user.organisation_id)):
        raise MoveRefused(_("自分の自治体の課題についてのみ声をかけられます。"))
    if challenge.status not in ("published",):
        raise MoveRefused(_("公開中の課題についてのみ声をかけられます。"))
    features = card_features(challenge, solution, features) if _features_needed(challenge, solution) else None
    match, created = open_match(challenge, solution, user, "municipality_invite", features)
    if created:
        notify.notify(notify.company_of(match), "match.invited",
                      _("%(org)s から「%(title)s」について声がかかりました",
                        org=challenge.organisation.name, title=challenge.title),
                      _("課題を確認し、提案や質問をご検討ください。"), match_url(match))
    return match, created


# --- adoption and close ---------------------------------------------------------------------


def close(match: Match, user: User, reason_code: str, note: str | None = None, *,
          quiet: bool = False) -> MatchEvent:
    """Close from any non-final stage with a reason from CLOSE_REASONS; open proposals end with it."""
    if reason_code not in CLOSE_REASONS:
        raise FieldError("reason", _l("終了理由を選んでください。"))
    note = (note or "").strip() or None
    if reason_code == "other" and not note:
        raise FieldError("note", _l("「その他」を選んだときは理由を具体的に書いてください。"))
    if not match.can_advance(user, M.CLOSED.value):
        raise MoveRefused(_("この操作は現在の段階では行えないか、権限がありません。"))
    match.close_reason = reason_code
    match.close_note = note
    company_side = user.is_company
    for proposal in open_proposals_of(match):
        if company_side:
            proposal.status, proposal.withdrawn_at = "withdrawn", now_utc()
        else:
            proposal.status, proposal.decided_at, proposal.decided_by_id = "declined", now_utc(), user.id
            proposal.decision_reason = note or str(CLOSE_REASONS[reason_code])
    return advance(match, M.CLOSED.value, user, note or str(CLOSE_REASONS[reason_code]), quiet=quiet)


def adopt(match: Match, user: User, *, fiscal_year: int, route: str, amount: int,
          adopted_on: date | None = None, note: str | None = None, contract_kind: str = "other",
          negotiated_ground: str | None = None) -> MatchEvent:
    """Record the adoption (導入): budget year, procurement route, kind of contract and amount.

    A 随意契約 names its ground (施行令第167条の2第1項の号); 第1号 only up to the small-contract limit."""
    if route not in PROCUREMENT_ROUTES:
        raise FieldError("procurement_route", _l("調達方法を選んでください。"))
    if amount < 0:
        raise FieldError("amount", _l("金額は0円以上で入力してください。"))
    if not 2000 <= fiscal_year <= 2100:
        raise FieldError("fiscal_year", _l("年度を正しく入力してください。"))
    if contract_kind not in CONTRACT_KINDS:
        raise FieldError("contract_kind", _l("契約の種類を選んでください。"))
    if negotiated_ground is not None and negotiated_ground not in NEGOTIATED_GROUNDS:
        raise FieldError("negotiated_ground", _l("随意契約の根拠を選んでください。"))
    procurement.check_route(procurement.check(match.challenge.organisation, amount, contract_kind),
                            route, negotiated_ground)
    if not match.can_advance(user, M.ADOPTED.value):
        raise MoveRefused(_("この操作は現在の段階では行えないか、権限がありません。"))
    match.adopted_fiscal_year, match.procurement_route, match.adoption_amount = fiscal_year, route, amount
    match.contract_kind = contract_kind
    match.negotiated_ground = negotiated_ground if route == "negotiated" else None
    match.adopted_at = adopted_on or local_today()
    match.adoption_note = (note or "").strip() or None
    event = advance(match, M.ADOPTED.value, user, match.adoption_note)
    selection.freeze_at_adoption(match, user)  # the first decision on the challenge freezes its pack
    return event


def open_proposals_of(match: Match) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.match_id == match.id, Proposal.status.in_(OPEN_STATUSES))
    ))


# --- the case library ----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilter:
    text: str = ""
    domain: str = ""


def _case_condition() -> Any:
    """Finished pilots (a results report exists) and adoptions."""
    reported = select(Pilot.id).where(Pilot.reported_at.is_not(None))
    return or_(Match.stage == M.ADOPTED.value, Match.pilot_id.in_(reported))


def cases(filters: CaseFilter | None = None, *, with_kpis: bool = False) -> list[Match]:
    """The public case library, newest first, optionally searched by text and domain.

    ``with_kpis`` also loads every pilot's KPIs in one more query, for the callers that show them
    (the API and the open-data files; the case cards do not)."""
    filters = filters or CaseFilter()
    query = _case_query(with_kpis=with_kpis).where(_case_condition())
    for word in filters.text.split():
        like = f"%{word}%"
        query = query.where(or_(Challenge.title.ilike(like), Challenge.problem.ilike(like),
                                Solution.title.ilike(like), Solution.summary.ilike(like),
                                Pilot.summary.ilike(like), Pilot.report_summary.ilike(like)))
    found = list(db.session.scalars(query))
    if filters.domain:  # domains are a JSON list: filtered here, portable across backends
        found = [m for m in found if filters.domain in (m.challenge.domains or ())]
    return found


_NEWEST_FIRST = (Match.stage_changed_at.desc(), Match.id.desc())


def _case_query(*, with_kpis: bool = False) -> Select[tuple[Match]]:
    """Matches newest first, with the rows the case cards read loaded by the same query (not one
    query per case)."""
    pilot = contains_eager(Match.pilot)
    return (select(Match).join(Challenge, Match.challenge_id == Challenge.id)
            .join(Solution, Match.solution_id == Solution.id)
            .outerjoin(Pilot, Match.pilot_id == Pilot.id)
            .order_by(*_NEWEST_FIRST)
            .options(contains_eager(Match.challenge).joinedload(Challenge.organisation),
                     contains_eager(Match.solution).joinedload(Solution.organisation),
                     pilot.selectinload(Pilot.kpis) if with_kpis else pilot))


def case_domains() -> tuple[tuple[int, int, frozenset[str]], ...]:
    """(match id, challenge id, the challenge's domains) of every case, newest first: plain rows,
    enough to pick the cases related to a challenge without loading the whole case library."""
    rows = db.session.execute(
        select(Match.id, Match.challenge_id, Challenge.domains).join(Challenge, Match.challenge_id == Challenge.id)
        .where(_case_condition()).order_by(*_NEWEST_FIRST))
    return tuple((match_id, challenge_id, frozenset(domains or ())) for match_id, challenge_id, domains in rows)


def cases_by_id(ids: Iterable[int]) -> list[Match]:
    """The cases among ``ids``, newest first, loaded as the case library loads them."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(db.session.scalars(_case_query().where(_case_condition(), Match.id.in_(wanted))))


def case_count() -> int:
    """How many entries the whole case library has, counted by the database."""
    return db.session.scalar(select(func.count(Match.id)).where(_case_condition())) or 0


def is_case(match: Match) -> bool:
    return match.stage == M.ADOPTED.value or bool(match.pilot and match.pilot.is_reported)


def cases_for_challenges(ids: Iterable[int]) -> dict[int, list[Match]]:
    """Case-library entries per challenge id (for linking from similar challenges); absent ids map to []."""
    wanted = sorted(set(ids))
    result: dict[int, list[Match]] = {i: [] for i in wanted}
    if not wanted:
        return result
    for match in db.session.scalars(
        select(Match).where(Match.challenge_id.in_(wanted), _case_condition()).order_by(Match.id)
    ):
        result[match.challenge_id].append(match)
    return result
