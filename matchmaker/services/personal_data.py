"""Requests under the 個人情報保護法: export what we hold about a user, and erase it.

Erasing pseudonymises instead of deleting the account row: challenges, proposals, dialogue records
and the audit log keep pointing at the same id, now named 「削除済みの利用者 #id」, so the trail of who
did what stays whole while the name, e-mail address, department, password and second factor go.
Notifications (which only concern the user) are deleted; mails already written keep their record
without the address or the text; a mail still waiting is not sent.

The audit log is append-only and is not rewritten: its rows name the actor by id only, but the
events of failed logins and rate limits keep the e-mail address that was typed, as security
records (kept for the period the operator's retention rules set; say so in the privacy notice).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import AuditEvent, Notification, OutboxMail, User, db
from models.codes import Role

ERASED_NAME = "削除済みの利用者 #{id}"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never delivered


def is_erased(user: User) -> bool:
    return user.email.endswith("@" + ERASED_DOMAIN)


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _references(user: User) -> list[dict[str, Any]]:
    """Every row of every table that points at the user, found from the foreign keys themselves, so
    a table added tomorrow is listed too."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in ("notification", "outbox_mail", "audit_event"):
            continue  # exported in full below
        key = next(iter(table.primary_key.columns))
        for column in table.columns:
            if any(fk.column.table.name == "user_account" for fk in column.foreign_keys):
                ids = db.session.scalars(select(key).where(column == user.id).order_by(key)).all()
                if ids:
                    found.append({"table": table.name, "column": column.name, "ids": list(ids)})
    return found


def export(user: User, actor: User) -> dict[str, Any]:
    """Everything about ``user``: the account, the notifications and mails sent to them, the audit
    events by or about them, and which records name them (by table and id)."""
    notifications = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)).all()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)).all()
    events = db.session.scalars(
        select(AuditEvent).where((AuditEvent.actor_id == user.id)
                                 | ((AuditEvent.object_type == "user_account") & (AuditEvent.object_id == user.id)))
        .order_by(AuditEvent.id)).all()
    data = {
        "exported_at": datetime.now(UTC).isoformat(),
        "account": {
            "id": user.id, "name": user.name, "email": user.email, "role": user.role,
            "organisation": user.organisation.name if user.organisation else None,
            "department": user.department, "locale": user.locale, "active": user.active,
            "notification_frequency": user.notification_frequency, "two_factor": user.has_two_factor,
            "created_at": _instant(user.created_at), "last_login_at": _instant(user.last_login_at),
        },
        "notifications": [{"id": n.id, "kind": n.kind, "subject": n.subject, "body": n.body, "url": n.url,
                           "created_at": _instant(n.created_at), "read_at": _instant(n.read_at)}
                          for n in notifications],
        "mails": [{"id": m.id, "to": m.to_address, "subject": m.subject, "body": m.body, "status": m.status,
                   "created_at": _instant(m.created_at), "sent_at": _instant(m.sent_at)} for m in mails],
        "audit_events": [{"id": e.id, "at": _instant(e.at), "action": e.action, "object_type": e.object_type,
                          "object_id": e.object_id, "by_this_user": e.actor_id == user.id} for e in events],
        "records_naming_the_user": _references(user),
    }
    audit.record(actor, "user.personal_data_exported", user)
    return data


def erase(user: User, actor: User, confirm_email: str) -> None:
    """Pseudonymise ``user`` for good (see the module's docstring). ``confirm_email`` must repeat the
    address, so that a wrong row is never erased by a slip."""
    if user.id == actor.id:
        raise FieldError("confirm_email", _l("自分自身の個人情報は削除できません。別の管理者に依頼してください。"))
    if is_erased(user):
        raise FieldError("confirm_email", _l("この利用者の個人情報は既に削除されています。"))
    if (confirm_email or "").strip().lower() != user.email.lower():
        raise FieldError("confirm_email", _l("確認のため、この利用者のメールアドレスを正確に入力してください。"))
    if user.role == Role.ADMIN.value and user.active and not _another_active_admin(user):
        raise FieldError("confirm_email", _l("最後の有効な管理者の個人情報は削除できません。"))
    erased_email = f"user-{user.id}@{ERASED_DOMAIN}"
    user.name = ERASED_NAME.format(id=user.id)
    user.email = erased_email
    user.department = None
    user.locale = None
    user.active = False
    user.set_password(secrets.token_urlsafe(32))  # nobody knows it: the account can never log in again
    user.totp_secret = None
    user.totp_last_step = None
    user.recovery_code_hashes = []
    user.end_all_sessions()
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(update(OutboxMail).where(OutboxMail.user_id == user.id, OutboxMail.status == "pending")
                       .values(status="failed", last_error="recipient erased"))
    db.session.execute(update(OutboxMail).where(OutboxMail.user_id == user.id)
                       .values(to_address=erased_email, subject="（削除済み）", body=""))
    db.session.flush()
    audit.record(actor, "user.personal_data_erased", user)


def _another_active_admin(user: User) -> bool:
    return db.session.scalar(select(User.id).where(User.role == Role.ADMIN.value, User.active.is_(True),
                                                   User.id != user.id).limit(1)) is not None
