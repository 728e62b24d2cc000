"""Administration: staff accounts, activation, roles and organisations, each change audited.

Also the read-only figures the admin pages show: counts for the dashboard and the exposure of
each company in recommendation lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select

from matchmaker.i18n import JST
from matchmaker.services import audit, passwords
from matchmaker.services.accounts import find_user_by_email
from matchmaker.services.errors import FieldError
from models import AuditEvent, Challenge, CompanyExposure, Match, Organisation, Proposal, Solution, User, db
from models.codes import COMPANY_SIZES, PREFECTURES, OrgKind, Role, is_valid_lg_code

STAFF_ROLES: tuple[str, ...] = (Role.COORDINATOR.value, Role.ADMIN.value)


# --- users -----------------------------------------------------------------------------------


def create_staff_account(actor: User, *, name: str, email: str, role: str, password: str,
                         department: str | None = None) -> User:
    """A coordinator or administrator account (members register themselves)."""
    if role not in STAFF_ROLES:
        raise FieldError("role", _l("作成できるのはコーディネーターと管理者のアカウントです。"))
    if find_user_by_email(email) is not None:
        raise FieldError("email", _l("このメールアドレスは既に登録されています。"))
    passwords.check_new_password(password, email=email, name=name)
    user = User(email=email.strip().lower(), name=name.strip(), role=role, organisation=None,
                department=(department or "").strip() or None, active=True)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", user, to_state=role, email=user.email)
    return user


def set_user_active(actor: User, user: User, active: bool, reason: str | None = None) -> bool:
    """Deactivate (the user can no longer log in) or reactivate. Returns whether it changed."""
    if user.id == actor.id and not active:
        raise FieldError("active", _l("自分自身のアカウントは無効にできません。"))
    if user.active == active:
        return False
    user.active = active
    if not active:
        user.end_all_sessions()  # a deactivated account's open sessions and remember-me cookies end now
    db.session.flush()
    audit.record(actor, "user.reactivated" if active else "user.deactivated", user,
                 from_state="inactive" if active else "active", to_state="active" if active else "inactive",
                 reason=reason)
    return True


def allowed_roles(user: User) -> list[str]:
    """Roles this user may be given: staff roles, or the member role of their organisation."""
    roles = list(STAFF_ROLES)
    if user.organisation is not None:
        roles.append(Role.MUNICIPAL.value if user.organisation.is_municipality else Role.COMPANY.value)
    return roles


def change_role(actor: User, user: User, role: str, reason: str | None = None) -> bool:
    """Change what a user may do; audited as a permission change. Returns whether it changed."""
    if user.role == role:
        return False
    if user.id == actor.id:
        raise FieldError("role", _l("自分自身の役割は変更できません。別の管理者に依頼してください。"))
    if role not in allowed_roles(user):
        raise FieldError("role", _l("この利用者の所属組織では、その役割を設定できません。"))
    previous = user.role
    user.role = role
    db.session.flush()
    audit.record(actor, "user.permission_changed", user, from_state=previous, to_state=role, reason=reason)
    return True


def user_query(q: str = "", role: str = "", status: str = "") -> Select[tuple[User]]:
    query = select(User).outerjoin(Organisation, User.organisation_id == Organisation.id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(User.email).like(like), func.lower(User.name).like(like),
                                func.lower(Organisation.name).like(like)))
    if role:
        query = query.where(User.role == role)
    if status in ("active", "inactive"):
        query = query.where(User.active.is_(status == "active"))
    return query.order_by(User.created_at.desc(), User.id.desc())


# --- organisations ---------------------------------------------------------------------------


@dataclass
class OrganisationInput:
    name: str
    prefecture: str
    lg_code: str | None = None
    population: int | None = None
    size: str | None = None
    corporate_number: str | None = None


def update_organisation(actor: User, organisation: Organisation, data: OrganisationInput) -> dict[str, Any]:
    """Write the changed fields; return ``{field: [old, new]}`` (also the audit details)."""
    values = _checked(organisation, data)
    changes = {name: [getattr(organisation, name), value] for name, value in values.items()
               if getattr(organisation, name) != value}
    if not changes:
        return changes
    for name, (_old, new) in changes.items():
        setattr(organisation, name, new)
    db.session.flush()
    audit.record(actor, "organisation.updated", organisation, changes=changes)
    return changes


def _checked(organisation: Organisation, data: OrganisationInput) -> dict[str, Any]:
    name = data.name.strip()
    if not name:
        raise FieldError("name", _l("組織名を入力してください。"))
    clash = db.session.scalar(select(Organisation.id).where(Organisation.name == name, Organisation.id != organisation.id))
    if clash is not None:
        raise FieldError("name", _l("同じ名前の組織が既に登録されています。"))
    if data.prefecture not in PREFECTURES:
        raise FieldError("prefecture", _l("都道府県を選んでください。"))
    values: dict[str, Any] = {"name": name, "prefecture": data.prefecture}
    if organisation.kind == OrgKind.MUNICIPALITY.value:
        code = (data.lg_code or "").strip()
        if not code:
            raise FieldError("lg_code", _l("自治体には全国地方公共団体コードが必要です。"))
        if not is_valid_lg_code(code):
            raise FieldError("lg_code", _l("団体コードの検査数字が正しくありません。6桁目を確認してください。"))
        taken = db.session.scalar(select(Organisation.id).where(Organisation.lg_code == code,
                                                                Organisation.id != organisation.id))
        if taken is not None:
            raise FieldError("lg_code", _l("この団体コードは別の組織で登録されています。"))
        if data.population is not None and data.population < 0:
            raise FieldError("population", _l("人口は0以上で入力してください。"))
        values.update(lg_code=code, population=data.population)
    else:
        if data.size and data.size not in COMPANY_SIZES:
            raise FieldError("size", _l("企業規模を選んでください。"))
        number = (data.corporate_number or "").strip() or None
        if number is not None and not (len(number) == 13 and number.isdigit()):
            raise FieldError("corporate_number", _l("法人番号は13桁の数字で入力してください。"))
        values.update(size=data.size or None, corporate_number=number)
    return values



def organisation_query(q: str = "", kind: str = "") -> Select[tuple[Organisation]]:
    query = select(Organisation)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Organisation.name).like(like), Organisation.lg_code.like(like),
                                Organisation.prefecture.like(like)))
    if kind:
        query = query.where(Organisation.kind == kind)
    return query.order_by(Organisation.kind, Organisation.name)


def member_counts(organisation_ids: list[int]) -> dict[int, int]:
    if not organisation_ids:
        return {}
    rows = db.session.execute(select(User.organisation_id, func.count(User.id))
                              .where(User.organisation_id.in_(organisation_ids)).group_by(User.organisation_id))
    return {org_id: count for org_id, count in rows}


# --- figures ---------------------------------------------------------------------------------


def _grouped(column: Any) -> dict[Any, int]:
    return {key: count for key, count in db.session.execute(select(column, func.count()).group_by(column))}


def dashboard_counts() -> dict[str, dict[Any, int]]:
    return {
        "users_by_role": _grouped(User.role),
        "users_by_active": _grouped(User.active),
        "organisations_by_kind": _grouped(Organisation.kind),
        "challenges_by_status": _grouped(Challenge.status),
        "solutions_by_active": _grouped(Solution.active),
    }


def recent_events(limit: int = 15) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                   .limit(limit)))


@dataclass(frozen=True)
class ExposureRow:
    organisation: Organisation
    shown: int  # appearances in recommendation lists (推薦)
    top3: int  # of those, at ranks 1–3: the slots people read (表示)
    days: int
    share: float  # of all appearances in the period, 0..1
    active_profiles: int
    invited: int  # matches opened by a municipality's invitation + proposals invited to a sounding
    proposed: int  # proposals submitted


def _counted(query: Select[Any]) -> dict[int, int]:
    return {int(org): int(n) for org, n in db.session.execute(query).tuples().all()}


def _invited_and_proposed(start: date, end: date) -> tuple[dict[int, int], dict[int, int]]:
    """Per company over the Japanese calendar days ``start``..``end``: invitations and proposals."""
    since = datetime.combine(start, time(0), tzinfo=JST)
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=JST)
    by_invite = _counted(select(Solution.organisation_id, func.count(Match.id)).join(Match.solution).where(
        Match.origin == "municipality_invite", Match.created_at >= since, Match.created_at < until)
        .group_by(Solution.organisation_id))
    to_sounding = _counted(select(Proposal.organisation_id, func.count(AuditEvent.id)).join(
        Proposal, (AuditEvent.object_type == "proposal") & (AuditEvent.object_id == Proposal.id)).where(
        AuditEvent.action == "proposal.invited", AuditEvent.at >= since, AuditEvent.at < until)
        .group_by(Proposal.organisation_id))
    proposed = _counted(select(Proposal.organisation_id, func.count(Proposal.id)).where(
        Proposal.submitted_at >= since, Proposal.submitted_at < until).group_by(Proposal.organisation_id))
    invited = {org: by_invite.get(org, 0) + to_sounding.get(org, 0) for org in by_invite.keys() | to_sounding.keys()}
    return invited, proposed


def exposure_by_company(end: date, days: int) -> list[ExposureRow]:
    """Per company over ``days`` days to ``end``: appearances of its profiles in recommendation lists
    (all and at ranks 1–3), invitations and proposals — whether a few vendors take every slot."""
    start = end - timedelta(days=days - 1)
    shown = func.sum(CompanyExposure.shown)
    rows = db.session.execute(
        select(CompanyExposure.organisation_id, shown, func.sum(CompanyExposure.top3),
               func.count(CompanyExposure.day))
        .where(CompanyExposure.day >= start, CompanyExposure.day <= end)
        .group_by(CompanyExposure.organisation_id)
    ).all()
    exposure = {org: (int(s or 0), int(t or 0), int(d)) for org, s, t, d in rows}
    invited, proposed = _invited_and_proposed(start, end)
    ids = set(exposure) | set(invited) | set(proposed)
    total = sum(e[0] for e in exposure.values()) or 1
    organisations = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
    profiles = dict(db.session.execute(
        select(Solution.organisation_id, func.count(Solution.id))
        .where(Solution.organisation_id.in_(ids), Solution.active.is_(True))
        .group_by(Solution.organisation_id)
    ).tuples().all())
    result = []
    for org_id in ids:
        s, t, d = exposure.get(org_id, (0, 0, 0))
        result.append(ExposureRow(organisation=organisations[org_id], shown=s, top3=t, days=d, share=s / total,
                                  active_profiles=int(profiles.get(org_id, 0)), invited=invited.get(org_id, 0),
                                  proposed=proposed.get(org_id, 0)))
    return sorted(result, key=lambda r: (-r.shown, -r.proposed, -r.invited, r.organisation.name))
