"""Pilot pages: the plan (moves the match to 'pilot'), progress updates, the budget request and
the results report."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from matchmaker.args import number
from matchmaker.matches import bp
from matchmaker.matches.forms import BudgetForm, PilotForm, ReportForm, UpdateForm
from matchmaker.matches.views import acting_user, already_moved_on, load_match
from matchmaker.services import pilots
from matchmaker.services.errors import FieldError, put_on_form
from models import Pilot, db


def _back(match_id: int) -> Response:
    return redirect(url_for("matches.match", match_id=match_id, _anchor="pilot"))


@bp.route("/<int:match_id>/pilot", methods=["GET", "POST"])
@login_required
def plan_pilot(match_id: int) -> str | Response:
    item = load_match(match_id)
    moved_on = already_moved_on(item, item.pilot is not None, _("実証実験の計画は既に登録されています。"))
    if moved_on is not None:
        return moved_on
    if not pilots.can_plan(item, current_user):
        abort(403)
    form = PilotForm()
    if form.validate_on_submit():
        try:
            pilots.plan(item, acting_user(), {
                "summary": form.summary.data, "starts_on": form.starts_on.data, "ends_on": form.ends_on.data,
                "responsibilities": form.responsibilities.data, "cost_sharing": form.cost_sharing.data,
            }, form.kpi_values())
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("実証実験の計画を登録しました。"), "success")
            return _back(item.id)
    return render_template("matches/pilot_form.html", match=item, form=form)


@bp.route("/<int:match_id>/pilot/updates", methods=["POST"])
@login_required
def pilot_update(match_id: int) -> Response:
    item = load_match(match_id)
    if not pilots.can_update(item, current_user):
        abort(403)
    form = UpdateForm()
    if not form.validate_on_submit():
        flash(_("経過報告の内容を入力してください。"), "error")
        return _back(item.id)
    pilots.add_update(item, acting_user(), form.body.data or "")
    db.session.commit()
    flash(_("経過報告を追加しました。"), "success")
    return _back(item.id)


@bp.route("/<int:match_id>/pilot/budget", methods=["GET", "POST"])
@login_required
def budget_request(match_id: int) -> str | Response:
    """予算要求の登録: the fiscal-calendar warnings read ``pilot.budget_request_recorded_on``."""
    item = load_match(match_id)
    if not pilots.can_manage(item, current_user):
        abort(403)
    assert item.pilot is not None
    form = BudgetForm(obj=None if request.method == "POST" else _BudgetDefaults(item.pilot))
    if form.validate_on_submit():
        try:
            pilots.record_budget_request(item, acting_user(), form.recorded_on.data,  # type: ignore[arg-type]
                                         form.amount.data, form.note.data, form.contract_kind.data or None)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("予算要求を登録しました。"), "success")
            return _back(item.id)
    return render_template("matches/budget_form.html", match=item, form=form)


class _BudgetDefaults:
    """The recorded budget request under the form's field names."""

    def __init__(self, pilot: Pilot) -> None:
        self.recorded_on = pilot.budget_request_recorded_on
        self.amount = pilot.budget_request_amount
        self.note = pilot.budget_request_note
        self.contract_kind = pilot.match.contract_kind or "other"


@bp.route("/<int:match_id>/pilot/report", methods=["GET", "POST"])
@login_required
def pilot_report(match_id: int) -> str | Response:
    item = load_match(match_id)
    if not pilots.can_manage(item, current_user):
        abort(403)
    pilot = item.pilot
    assert pilot is not None
    form = ReportForm(verdict=pilot.verdict, summary=pilot.report_summary)
    if request.method == "GET":
        while len(form.actuals.entries):
            form.actuals.pop_entry()
        for kpi in pilot.kpis:
            form.actuals.append_entry({"kpi_id": str(kpi.id), "actual": kpi.actual})
    if form.validate_on_submit():
        known = {kpi.id for kpi in pilot.kpis}
        actuals = {kpi_id: row.form.actual.data for row in form.actuals
                   if (kpi_id := number(row.form.kpi_id.data)) in known}
        try:
            pilots.report(item, acting_user(), verdict=form.verdict.data or "", summary=form.summary.data or "",
                          actuals=actuals)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("結果報告を登録しました。事例集に掲載されます。"), "success")
            return _back(item.id)
    kpis = {kpi.id: kpi for kpi in pilot.kpis}
    rows = [(kpis.get(number(r.form.kpi_id.data) or 0), r) for r in form.actuals]
    return render_template("matches/pilot_report.html", match=item, form=form, rows=rows)
