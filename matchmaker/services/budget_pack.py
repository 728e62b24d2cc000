"""The budget-request pack (予算要求資料) of a pilot: what the budget section needs in autumn.

It puts together the pilot's KPI results, what the pilot cost, the amount asked for the next fiscal
year, and the timeline of that request against the municipality's fiscal calendar, with the money
rules the amount meets (少額随意契約 limit, 議会の議決).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from matchmaker.i18n import fiscal_year_of
from matchmaker.services import fiscal, procurement
from models import Match, Proposal, db


@dataclass(frozen=True)
class BudgetPack:
    budget: fiscal.BudgetCheck  # the request deadline, the budget year and whether it is in time
    milestones: list[tuple[str, date]]  # the request year's calendar, then the budget year's start
    pilot_cost: int | None  # the cost of the proposal the pilot grew from (概算費用)
    requested: int | None  # the amount asked for the budget year
    money: procurement.MoneyCheck | None
    kpis_reported: int
    kpis_achieved: int


def pilot_cost_of(match: Match) -> int | None:
    latest = db.session.scalars(select(Proposal).where(Proposal.match_id == match.id)
                                .order_by(Proposal.submitted_at.desc()).limit(1)).first()
    return latest.cost_estimate if latest is not None else None


def budget_pack(match: Match, today: date) -> BudgetPack:
    pilot = match.pilot
    assert pilot is not None
    calendar = fiscal.calendar_for(match.challenge.organisation_id)
    budget = fiscal.check_budget(pilot.starts_on, pilot.ends_on, pilot.budget_request_recorded_on, today, calendar)
    milestones = fiscal.milestones_of(fiscal_year_of(budget.deadline), calendar)
    reported = [k for k in pilot.kpis if k.achieved is not None]
    requested = pilot.budget_request_amount
    money = (procurement.check(match.challenge.organisation, requested, match.contract_kind or "other")
             if requested is not None else None)
    return BudgetPack(budget=budget, milestones=milestones, pilot_cost=pilot_cost_of(match), requested=requested,
                      money=money, kpis_reported=len(reported), kpis_achieved=sum(1 for k in reported if k.achieved))
