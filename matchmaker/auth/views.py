"""Log in, log out, register."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from matchmaker.auth.forms import LoginForm, RegisterForm
from matchmaker.services import accounts
from matchmaker.services.errors import FieldError, put_on_form
from models import db

bp = Blueprint("auth", __name__)


def home_for(user: object) -> str:
    role = getattr(user, "role", None)
    return {
        "municipal": url_for("municipality.dashboard"),
        "company": url_for("company.dashboard"),
        "coordinator": url_for("coordinator.dashboard"),
        "admin": url_for("admin.dashboard"),
    }.get(str(role), url_for("public.index"))


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.find_user_by_email(form.email.data or "")
        if user is None or not user.check_password(form.password.data or ""):
            form.password.errors = [_("メールアドレスまたはパスワードが正しくありません。")]
        elif not user.active:
            form.email.errors = [_("このアカウントは無効になっています。管理者にお問い合わせください。")]
        else:
            login_user(user, remember=bool(form.remember.data))
            accounts.note_login(user)
            db.session.commit()
            flash(_("ログインしました。"), "success")
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logout_user()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("public.index"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_member(
                kind=form.kind.data or "",
                organisation_name=form.organisation_name.data or "",
                prefecture=form.prefecture.data or "",
                lg_code=form.lg_code.data or None,
                population=form.population.data,
                size=form.size.data or None,
                corporate_number=form.corporate_number.data or None,
                department=form.department.data or None,
                name=form.name.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
            )
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            login_user(user)
            flash(_("登録が完了しました。"), "success")
            return redirect(home_for(user))
    return render_template("auth/register.html", form=form)


from matchmaker.auth import account  # noqa: F401  (registers the settings pages)
