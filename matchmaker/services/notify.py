"""Notifications: the single entry point ``notify``. E-mail delivery and digests build on the rows
it creates; keep the signature stable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from matchmaker.services.mail import deliver
from models import Challenge, Match, Notification, Organisation, User, db
from models.codes import Role

SUBJECT_LIMIT = 200


def notify(users: Iterable[User | None], kind: str, subject: str, body: str = "",
           url: str | None = None) -> list[Notification]:
    """Create one in-app notification per distinct active user; returns the new rows (flushed).

    Args:
        users: recipients; ``None`` and duplicates are skipped, inactive accounts get nothing.
        kind: a dotted code such as ``"qa.answered"`` (digests group by it).
        subject: one line, already translated.
        body: plain text, already translated.
        url: a site-relative link to the object.
    """
    rows: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        row = Notification(user_id=user.id, kind=kind, subject=str(subject)[:SUBJECT_LIMIT], body=str(body),
                           url=url)
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    deliver(rows)  # e-mail: one each for users who chose 'immediate'; the others get digests
    return rows


def members_of(organisation_id: int | None, role: str | None = None) -> list[User]:
    """Active users of an organisation (optionally of one role)."""
    if organisation_id is None:
        return []
    query = select(User).where(User.organisation_id == organisation_id, User.active.is_(True))
    if role:
        query = query.where(User.role == role)
    return list(db.session.scalars(query.order_by(User.id)))


def coordinators() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == Role.COORDINATOR.value, User.active.is_(True)).order_by(User.id)
    ))


def owners_of(challenge: Challenge) -> list[User]:
    return members_of(challenge.organisation_id, Role.MUNICIPAL.value)


def company_of(match: Match) -> list[User]:
    return members_of(match.solution.organisation_id, Role.COMPANY.value)


def both_sides(match: Match) -> list[User]:
    return owners_of(match.challenge) + company_of(match)


def companies(organisation_ids: Iterable[int]) -> list[User]:
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    return list(db.session.scalars(
        select(User).join(Organisation, User.organisation_id == Organisation.id)
        .where(User.organisation_id.in_(ids), User.role == Role.COMPANY.value, User.active.is_(True))
        .order_by(User.id)
    ))


def unread_count(user: User) -> int:
    return int(db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0)


def mark_read(user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``notification_ids`` is None)."""
    query = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    result = db.session.execute(query.values(read_at=datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)
