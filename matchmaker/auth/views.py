"""Log in, log out, register."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from matchmaker.auth.forms import LoginForm, PasswordChangeForm, RegisterForm
from matchmaker.auth.limits import login_limits, password_change_limit, register_limit
from matchmaker.services import accounts
from matchmaker.services.errors import FieldError, put_on_form
from models import User, db

bp = Blueprint("auth", __name__)
# Between the password and the second factor the session holds only these (matchmaker/auth/two_factor.py).
PENDING = "two_factor_pending"  # "<user id>:<session token>" of an account past its password step
PENDING_REMEMBER = "two_factor_remember"
PENDING_NEXT = "two_factor_next"


def home_for(user: object) -> str:
    role = getattr(user, "role", None)
    return {
        "municipal": url_for("municipality.dashboard"),
        "company": url_for("company.dashboard"),
        "coordinator": url_for("coordinator.dashboard"),
        "admin": url_for("admin.dashboard"),
    }.get(str(role), url_for("public.index"))


def _safe_next(target: str | None) -> str | None:
    """A path on this site, never another host: not //host, /\\host, a scheme, or control characters
    (browsers read a backslash as a slash and drop tabs and newlines)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _fresh_session() -> None:
    """Nothing of the session before carries over except the chosen language."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def start_session(user: User, remember: bool = False) -> None:
    """A fresh session for the user, whose id in the cookie carries the current session token."""
    _fresh_session()
    login_user(user, remember=remember)


def await_second_factor(user: User, remember: bool, next_path: str | None) -> Response:
    """Called by the login view once the password was right: no session yet, only the pending id."""
    _fresh_session()
    session[PENDING] = user.get_id()
    session[PENDING_REMEMBER] = remember
    if next_path:
        session[PENDING_NEXT] = next_path
    return redirect(url_for("auth.login_second_factor"))


@bp.route("/login", methods=["GET", "POST"])
@login_limits[0]
@login_limits[1]
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            db.session.commit()  # the failed attempt's audit row
            form.password.errors = [_("メールアドレスまたはパスワードが正しくありません。")]
        elif not user.active:
            form.email.errors = [_("このアカウントは無効になっています。管理者にお問い合わせください。")]
        elif user.has_two_factor:
            return await_second_factor(user, bool(form.remember.data), _safe_next(request.args.get("next")))
        else:
            start_session(user, remember=bool(form.remember.data))
            accounts.note_login(user)
            db.session.commit()
            flash(_("ログインしました。"), "success")
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Ends this session and, with the cookie session holding no server-side state, every other
    session of the user too: a copied session or remember-me cookie stops working at logout."""
    accounts.end_all_sessions(current_user, current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("ログアウトしました。"), "info")
    return redirect(url_for("public.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@password_change_limit
def change_password() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data or "", form.new_password.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            start_session(current_user._get_current_object())  # the new token; other sessions have ended
            flash(_("パスワードを変更しました。ほかの端末ではもう一度ログインが必要です。"), "success")
            return redirect(url_for("auth.settings"))
    return render_template("auth/password.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@register_limit
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
            start_session(user)
            flash(_("登録が完了しました。"), "success")
            return redirect(home_for(user))
    return render_template("auth/register.html", form=form)


from matchmaker.auth import account, contract_limits, handover, tokens, two_factor  # noqa: F401  (register the settings pages)
