"""The coordinators' pipeline board: matches by stage, stalled items and the funnel.

Funnel definitions (pure functions over each match's stage history, so they can be tested on a
small known set):

* a match's *stays* are the periods it spent in each stage, from its creation through every stage
  change (``MatchEvent`` of kind ``stage``);
* *reached* for a stage counts the matches whose furthest stage along recommended → proposal →
  sounding → pilot → adopted is that stage or a later one (a match that skipped a stage still
  passed it); *conversion* is reached(next stage) / reached(stage);
* *median days in stage* is the median length of the finished stays in that stage;
* the *pilot → adoption rate* is adopted / decided among matches that were ever in a pilot (a stay
  in ``pilot`` or a pilot plan), where decided means adopted or closed (running pilots do not count).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import selectinload

from models import Challenge, Match, MatchEvent, Organisation, Solution, db
from models.match import FINAL_STAGES, MatchStage

M = MatchStage
PIPELINE: tuple[str, ...] = (M.RECOMMENDED.value, M.PROPOSAL.value, M.SOUNDING.value, M.PILOT.value,
                             M.ADOPTED.value)
BOARD_COLUMNS: tuple[str, ...] = PIPELINE + (M.CLOSED.value,)


@dataclass(frozen=True)
class BoardFilters:
    municipality_id: int | None = None
    domain: str | None = None
    stalled_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("municipality_id", self.municipality_id), ("domain", self.domain),
                                  ("stalled_only", self.stalled_only)) if v}


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_stage: str | None
    to_stage: str


@dataclass(frozen=True)
class Stay:
    stage: str
    start: datetime
    end: datetime | None  # None: still in this stage

    @property
    def days(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True)
class MatchHistory:
    created_at: datetime
    stage: str  # the current stage
    transitions: tuple[Transition, ...] = ()
    had_pilot: bool = False  # a pilot plan exists (also for matches whose history was not recorded)
    closed_from: str | None = None  # Match.closed_from: the stage a closed match left


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    current: int  # matches in this stage now
    reached: int  # matches that got this far or further
    conversion: float | None  # reached(next) / reached(this); None for the last stage or when nothing reached
    median_days: float | None  # median length of finished stays


@dataclass(frozen=True)
class Funnel:
    stages: tuple[FunnelStage, ...]
    total: int
    closed: int
    pilots_decided: int = 0
    pilots_adopted: int = 0
    closed_from: dict[str, int] = field(default_factory=dict)

    @property
    def pilot_adoption_rate(self) -> float | None:
        return self.pilots_adopted / self.pilots_decided if self.pilots_decided else None


@dataclass(frozen=True)
class BoardItem:
    match: Match
    last_activity: datetime
    idle_days: int
    stalled: bool


# --- pure funnel arithmetic ------------------------------------------------------------------


def stays_of(history: MatchHistory) -> list[Stay]:
    """The periods a match spent in each stage, oldest first."""
    changes = sorted((t for t in history.transitions if t.from_stage != t.to_stage), key=lambda t: t.at)
    if not changes:
        return [Stay(history.stage, history.created_at, None)]
    stays: list[Stay] = []
    if changes[0].from_stage:
        stays.append(Stay(changes[0].from_stage, history.created_at, changes[0].at))
    for i, change in enumerate(changes):
        end = changes[i + 1].at if i + 1 < len(changes) else None
        stays.append(Stay(change.to_stage, change.at, end))
    return stays


def furthest_stage(stays: Sequence[Stay], closed_from: str | None = None) -> int:
    """Index in PIPELINE of the furthest stage a match reached (-1: none recorded)."""
    visited = [s.stage for s in stays] + ([closed_from] if closed_from else [])
    return max((PIPELINE.index(stage) for stage in visited if stage in PIPELINE), default=-1)


def funnel(histories: Iterable[MatchHistory]) -> Funnel:
    histories = list(histories)
    current = {stage: 0 for stage in BOARD_COLUMNS}
    reached = [0] * len(PIPELINE)
    durations: dict[str, list[float]] = {stage: [] for stage in PIPELINE}
    closed_from: dict[str, int] = {}
    decided = adopted = 0
    for history in histories:
        stays = stays_of(history)
        current[history.stage] = current.get(history.stage, 0) + 1
        for i in range(furthest_stage(stays, history.closed_from) + 1):
            reached[i] += 1
        for stay in stays:
            if stay.days is not None and stay.stage in durations:
                durations[stay.stage].append(stay.days)
        if history.stage == M.CLOSED.value:
            last = history.closed_from or next((s.stage for s in reversed(stays) if s.stage != M.CLOSED.value), None)
            if last:
                closed_from[last] = closed_from.get(last, 0) + 1
        ever_pilot = (history.had_pilot or history.closed_from == M.PILOT.value
                      or any(s.stage == M.PILOT.value for s in stays))
        if ever_pilot and history.stage in FINAL_STAGES:
            decided += 1
            adopted += history.stage == M.ADOPTED.value
    stages = []
    for i, stage in enumerate(PIPELINE):
        nxt = reached[i + 1] if i + 1 < len(PIPELINE) else None
        conversion = nxt / reached[i] if nxt is not None and reached[i] else None
        median = statistics.median(durations[stage]) if durations[stage] else None
        stages.append(FunnelStage(stage, current[stage], reached[i], conversion, median))
    return Funnel(tuple(stages), total=len(histories), closed=current[M.CLOSED.value], pilots_decided=decided,
                  pilots_adopted=adopted, closed_from=closed_from)


def idle_days(last_activity: datetime, now: datetime) -> int:
    return max(0, (now - (last_activity)).days)


# --- queries -----------------------------------------------------------------------------------


def filtered_matches(filters: BoardFilters) -> Select[tuple[Match]]:
    query = (select(Match).join(Challenge, Match.challenge_id == Challenge.id)
             .options(selectinload(Match.challenge).selectinload(Challenge.organisation),
                      selectinload(Match.solution).selectinload(Solution.organisation),
                      selectinload(Match.pilot))
             .order_by(Match.stage_changed_at.desc(), Match.id.desc()))
    if filters.municipality_id:
        query = query.where(Challenge.organisation_id == filters.municipality_id)
    if filters.domain:
        # Codes are [a-z_]; the JSON list is stored as text with each code in double quotes.
        query = query.where(cast(Challenge.domains, String).like(f'%"{filters.domain}"%'))
    return query


def last_activity(match_ids: Sequence[int]) -> dict[int, datetime]:
    if not match_ids:
        return {}
    rows = db.session.execute(select(MatchEvent.match_id, func.max(MatchEvent.at))
                              .where(MatchEvent.match_id.in_(match_ids)).group_by(MatchEvent.match_id))
    return {match_id: (at) for match_id, at in rows}


def board_items(filters: BoardFilters, now: datetime, stalled_after: int) -> list[BoardItem]:
    """Every match the filters select, with how long it has been idle; stalled: an open match with no
    event for ``stalled_after`` days."""
    matches = list(db.session.scalars(filtered_matches(filters)))
    latest = last_activity([m.id for m in matches])
    items = []
    for match in matches:
        moment = latest.get(match.id) or (match.stage_changed_at or match.created_at)
        days = idle_days(moment, now)
        stalled = match.stage not in FINAL_STAGES and days >= stalled_after
        if filters.stalled_only and not stalled:
            continue
        items.append(BoardItem(match, moment, days, stalled))
    return items


def histories(matches: Sequence[Match]) -> list[MatchHistory]:
    ids = [m.id for m in matches]
    events: dict[int, list[Transition]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(MatchEvent.match_id, MatchEvent.at, MatchEvent.from_stage, MatchEvent.to_stage)
            .where(MatchEvent.match_id.in_(ids), MatchEvent.kind == "stage", MatchEvent.to_stage.is_not(None))
            .order_by(MatchEvent.at, MatchEvent.id))
        for match_id, at, from_stage, to_stage in rows:
            events[match_id].append(Transition((at), from_stage, to_stage))
    return [MatchHistory((m.created_at), m.stage, tuple(events[m.id]), had_pilot=m.pilot_id is not None,
                         closed_from=m.closed_from) for m in matches]


def funnel_for(filters: BoardFilters) -> Funnel:
    return funnel(histories(list(db.session.scalars(filtered_matches(filters)))))


def municipalities_with_matches() -> list[Organisation]:
    ids = select(Challenge.organisation_id).join(Match, Match.challenge_id == Challenge.id)
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)))
