"""人事異動 handover page: a municipality's staff or a coordinator moves a leaving staff member's
open challenges, matches, pilots and soundings to a successor in one audited transaction."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from matchmaker.args import id_arg, number
from matchmaker.auth.forms import HandoverForm
from matchmaker.auth.views import bp
from matchmaker.services import handover
from matchmaker.services.errors import FieldError, put_on_form
from models import Organisation, User, db


@bp.route("/organisations/<int:organisation_id>/handover", methods=["GET", "POST"])
@login_required
def handover_page(organisation_id: int) -> str | Response:
    organisation = db.get_or_404(Organisation, organisation_id)
    if not organisation.is_municipality:
        abort(404)
    if not handover.can_hand_over(organisation, current_user):
        abort(403)
    staff = handover.staff_of(organisation)
    form = HandoverForm()
    form.leaver.choices = [(0, "—")] + [(u.id, u.name + ("" if u.active else _("（無効）"))) for u in staff]
    form.successor.choices = [(0, "—")] + [(u.id, f"{u.name}（{u.department or '—'}）") for u in staff if u.active]
    if request.method == "GET":
        form.leaver.data = id_arg("leaver") or 0
    if form.validate_on_submit():
        leaver = db.session.get(User, form.leaver.data or 0)
        successor = db.session.get(User, form.successor.data or 0)
        try:
            work = handover.hand_over(current_user._get_current_object(),  # type: ignore[attr-defined]
                                      organisation, leaver, successor, form.reason.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("%(n)d件を%(name)sに引き継ぎました。関係する企業に新しい担当者を通知しました。",
                    n=work.total, name=successor.name if successor else ""), "success")
            return redirect(url_for("auth.handover_page", organisation_id=organisation.id))
    leaver_id = number(form.leaver.data)  # a refused post may carry any number
    selected = db.session.get(User, leaver_id) if leaver_id else None
    preview = handover.open_work(selected) if selected is not None and selected.organisation_id == organisation.id \
        else None
    return render_template("auth/handover.html", form=form, organisation=organisation, selected=selected,
                           work=preview)
