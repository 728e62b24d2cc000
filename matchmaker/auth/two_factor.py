"""Two-factor pages: enrolment (QR code, secret and recovery codes shown once), turning it off,
the second step of a login, and the gate that sends administrators to enrolment when
MATCHMAKER_REQUIRE_2FA=on."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from matchmaker.args import number
from matchmaker.auth.forms import TwoFactorCodeForm
from matchmaker.auth.limits import two_factor_limit
from matchmaker.auth.views import PENDING, PENDING_NEXT, PENDING_REMEMBER, bp, home_for, start_session
from matchmaker.services import accounts
from matchmaker.services import two_factor as totp
from matchmaker.services.errors import FieldError, put_on_form
from models import User, db

ENROL_NONCE = "two_factor_nonce"
# What an administrator without two-factor may still reach when it is required.
OPEN_WHILE_REQUIRED = {"auth.two_factor", "auth.logout", "auth.login", "auth.login_second_factor", "static",
                       "public.set_language"}


def _pending_user() -> User | None:
    user_id, _sep, token = str(session.get(PENDING, "")).partition(":")
    user_key = number(user_id)
    user = db.session.get(User, user_key) if user_key is not None else None
    if user is None or not user.holds_session(token) or not user.active or not user.has_two_factor:
        return None
    return user


@bp.route("/login/two-factor", methods=["GET", "POST"])
@two_factor_limit
def login_second_factor() -> str | Response:
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        if totp.verify(user, form.code.data or ""):
            remember, next_path = bool(session.get(PENDING_REMEMBER)), session.get(PENDING_NEXT)
            start_session(user, remember=remember)
            accounts.note_login(user)
            db.session.commit()
            flash(_("ログインしました。"), "success")
            return redirect(next_path or home_for(user))
        db.session.commit()  # the failure's audit row
        form.code.errors = [_("確認コードが正しくありません。アプリに表示されている6桁の数字を入力してください。")]
    return render_template("auth/two_factor_login.html", form=form)


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> str | Response:
    if not totp.may_enrol(current_user):
        abort(404)
    form = TwoFactorCodeForm()
    if current_user.has_two_factor:
        return render_template("auth/two_factor.html", form=form, enrolled=True,
                               required=current_app.config["REQUIRE_2FA"] and current_user.is_admin)
    nonce = session.setdefault(ENROL_NONCE, secrets.token_urlsafe(16))
    secret = totp.enrolment_secret(current_user, nonce, current_app.config["SECRET_KEY"])
    if form.validate_on_submit():
        try:
            codes = totp.enable(current_user, secret, form.code.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            start_session(current_user._get_current_object())
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = totp.provisioning_uri(current_user, secret)
    return render_template("auth/two_factor.html", form=form, enrolled=False, qr=totp.qr_data_uri(uri),
                           secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))


@bp.route("/two-factor/disable", methods=["POST"])
@login_required
@two_factor_limit
def disable_two_factor() -> str | Response:
    if not current_user.has_two_factor:
        abort(404)
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            totp.disable(current_user, form.code.data or "", required=current_app.config["REQUIRE_2FA"])
        except FieldError as error:
            db.session.commit()  # a failed code's audit row stays
            put_on_form(form, error)
        else:
            db.session.commit()
            start_session(current_user._get_current_object())
            flash(_("二段階認証を解除しました。"), "info")
            return redirect(url_for("auth.settings"))
    return render_template("auth/two_factor.html", form=form, enrolled=True,
                           required=current_app.config["REQUIRE_2FA"] and current_user.is_admin)


@bp.before_app_request
def require_two_factor_for_administrators() -> Response | None:
    if not current_app.config["REQUIRE_2FA"] or request.endpoint in OPEN_WHILE_REQUIRED:
        return None
    if current_user.is_authenticated and current_user.is_admin and not current_user.has_two_factor:
        flash(_("このサイトでは管理者は二段階認証の設定が必要です。設定を済ませてください。"), "info")
        return redirect(url_for("auth.two_factor"))
    return None
