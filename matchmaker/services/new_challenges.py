"""Telling companies about newly published challenges that rank high for their profiles.

For each challenge published since the last run (one not yet marked ``new-challenge:<id>``, within
``LOOKBACK_DAYS`` so that a first run does not announce the whole archive), the ranker's top
``top_n`` solution profiles are looked up and their companies' staff notified — each company once
per challenge (``new-challenge:<id>:org:<org>``), however many of its profiles rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.services import notify
from matchmaker.services.mail import first_time, site_path
from models import Challenge, DeliveryMark, Solution, db

TOP_N = 5
LOOKBACK_DAYS = 14


@dataclass(frozen=True)
class Announcement:
    challenges: int  # challenges looked at in this run
    companies: int  # (challenge, company) pairs notified


def _unannounced(now: datetime) -> list[Challenge]:
    done = select(DeliveryMark.key).where(DeliveryMark.key.like("new-challenge:%"))
    marked = set(db.session.scalars(done))
    query = (select(Challenge).options(selectinload(Challenge.organisation))
             .where(Challenge.status == "published", Challenge.published_at >= now - timedelta(days=LOOKBACK_DAYS))
             .order_by(Challenge.published_at, Challenge.id))
    return [c for c in db.session.scalars(query) if f"new-challenge:{c.id}" not in marked]


def _ranked_companies(recommender: Any, challenge: Challenge, top_n: int) -> list[tuple[int, Solution]]:
    """(company id, its best-ranked profile) for the profiles ranked 1..top_n, best first."""
    hits = sorted(recommender.solutions_for(challenge.id, top_n, explain=False), key=lambda hit: hit.rank)
    ids = [hit.id for hit in hits if hit.rank <= top_n]
    rows = {s.id: s for s in db.session.scalars(select(Solution).where(Solution.id.in_(ids)))} if ids else {}
    out: dict[int, Solution] = {}
    for solution_id in ids:
        solution = rows.get(solution_id)
        if solution is not None and solution.active and solution.organisation_id != challenge.organisation_id:
            out.setdefault(solution.organisation_id, solution)
    return list(out.items())


def notify_new_challenges(top_n: int = TOP_N, now: datetime | None = None, recommender: Any = None) -> Announcement:
    """Notify companies whose profiles rank in the top ``top_n`` for each newly published challenge."""
    now = now or datetime.now(UTC)
    challenges = _unannounced(now)
    if not challenges:
        return Announcement(0, 0)
    if recommender is None:
        from matchmaker.services.vectors import fitted_index  # the ranking stack loads only when needed

        recommender = fitted_index().recommender
    pairs = 0
    for challenge in challenges:
        try:
            ranked = _ranked_companies(recommender, challenge, top_n)
        except KeyError:  # not in the fitted index yet: try again on the next run
            continue
        for organisation_id, solution in ranked:
            if not first_time(f"new-challenge:{challenge.id}:org:{organisation_id}"):
                continue
            notify.notify(
                notify.companies([organisation_id]), "challenge.recommended",
                _("あなたのソリューションに合う新しい課題：「%(title)s」", title=challenge.title),
                _("%(municipality)sが課題を公開しました。「%(solution)s」との適合度が高い課題です。",
                  municipality=challenge.organisation.name, solution=solution.title),
                site_path("public.challenge", challenge_id=challenge.id),
            )
            pairs += 1
        first_time(f"new-challenge:{challenge.id}")
    return Announcement(len(challenges), pairs)
