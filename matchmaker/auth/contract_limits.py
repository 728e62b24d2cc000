"""A municipality's 少額随意契約 limits (its 規則), set by a coordinator or administrator."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.validators import Optional

from matchmaker.auth.views import bp
from matchmaker.fields import YenField
from matchmaker.services import procurement
from matchmaker.services.errors import FieldError, put_on_form
from models import Organisation, db
from models.procurement import CONTRACT_KINDS


def can_edit_limits(user: Any) -> bool:
    """The 規則 is the municipality's; on this service its coordinators and administrators keep it."""
    return bool(getattr(user, "is_authenticated", False) and user.is_staff)


def can_view_limits(organisation: Organisation, user: Any) -> bool:
    return can_edit_limits(user) or bool(
        getattr(user, "is_authenticated", False) and user.is_municipal and user.organisation_id == organisation.id)


class ContractLimitForm(FlaskForm):
    pass


for _kind, _label in CONTRACT_KINDS.items():
    setattr(ContractLimitForm, _kind, YenField(
        _label, validators=[Optional()],
        description=_l("円単位。空欄なら政令（別表第五）の上限額を使います。")))


@bp.route("/organisations/<int:organisation_id>/contract-limits", methods=["GET", "POST"])
@login_required
def contract_limits(organisation_id: int) -> str | Response:
    organisation = db.get_or_404(Organisation, organisation_id)
    if not organisation.is_municipality:
        abort(404)
    if not can_view_limits(organisation, current_user):
        abort(403)
    stored = procurement.stored_limits(organisation.id)
    form = ContractLimitForm(data=stored.overrides() if stored is not None else {})
    editable = can_edit_limits(current_user)
    if form.validate_on_submit():
        if not editable:
            abort(403)
        try:
            procurement.save_limits(current_user, organisation, {k: getattr(form, k).data for k in CONTRACT_KINDS})
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("「%(name)s」の少額随意契約の限度額を保存しました。", name=organisation.name), "success")
            return redirect(url_for("auth.contract_limits", organisation_id=organisation.id))
    tier = procurement.tier_of(organisation)
    rows = [(kind, label, procurement.ceiling_for(tier, kind)) for kind, label in CONTRACT_KINDS.items()]
    return render_template("auth/contract_limits.html", form=form, organisation=organisation, editable=editable,
                           tier=procurement.TIER_LABELS[tier], rows=rows, limits=procurement.limits_for(organisation),
                           council=procurement.COUNCIL_THRESHOLDS, tier_code=tier)
