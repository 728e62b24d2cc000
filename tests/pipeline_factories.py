"""Factories for the pipeline: matches at any stage (with the data the stage implies), proposals,
questions, soundings, pilots. Builds on tests/factories.py."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from models import (
    Challenge,
    Match,
    MatchEvent,
    Notification,
    Organisation,
    Pilot,
    PilotKpi,
    Proposal,
    Question,
    Solution,
    Sounding,
    SoundingBooking,
    SoundingSlot,
    User,
    db,
)
from models.codes import lg_code_check_digit
from tests import factories
from tests.factories import make_company, make_solution

_codes = itertools.count()

__all__ = [
    "Pair",
    "make_booking",
    "make_challenge",
    "make_company",
    "make_match",
    "make_municipality",
    "make_notification",
    "make_pair",
    "make_pilot",
    "make_proposal",
    "make_question",
    "make_solution",
    "make_sounding",
    "make_user",
]


def _lg_code() -> str:
    """A valid 6-digit 団体コード that never runs out in a long session (prefix 01–47, then 000–199,
    a range tests/factories.py does not use, so codes from both never collide)."""
    n = next(_codes) % (47 * 200)
    first_five = f"{n // 200 + 1:02d}{n % 200:03d}"
    return first_five + str(lg_code_check_digit(first_five))


def make_municipality(**overrides: Any) -> Organisation:
    overrides.setdefault("lg_code", _lg_code())
    return factories.make_municipality(**overrides)


def make_user(role: str = "municipal", organisation: Organisation | None = None, **overrides: Any) -> User:
    if organisation is None and role == "municipal":
        organisation = make_municipality()
    return factories.make_user(role, organisation=organisation, **overrides)


def make_challenge(organisation: Organisation | None = None, **overrides: Any) -> Challenge:
    return factories.make_challenge(organisation or make_municipality(), **overrides)


class Pair:
    """A challenge of one municipality and a solution of one company, with a user on each side."""

    def __init__(self, **challenge_overrides: Any) -> None:
        self.municipality = make_municipality()
        self.company = make_company()
        self.owner: User = make_user("municipal", organisation=self.municipality)
        self.company_user: User = make_user("company", organisation=self.company)
        self.challenge: Challenge = make_challenge(self.municipality, **challenge_overrides)
        self.solution: Solution = make_solution(self.company)


def make_pair(**challenge_overrides: Any) -> Pair:
    """A committed pair, so that a test may roll back what a refused service call flushed."""
    pair = Pair(**challenge_overrides)
    db.session.commit()
    return pair


def make_pilot(*, starts_on: date | None = None, ends_on: date | None = None, reported: bool = False,
               verdict: str = "success", **overrides: Any) -> Pilot:
    starts_on = starts_on or date.today()
    values: dict[str, Any] = {
        "summary": "市内の通いの場3か所で参加記録アプリを試行する。",
        "starts_on": starts_on, "ends_on": ends_on or starts_on + timedelta(days=120),
        "responsibilities": "市: 会場と参加者への説明。企業: アプリの提供と操作研修。",
        "cost_sharing": "実証期間中の利用料は企業負担、端末は市が用意する。",
    }
    values.update(overrides)
    pilot = Pilot(**values)
    pilot.kpis = [PilotKpi(position=0, name="通いの場の参加率", unit="%", baseline=8, target=12,
                           actual=12.5 if reported else None)]
    if reported:
        pilot.verdict = verdict
        pilot.report_summary = "参加率が目標を上回った。"
        pilot.reported_at = datetime.now(UTC)
    db.session.add(pilot)
    db.session.flush()
    return pilot


def make_match(challenge: Challenge | None = None, solution: Solution | None = None, stage: str = "recommended",
               **overrides: Any) -> Match:
    """A match already at ``stage``, with the data that stage implies (set directly, no service)."""
    challenge = challenge or make_challenge()
    solution = solution or make_solution()
    values: dict[str, Any] = {"challenge": challenge, "solution": solution, "stage": stage, "origin": "company_interest"}
    if stage in ("pilot", "adopted") or overrides.get("pilot") is not None:
        values["pilot"] = overrides.pop("pilot", None) or make_pilot(reported=stage == "adopted")
    if stage == "adopted":
        values.update(adopted_fiscal_year=2027, procurement_route="proposal", adoption_amount=2_400_000,
                      adopted_at=date.today())
    if stage == "closed":
        values.update(close_reason="rejected", closed_from="proposal", closed_at=datetime.now(UTC))
    values.update(overrides)
    match = Match(**values)
    db.session.add(match)
    db.session.flush()
    db.session.add(MatchEvent(match=match, kind="created", to_stage=stage))
    db.session.flush()
    return match


def make_proposal(match: Match, author: User | None = None, **overrides: Any) -> Proposal:
    values: dict[str, Any] = {
        "match": match, "challenge_id": match.challenge_id, "organisation_id": match.solution.organisation_id,
        "author": author, "status": "submitted", "title": "通いの場の参加記録と見守りの提案",
        "approach": "QRコードで出欠を記録し、3回続けて欠席した人を地域包括支援センターに知らせる。",
        "schedule": "4月: 準備、5〜8月: 実証、9月: 効果検証", "cost_estimate": 1_800_000,
        "needs_from_municipality": "通いの場10か所の紹介と、参加者への説明の場",
    }
    values.update(overrides)
    proposal = Proposal(**values)
    db.session.add(proposal)
    db.session.flush()
    return proposal


_question_numbers = itertools.count(1)


def make_question(challenge: Challenge, asker: User, answered: bool = False, **overrides: Any) -> Question:
    # A company asks the same question once (uq_question_asked_once): each default question differs.
    values: dict[str, Any] = {"challenge": challenge, "organisation_id": asker.organisation_id, "asked_by": asker,
                              "body": f"参加者名簿のデータはどの形式で提供いただけますか（{next(_question_numbers)}）。"}
    if answered:
        values.update(answer="CSV形式で、氏名を除いた匿名化データを提供します。",
                      answered_at=datetime.now(UTC))
    values.update(overrides)
    question = Question(**values)
    db.session.add(question)
    db.session.flush()
    return question


def make_sounding(challenge: Challenge, *, slots: int = 2, entry_deadline: date | None = None,
                  **overrides: Any) -> Sounding:
    start = date.today() + timedelta(days=20)
    values: dict[str, Any] = {
        "challenge": challenge, "title": "通いの場の参加促進に関するサウンディング",
        "description": "事業化の可能性と実施方法について、個別に対話します。",
        "starts_on": start, "ends_on": start + timedelta(days=5),
        "entry_deadline": entry_deadline or date.today() + timedelta(days=10),
    }
    values.update(overrides)
    sounding = Sounding(**values)
    base = datetime.combine(sounding.starts_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
    sounding.slots = [SoundingSlot(starts_at=base + timedelta(hours=i), ends_at=base + timedelta(hours=i, minutes=50),
                                   capacity=1, place="オンライン") for i in range(slots)]
    db.session.add(sounding)
    db.session.flush()
    return sounding


def make_booking(sounding: Sounding, slot: SoundingSlot, match: Match, **overrides: Any) -> SoundingBooking:
    values: dict[str, Any] = {"sounding": sounding, "slot": slot, "seat": len(slot.bookings) + 1,
                                  "organisation_id": match.solution.organisation_id, "match": match}
    values.update(overrides)
    booking = SoundingBooking(**values)
    db.session.add(booking)
    db.session.flush()
    return booking


def make_notification(user: User, **overrides: Any) -> Notification:
    values: dict[str, Any] = {"user_id": user.id, "kind": "test", "subject": "お知らせ", "body": "", "url": None}
    values.update(overrides)
    row = Notification(**values)
    db.session.add(row)
    db.session.flush()
    return row


def switch_user(login_as: Any, role_or_user: Any, **overrides: Any) -> Any:
    """Log in as someone else within one test.

    The app fixture keeps one app context for the whole test, which the test client's requests reuse,
    so Flask-Login's cached ``g._login_user`` would keep answering with the first user.
    """
    from flask import g

    user = login_as(role_or_user, **overrides)
    g.pop("_login_user", None)
    return user
