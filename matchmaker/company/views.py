"""Company pages: the dashboard and solution profiles (create, edit, deactivate, read)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from matchmaker.auth import COMPANY_AREA_ROLES, keeps_solution_profiles, require_roles, viewable_or_404
from matchmaker.company.forms import SolutionForm
from matchmaker.services import recommend, solutions, todo
from matchmaker.services.errors import FieldError, put_on_form
from models import Solution, db

bp = Blueprint("company", __name__)
# Every page needs a login; which role may do what is asked per page (profiles are read by
# municipal staff and coordinators too, and administrators may edit them).
bp.before_request(require_roles(*COMPANY_AREA_ROLES))

DASHBOARD_TOP = 3


def _own_company_only() -> None:
    if not keeps_solution_profiles(current_user):
        abort(403)


def _load(solution_id: int) -> Solution:
    return viewable_or_404(Solution, solution_id)


@bp.route("/")
def dashboard() -> str:
    _own_company_only()
    profiles = solutions.solutions_of(current_user.organisation_id)
    matches = recommend.top_challenges_per_solution([p for p in profiles if p.active], k=DASHBOARD_TOP)
    return render_template("company/dashboard.html", profiles=profiles, matches=matches,
                           todo_items=todo.for_company(current_user.organisation_id))


@bp.route("/solutions/new", methods=["GET", "POST"])
def new_solution() -> str | Response:
    _own_company_only()
    form = SolutionForm()
    if form.validate_on_submit():
        try:
            solution = solutions.create_solution(current_user, current_user.organisation, form.to_input())
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("ソリューション「%(title)s」を登録しました。推薦の計算には少し時間がかかります。",
                    title=solution.title), "success")
            return redirect(url_for("company.solution", solution_id=solution.id))
    return render_template("company/solution_form.html", form=form, solution=None)


@bp.route("/solutions/<int:solution_id>")
def solution(solution_id: int) -> str:
    item = _load(solution_id)
    return render_template(
        "company/solution.html", solution=item, can_edit=item.can_edit(current_user),
        can_see_recommendations=item.can_see_recommendations(current_user),
        labels=solutions.SOLUTION_FIELD_LABELS,
    )


@bp.route("/solutions/<int:solution_id>/edit", methods=["GET", "POST"])
def edit_solution(solution_id: int) -> str | Response:
    item = _load(solution_id)
    if not item.can_edit(current_user):
        abort(403)
    form = SolutionForm(obj=item)
    if form.validate_on_submit():
        try:
            changed = solutions.update_solution(current_user, item, form.to_input())
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            if changed:
                flash(_("変更を保存しました。"), "success")
            else:
                flash(_("変更はありませんでした。"), "info")
            return redirect(url_for("company.solution", solution_id=item.id))
    return render_template("company/solution_form.html", form=form, solution=item)


@bp.route("/solutions/<int:solution_id>/deactivate", methods=["POST"])
def deactivate_solution(solution_id: int) -> Response:
    return _set_active(solution_id, active=False)


@bp.route("/solutions/<int:solution_id>/reactivate", methods=["POST"])
def reactivate_solution(solution_id: int) -> Response:
    return _set_active(solution_id, active=True)


def _set_active(solution_id: int, *, active: bool) -> Response:
    item = _load(solution_id)
    if not item.can_edit(current_user):
        abort(403)
    if solutions.set_active(current_user, item, active):
        db.session.commit()
        if active:
            flash(_("「%(title)s」を再び公開しました。推薦に表示されます。", title=item.title), "success")
        else:
            flash(_("「%(title)s」を非公開にしました。推薦には表示されません。", title=item.title), "info")
    return redirect(url_for("company.solution", solution_id=item.id))
