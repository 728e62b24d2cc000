"""The account page's personal API tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from matchmaker.auth.views import bp
from matchmaker.services import api_tokens
from matchmaker.services.errors import FieldError, put_on_form
from models import ApiToken, db

SCOPE_LABELS = {"read": _l("読み取りのみ"), "write": _l("読み取りと書き込み")}


class ApiTokenForm(FlaskForm):
    name = StringField(_l("名前"), validators=[DataRequired(message=_l("トークンの名前を入力してください。")),
                                             Length(max=100)],
                       description=_l("どのシステムで使うかが分かる名前に。例：庁内の課題管理システム"))
    scope = RadioField(_l("権限"), choices=[SelectChoice(code, label) for code, label in SCOPE_LABELS.items()],
                       default="read", validators=[DataRequired(message=_l("権限を選んでください。"))],
                       description=_l("書き込みは、課題やソリューションの登録・更新に必要です。"))
    days = SelectField(_l("有効期間"), coerce=int, default=api_tokens.DEFAULT_LIFETIME,
                       choices=[SelectChoice(days, _l("%(n)d日", n=days))  # type: ignore[arg-type]
                                for days in api_tokens.LIFETIMES])


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def api_tokens_page() -> str:
    form = ApiTokenForm()
    issued = None
    if form.validate_on_submit():
        try:
            issued = api_tokens.issue(current_user._get_current_object(),  # type: ignore[attr-defined]
                                      name=form.name.data or "", scope=form.scope.data or "",
                                      days=int(form.days.data or 0))
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            form = ApiTokenForm(formdata=None)
    return render_template("auth/tokens.html", form=form, issued=issued, now=datetime.now(UTC),
                           tokens=api_tokens.tokens_of(current_user), scope_labels=SCOPE_LABELS)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if api_tokens.revoke(token, current_user._get_current_object()):  # type: ignore[attr-defined]
        db.session.commit()
        flash(_("トークン「%(name)s」を取り消しました。このトークンを使うリクエストは拒否されます。", name=token.name),
              "info")
    return redirect(url_for("auth.api_tokens_page"))
