"""Pilots (実証実験): the plan (moves the match to 'pilot'), progress updates, the budget request
(予算要求の登録, read by the fiscal-calendar warnings) and the results report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from matchmaker.services import audit, notify
from matchmaker.services import matches as match_service
from matchmaker.services.errors import FieldError
from models import Match, Pilot, PilotKpi, PilotUpdate, User, db
from models.match import COMPANY, COORDINATOR, OWNER, MatchStage
from models.pilot import VERDICTS
from models.procurement import CONTRACT_KINDS

M = MatchStage
FORM = "__form__"


def _municipal_side(match: Match, user: User) -> bool:
    return bool(match.actor_roles(user) & {OWNER, COORDINATOR})


def can_plan(match: Match, user: User) -> bool:
    return match.pilot is None and match.can_advance(user, M.PILOT.value)


def can_update(match: Match, user: User) -> bool:
    return match.pilot is not None and match.stage == M.PILOT.value and bool(
        match.actor_roles(user) & {OWNER, COMPANY, COORDINATOR})


def can_manage(match: Match, user: User) -> bool:
    """Budget request and results report: the municipality's side, while the pilot is on."""
    return match.pilot is not None and match.stage == M.PILOT.value and _municipal_side(match, user)


def can_view_budget_pack(match: Match, user: User) -> bool:
    """The 予算要求 pack is the municipality's internal paper: its side only, any time after planning."""
    return match.pilot is not None and _municipal_side(match, user)


def _kpis(rows: Sequence[Mapping[str, Any]]) -> list[PilotKpi]:
    kpis = []
    for position, row in enumerate(rows):
        name = str(row.get("name") or "").strip()
        if not name:
            continue
        if row.get("target") is None:
            raise FieldError("kpis", _l("指標「%(name)s」の目標値を入力してください。", name=name))
        kpis.append(PilotKpi(position=position, name=name[:200], unit=str(row.get("unit") or "").strip()[:40],
                             baseline=row.get("baseline"), target=float(row["target"])))
    if not kpis:
        raise FieldError("kpis", _l("KPIを少なくとも1つ、目標値とともに入力してください。"))
    return kpis


def plan(match: Match, user: User, values: Mapping[str, Any], kpis: Sequence[Mapping[str, Any]]) -> Pilot:
    """Agree the pilot plan and move the match to 'pilot'."""
    if not can_plan(match, user):
        raise match_service.MoveRefused(_("この段階では実証実験の計画を登録できません。"))
    starts_on, ends_on = values["starts_on"], values["ends_on"]
    if ends_on < starts_on:
        raise FieldError("ends_on", _l("終了日は開始日以降にしてください。"))
    pilot = Pilot(summary=str(values.get("summary") or "").strip(), starts_on=starts_on, ends_on=ends_on,
                  responsibilities=str(values.get("responsibilities") or "").strip(),
                  cost_sharing=str(values.get("cost_sharing") or "").strip(), created_by_id=user.id)
    pilot.kpis = _kpis(kpis)
    db.session.add(pilot)
    db.session.flush()
    match.pilot = pilot
    audit.record(user, "pilot.planned", pilot, match_id=match.id)
    match_service.advance(match, M.PILOT.value, user, _("実証実験の計画に合意（%(start)s〜%(end)s）",
                                                        start=starts_on.isoformat(), end=ends_on.isoformat()))
    return pilot


def add_update(match: Match, user: User, body: str) -> PilotUpdate:
    if not can_update(match, user):
        raise match_service.MoveRefused(_("経過報告を追加できません。"))
    body = (body or "").strip()
    if not body:
        raise FieldError("body", _l("内容を入力してください。"))
    assert match.pilot is not None
    update = PilotUpdate(pilot=match.pilot, author_id=user.id, body=body, created_at=match_service.now_utc())
    db.session.add(update)
    db.session.flush()
    audit.record(user, "pilot.update", match.pilot, update_id=update.id, match_id=match.id)
    match_service.record_event(match, user, "pilot.update", body[:200])
    notify.notify([u for u in notify.both_sides(match) if u.id != user.id], "pilot.update",
                  _("「%(title)s」の実証実験に経過報告が追加されました", title=match.challenge.title), body,
                  match_service.match_url(match))
    return update


def record_budget_request(match: Match, user: User, recorded_on: date, amount: int | None = None,
                          note: str | None = None, contract_kind: str | None = None) -> None:
    """予算要求の登録: when next year's money was requested from the budget section, and for which
    kind of contract (別表第五), which the money rules check the amount against."""
    if not (match.pilot is not None and match.stage in (M.PILOT.value,) and _municipal_side(match, user)):
        raise match_service.MoveRefused(_("予算要求を登録できません。"))
    if amount is not None and amount < 0:
        raise FieldError("amount", _l("金額は0円以上で入力してください。"))
    if contract_kind is not None and contract_kind not in CONTRACT_KINDS:
        raise FieldError("contract_kind", _l("契約の種類を選んでください。"))
    pilot = match.pilot
    previous = pilot.budget_request_recorded_on
    if contract_kind is not None:
        match.contract_kind = contract_kind
    pilot.budget_request_recorded_on, pilot.budget_request_amount = recorded_on, amount
    pilot.budget_request_note = (note or "").strip() or None
    db.session.flush()
    audit.record(user, "pilot.budget_request", pilot, from_state=previous.isoformat() if previous else None,
                 to_state=recorded_on.isoformat(), match_id=match.id, amount=amount)
    match_service.record_event(match, user, "pilot.budget_request",
                               _("予算要求を登録（%(day)s）", day=recorded_on.isoformat()))


def report(match: Match, user: User, *, verdict: str, summary: str, actuals: Mapping[int, float | None]) -> None:
    """The results report: actual KPI values and a verdict; the pilot joins the case library."""
    if not can_manage(match, user):
        raise match_service.MoveRefused(_("結果報告を登録できません。"))
    if verdict not in VERDICTS:
        raise FieldError("verdict", _l("評価を選んでください。"))
    summary = (summary or "").strip()
    if not summary:
        raise FieldError("summary", _l("結果の概要を入力してください。"))
    pilot = match.pilot
    assert pilot is not None
    for kpi in pilot.kpis:
        if kpi.id in actuals:
            kpi.actual = actuals[kpi.id]
    first = pilot.reported_at is None
    pilot.verdict, pilot.report_summary = verdict, summary
    pilot.reported_at, pilot.reported_by_id = match_service.now_utc(), user.id
    db.session.flush()
    audit.record(user, "pilot.reported" if first else "pilot.report_changed", pilot, to_state=verdict,
                 match_id=match.id)
    match_service.record_event(match, user, "pilot.report", str(VERDICTS[verdict]))
    notify.notify([u for u in notify.both_sides(match) if u.id != user.id], "pilot.report",
                  _("「%(title)s」の実証実験の結果報告が登録されました", title=match.challenge.title), summary,
                  url_for("matches.case", match_id=match.id))
