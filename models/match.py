"""Matches (challenge × solution profile) and their timeline.

A match carries the co-creation workflow in ONE stage column. The stage changes only through
``Match.move_to`` against ``MATCH_TRANSITIONS`` (who may take which edge); database CHECK
constraints back the data a stage implies (adopted → adoption fields, closed → a close reason,
pilot → a pilot plan).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Model, TimestampMixin, UTCDateTime, utcnow
from models.challenge import Challenge
from models.procurement import CONTRACT_KINDS
from models.solution import Solution

if TYPE_CHECKING:
    from models.pilot import Pilot
    from models.user import User


class MatchStage(str, enum.Enum):
    RECOMMENDED = "recommended"
    PROPOSAL = "proposal"
    SOUNDING = "sounding"
    PILOT = "pilot"
    ADOPTED = "adopted"
    CLOSED = "closed"


M = MatchStage
STAGE_ORDER: tuple[str, ...] = tuple(s.value for s in MatchStage)
FINAL_STAGES: frozenset[str] = frozenset({M.ADOPTED.value, M.CLOSED.value})

STAGE_LABELS: dict[str, Any] = {
    M.RECOMMENDED.value: _l("推薦"),
    M.PROPOSAL.value: _l("提案"),
    M.SOUNDING.value: _l("サウンディング"),
    M.PILOT.value: _l("実証実験"),
    M.ADOPTED.value: _l("導入"),
    M.CLOSED.value: _l("終了"),
}

# Actor roles on a match: the owning municipality's staff, the proposing company's staff, and
# coordinators (administrators act as coordinators).
OWNER, COMPANY, COORDINATOR = "owner", "company", "coordinator"
ACTOR_ROLES: tuple[str, ...] = (OWNER, COMPANY, COORDINATOR)

_MUNICIPAL_SIDE = frozenset({OWNER, COORDINATOR})
_ANY_SIDE = frozenset({OWNER, COMPANY, COORDINATOR})

# THE table of allowed stage changes: (from, to) → the roles that may take the edge.
MATCH_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (M.RECOMMENDED.value, M.PROPOSAL.value): frozenset({COMPANY}),          # the company proposes
    (M.RECOMMENDED.value, M.SOUNDING.value): _ANY_SIDE,                     # invited / enters a sounding
    (M.PROPOSAL.value, M.SOUNDING.value): _ANY_SIDE,                        # invited / enters a sounding
    (M.PROPOSAL.value, M.PILOT.value): _MUNICIPAL_SIDE,                     # pilot plan agreed
    (M.SOUNDING.value, M.PILOT.value): _MUNICIPAL_SIDE,
    (M.PROPOSAL.value, M.ADOPTED.value): _MUNICIPAL_SIDE,                   # bought without a pilot
    (M.SOUNDING.value, M.ADOPTED.value): _MUNICIPAL_SIDE,
    (M.PILOT.value, M.ADOPTED.value): _MUNICIPAL_SIDE,
    (M.RECOMMENDED.value, M.CLOSED.value): _ANY_SIDE,
    (M.PROPOSAL.value, M.CLOSED.value): _ANY_SIDE,
    (M.SOUNDING.value, M.CLOSED.value): _ANY_SIDE,
    (M.PILOT.value, M.CLOSED.value): _ANY_SIDE,
}

CLOSE_REASONS: dict[str, Any] = {
    "rejected": _l("不採択"),
    "no_budget": _l("予算確保できず"),
    "company_withdrew": _l("企業側辞退"),
    "insufficient_effect": _l("効果不十分"),
    "solved": _l("課題解決済み"),
    "other": _l("その他"),
}

PROCUREMENT_ROUTES: dict[str, Any] = {
    "negotiated": _l("随意契約"),
    "proposal": _l("プロポーザル"),
    "tender": _l("入札"),
    "other": _l("その他"),
}

# How the match came to exist.
ORIGINS: dict[str, Any] = {
    "company_interest": _l("企業が関心を表明"),
    "municipality_invite": _l("自治体が声をかけた"),
    "proposal": _l("企業が提案"),
    "sounding": _l("サウンディングに参加"),
}


# 随意契約の根拠: 地方自治法施行令第167条の2第1項の各号.
NEGOTIATED_GROUNDS: dict[str, Any] = {
    "1": _l("第1号（少額：規則で定める額以下）"),
    "2": _l("第2号（性質又は目的が競争入札に適しない）"),
    "3": _l("第3号（障害者支援施設等からの調達）"),
    "4": _l("第4号（新商品の生産により新たな事業分野の開拓を図る者からの調達）"),
    "5": _l("第5号（緊急の必要）"),
    "6": _l("第6号（競争入札に付することが不利）"),
    "7": _l("第7号（時価に比して著しく有利な価格）"),
    "8": _l("第8号（競争入札に付し入札者がないとき又は再度の入札に付し落札者がないとき）"),
    "9": _l("第9号（落札者が契約を締結しないとき）"),
}


def _sql_in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class InvalidMatchTransition(Exception):
    """A stage change the table does not allow, or not for these roles."""


class Match(TimestampMixin, Model):
    __tablename__ = "match"
    __table_args__ = (
        UniqueConstraint("challenge_id", "solution_id", name="uq_match_pair"),
        CheckConstraint(f"stage IN ({_sql_in(STAGE_ORDER)})", name="stage"),
        CheckConstraint(f"origin IN ({_sql_in(ORIGINS)})", name="origin"),
        CheckConstraint("stage <> 'pilot' OR pilot_id IS NOT NULL", name="pilot_has_plan"),
        CheckConstraint(
            "stage <> 'adopted' OR (adopted_fiscal_year IS NOT NULL AND procurement_route IS NOT NULL"
            " AND adoption_amount IS NOT NULL AND adopted_at IS NOT NULL)",
            name="adopted_has_adoption",
        ),
        CheckConstraint(
            "stage <> 'closed' OR (close_reason IS NOT NULL AND closed_at IS NOT NULL"
            " AND closed_from IS NOT NULL)",
            name="closed_has_reason",
        ),
        CheckConstraint(f"close_reason IS NULL OR close_reason IN ({_sql_in(CLOSE_REASONS)})",
                        name="close_reason_code"),
        CheckConstraint(f"procurement_route IS NULL OR procurement_route IN ({_sql_in(PROCUREMENT_ROUTES)})",
                        name="procurement_route_code"),
        CheckConstraint("adoption_amount IS NULL OR adoption_amount >= 0", name="adoption_amount"),
        CheckConstraint(f"contract_kind IS NULL OR contract_kind IN ({_sql_in(CONTRACT_KINDS)})",
                        name="contract_kind_code"),
        CheckConstraint(f"negotiated_ground IS NULL OR negotiated_ground IN ({_sql_in(NEGOTIATED_GROUNDS)})",
                        name="negotiated_ground_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("solution.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20), default=M.RECOMMENDED.value, index=True)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    origin: Mapped[str] = mapped_column(String(30), default="company_interest")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Ranking features of the recommendation that led here (rank, score, …) to train a reranker.
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    pilot_id: Mapped[int | None] = mapped_column(ForeignKey("pilot.id"), unique=True)

    adopted_fiscal_year: Mapped[int | None] = mapped_column(Integer)
    procurement_route: Mapped[str | None] = mapped_column(String(20))
    adoption_amount: Mapped[int | None] = mapped_column(BigInteger)
    contract_kind: Mapped[str | None] = mapped_column(String(20))  # 別表第五の契約の種類
    negotiated_ground: Mapped[str | None] = mapped_column(String(2))  # 随意契約: 施行令第167条の2第1項の号
    adoption_note: Mapped[str | None] = mapped_column(Text)
    adopted_at: Mapped[date | None] = mapped_column(Date)

    close_reason: Mapped[str | None] = mapped_column(String(30))
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_from: Mapped[str | None] = mapped_column(String(20))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    challenge: Mapped[Challenge] = relationship()
    solution: Mapped[Solution] = relationship()
    created_by: Mapped[User | None] = relationship()
    pilot: Mapped[Pilot | None] = relationship(back_populates="match")
    events: Mapped[list[MatchEvent]] = relationship(
        back_populates="match", order_by="MatchEvent.at", cascade="all, delete-orphan"
    )

    # --- permissions -------------------------------------------------------------------
    def actor_roles(self, user: Any) -> set[str]:
        """The roles ``user`` holds on this match (empty: no business here)."""
        if not getattr(user, "is_authenticated", False):
            return set()
        roles: set[str] = set()
        if user.is_staff:
            roles.add(COORDINATOR)
        if user.is_municipal and user.organisation_id == self.challenge.organisation_id:
            roles.add(OWNER)
        if user.is_company and user.organisation_id == self.solution.organisation_id:
            roles.add(COMPANY)
        return roles

    def can_view(self, user: Any) -> bool:
        return bool(self.actor_roles(user))

    def can_advance(self, user: Any, to: str) -> bool:
        allowed = MATCH_TRANSITIONS.get((self.stage, to))
        return bool(allowed and allowed & self.actor_roles(user))

    def allowed_moves(self, user: Any) -> list[str]:
        return [to for to in STAGE_ORDER if self.can_advance(user, to)]

    # --- the one place a stage changes ------------------------------------------------
    def move_to(self, to: str, roles: Iterable[str], *, now: datetime) -> str:
        """Change the stage if the table allows ``(stage, to)`` for one of ``roles``; returns the old stage.

        The caller sets the data the new stage implies first (pilot plan, adoption, close reason);
        the CHECK constraints refuse the row otherwise.
        """
        allowed = MATCH_TRANSITIONS.get((self.stage, to))
        if allowed is None:
            raise InvalidMatchTransition(f"{self.stage} -> {to} is not an edge")
        if not allowed & set(roles):
            raise InvalidMatchTransition(f"{self.stage} -> {to} not allowed for {sorted(roles)}")
        previous = self.stage
        self.stage = to
        self.stage_changed_at = now
        if to == M.CLOSED.value:
            self.closed_from = previous
            self.closed_at = now
        return previous

    @property
    def is_final(self) -> bool:
        return self.stage in FINAL_STAGES

    @property
    def company(self) -> Any:
        return self.solution.organisation

    @property
    def municipality(self) -> Any:
        return self.challenge.organisation

    def __repr__(self) -> str:
        return f"<Match {self.id} c={self.challenge_id} s={self.solution_id} {self.stage}>"


class MatchEvent(Model):
    """One line of a match's timeline: a stage change (kind 'stage') or another recorded step."""

    __tablename__ = "match_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(40), default="stage")
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)

    match: Mapped[Match] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<MatchEvent {self.match_id} {self.kind} {self.from_stage}->{self.to_stage}>"
