"""Registration and organisation lookup."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from matchmaker.services import audit, conflicts, passwords
from matchmaker.services.errors import FieldError
from models import AuditEvent, Organisation, User, db
from models.codes import OrgKind, Role, is_valid_lg_code
from models.user import spend_password_check_time


def normalise_email(email: str) -> str:
    return email.strip().lower()[:254]


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The account whose password this is, or None. An unknown address costs the same argon2
    verification as a wrong password, so neither the answer nor its timing tells them apart.
    A failure on a known account is audited (the account's owner and administrators see it)."""
    user = find_user_by_email(email)
    if user is None:
        spend_password_check_time(password)
        return None
    if not user.check_password(password):
        audit.record(None, "user.login_failed", user)
        return None
    return user


def _organisation_named(name: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.name == name.strip()))


def register_member(
    *, kind: str, organisation_name: str, prefecture: str, lg_code: str | None, population: int | None,
    size: str | None, corporate_number: str | None, department: str | None, name: str, email: str,
    password: str,
) -> User:
    """Create a municipal or company account, joining the organisation or creating it."""
    if find_user_by_email(email) is not None:
        raise conflicts.refusal("uq_user_account_email")
    organisation = _organisation_named(organisation_name)
    if organisation is None:
        try:
            with conflicts.savepoint():
                organisation = create_organisation(
                    name=organisation_name, kind=kind, prefecture=prefecture, lg_code=lg_code,
                    population=population, size=size, corporate_number=corporate_number,
                )
        except conflicts.Conflict as conflict:
            if conflict.constraint != "uq_organisation_name":
                raise
            organisation = _organisation_named(organisation_name)  # a colleague registered it just now: join
            assert organisation is not None
    if organisation.kind != kind:
        raise FieldError("organisation_name", _l("同じ名前の組織が別の種類で登録されています。"))
    if kind == OrgKind.MUNICIPALITY.value and lg_code and organisation.lg_code != lg_code:
        raise FieldError("lg_code", _l("この自治体の団体コードと一致しません。"))
    passwords.check_new_password(password, email=email, name=name)
    role = Role.MUNICIPAL.value if kind == OrgKind.MUNICIPALITY.value else Role.COMPANY.value
    with conflicts.savepoint():  # uq_user_account_email: the same address registered at the same moment
        user = User(email=email.strip().lower(), name=name.strip(), role=role, organisation=organisation,
                    department=department or None)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    audit.record(user, "user.registered", user, to_state=role)
    return user


def create_organisation(
    *, name: str, kind: str, prefecture: str, lg_code: str | None = None, population: int | None = None,
    size: str | None = None, corporate_number: str | None = None,
) -> Organisation:
    if kind == OrgKind.MUNICIPALITY.value:
        if not lg_code:
            raise FieldError("lg_code", _l("自治体の登録には全国地方公共団体コードが必要です。"))
        if not is_valid_lg_code(lg_code):
            raise FieldError("lg_code", _l("団体コードの検査数字が正しくありません。"))
        if db.session.scalar(select(Organisation).where(Organisation.lg_code == lg_code)) is not None:
            raise conflicts.refusal("uq_organisation_lg_code")
    organisation = Organisation(
        name=name.strip(), kind=kind, prefecture=prefecture,
        lg_code=lg_code if kind == OrgKind.MUNICIPALITY.value else None,
        population=population if kind == OrgKind.MUNICIPALITY.value else None,
        size=(size or None) if kind == OrgKind.COMPANY.value else None,
        corporate_number=(corporate_number or None) if kind == OrgKind.COMPANY.value else None,
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation


def note_login(user: User) -> None:
    user.last_login_at = datetime.now(UTC)
    audit.record(user, "user.logged_in", user)


def change_password(user: User, current: str, new: str) -> None:
    """Check the current password and the policy, set the new one and end every other session
    (the caller signs the current one in again with the new session token)."""
    if not user.check_password(current):
        raise FieldError("current_password", _l("現在のパスワードが正しくありません。"))
    passwords.check_new_password(new, email=user.email, name=user.name, field="new_password")
    if user.check_password(new):
        raise FieldError("new_password", _l("現在と同じパスワードです。別のパスワードにしてください。"))
    user.set_password(new)
    user.end_all_sessions()
    db.session.flush()
    audit.record(user, "user.password_changed", user)


def end_all_sessions(user: User, actor: User | None) -> None:
    """Sign the user out everywhere: every session and remember-me cookie stops working."""
    user.end_all_sessions()
    db.session.flush()
    audit.record(actor, "user.sessions_ended", user)


def record_rate_limited(*, endpoint: str, limit: str, address: str, email: str) -> None:
    """Audit a breached rate limit at once (the request is refused, so nothing else commits)."""
    user = find_user_by_email(email) if email else None
    db.session.add(AuditEvent(actor_id=None, action="auth.rate_limited", object_type=User.__tablename__,
                              object_id=user.id if user is not None else None,
                              details={"endpoint": endpoint, "limit": limit, "address": address,
                                       "email": normalise_email(email)}))
    db.session.commit()
