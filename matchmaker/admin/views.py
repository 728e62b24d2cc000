"""Administration pages: counts, users, staff accounts, organisations, exposure per company."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from matchmaker.admin.forms import EraseForm, OrganisationForm, ReasonForm, RoleForm, StaffAccountForm
from matchmaker.args import page_arg, text_arg
from matchmaker.auth import require_roles
from matchmaker.services import admin as admin_service
from matchmaker.services import outcomes, personal_data
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from matchmaker.transactions import writes
from models import AuditEvent, Organisation, User, db
from models.codes import ROLE_LABELS

bp = Blueprint("admin", __name__)

# Coordinators watch fairness too, so they may read the exposure page and the audit log; everything else
# is admin-only.
COORDINATOR_ENDPOINTS = frozenset({"admin.exposure", "admin.audit"})
EXPOSURE_PERIODS = (7, 30, 90)


@bp.before_request
def _gate() -> None:
    roles = ("admin", "coordinator") if request.endpoint in COORDINATOR_ENDPOINTS else ("admin",)
    require_roles(*roles)()


def _page_size() -> int:
    return int(current_app.config["PAGE_SIZE"])


@bp.route("/")
def dashboard() -> str:
    return render_template("admin/dashboard.html", counts=admin_service.dashboard_counts(),
                           events=admin_service.recent_events())


# --- users -----------------------------------------------------------------------------------


@bp.route("/users")
def users() -> str:
    q = text_arg("q")
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    page = db.paginate(admin_service.user_query(q, role if role in ROLE_LABELS else "", status),
                       page=page_arg(), per_page=_page_size(), error_out=False)
    return render_template("admin/users.html", page=page, q=q, role=role, status=status)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> str | Response:
    form = StaffAccountForm()
    if form.validate_on_submit():
        try:
            user = admin_service.create_staff_account(
                current_user, name=form.name.data or "", email=form.email.data or "", role=form.role.data or "",
                password=form.password.data or "", department=form.department.data,
            )
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("%(name)sさんのアカウント（%(role)s）を作成しました。", name=user.name,
                    role=ROLE_LABELS[user.role]), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int) -> str | Response:
    item = db.get_or_404(User, user_id)
    form = RoleForm(role=item.role)
    form.role.choices = [SelectChoice(r, ROLE_LABELS[r]) for r in admin_service.allowed_roles(item)]
    if form.validate_on_submit():
        try:
            changed = admin_service.change_role(current_user, item, form.role.data or "", form.reason.data or None)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            if changed:
                flash(_("役割を「%(role)s」に変更しました。", role=ROLE_LABELS[item.role]), "success")
            return redirect(url_for("admin.user", user_id=item.id))
    events = db.session.scalars(
        select(AuditEvent).where(or_(AuditEvent.actor_id == item.id,
                                     (AuditEvent.object_type == "user_account") & (AuditEvent.object_id == item.id)))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(20)
    ).all()
    return render_template("admin/user.html", user=item, form=form, events=events, reason_form=ReasonForm(),
                           erase_form=EraseForm(), erased=personal_data.is_erased(item))


@bp.route("/users/<int:user_id>/personal-data.json")
@writes()  # the export is audited
def personal_data_export(user_id: int) -> Response:
    """Everything held about one user, for a 個人情報保護法 disclosure request (開示請求)."""
    item = db.get_or_404(User, user_id)
    data = personal_data.export(item, current_user)
    db.session.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="personal-data-user-{item.id}.json"'})


@bp.route("/users/<int:user_id>/erase", methods=["POST"])
def erase_user(user_id: int) -> Response:
    """Erase one user's personal data (削除請求): the account is pseudonymised, the records stay."""
    item = db.get_or_404(User, user_id)
    form = EraseForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
        return redirect(url_for("admin.user", user_id=item.id))
    try:
        personal_data.erase(item, current_user, form.confirm_email.data or "")
    except FieldError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("利用者 #%(id)d の個人情報を削除しました。記録は「%(name)s」の名前で残ります。", id=item.id,
                name=item.name), "success")
    return redirect(url_for("admin.user", user_id=item.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id: int) -> Response:
    return _set_active(user_id, active=False)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id: int) -> Response:
    return _set_active(user_id, active=True)


def _set_active(user_id: int, *, active: bool) -> Response:
    item = db.get_or_404(User, user_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = admin_service.set_user_active(current_user, item, active, form.reason.data or None)
    except FieldError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        if changed and active:
            flash(_("%(name)sさんのアカウントを有効にしました。", name=item.name), "success")
        elif changed:
            flash(_("%(name)sさんのアカウントを無効にしました。ログインできなくなります。", name=item.name), "info")
    return redirect(url_for("admin.user", user_id=item.id))


# --- organisations ---------------------------------------------------------------------------


@bp.route("/organisations")
def organisations() -> str:
    q = text_arg("q")
    kind = request.args.get("kind", "")
    page = db.paginate(admin_service.organisation_query(q, kind if kind in ("municipality", "company") else ""),
                       page=page_arg(), per_page=_page_size(), error_out=False)
    members = admin_service.member_counts([o.id for o in page.items])
    return render_template("admin/organisations.html", page=page, q=q, kind=kind, members=members)


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit_organisation(organisation_id: int) -> str | Response:
    item = db.get_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=item)
    if form.validate_on_submit():
        try:
            changes = admin_service.update_organisation(current_user, item, form.to_input())
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            if changes:
                flash(_("「%(name)s」の情報を更新しました。", name=item.name), "success")
            else:
                flash(_("変更はありませんでした。"), "info")
            return redirect(url_for("admin.organisations", q=item.name))
    return render_template("admin/organisation_form.html", form=form, organisation=item)


# --- exposure --------------------------------------------------------------------------------


@bp.route("/exposure")
def exposure() -> str:
    days = request.args.get("days", 30, type=int)
    if days not in EXPOSURE_PERIODS:
        days = 30
    end = local_today()
    rows = admin_service.exposure_by_company(end, days)
    return render_template("admin/exposure.html", rows=rows, days=days, periods=EXPOSURE_PERIODS, end=end,
                           learning=outcomes.model())


from matchmaker.admin import audit, outbox  # noqa: F401  (registers the audit log and outbox routes)
