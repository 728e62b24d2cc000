"""E-mail about notifications: one mail per notification, or a daily / weekly digest.

Each user chooses (``User.notification_frequency``). ``notify.notify`` hands new notifications to
``deliver``; users who chose ``immediate`` get one mail each at once, the others wait for
``send_digests`` (run by cron through ``flask notifications send-digests``). A notification is
mailed at most once: ``Notification.emailed_at`` marks it.

Every mail is kept in ``OutboxMail``. Without ``MAIL_SERVER`` (the embedded default) it stays there
(status ``kept``) for administrators to read in the site; with SMTP configured it is ``pending`` and
sent after the transaction commits (or by ``flask notifications deliver``).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.i18n import local_time
from matchmaker.jobs import after_commit
from matchmaker.locks import named_lock
from matchmaker.services import audit, conflicts
from matchmaker.services.errors import FieldError
from models import DeliveryMark, Notification, OutboxMail, User, db

log = logging.getLogger(__name__)

FREQUENCIES: dict[str, Any] = {
    "immediate": _l("すぐに1件ずつ受け取る"),
    "daily": _l("1日1回まとめて受け取る（毎朝）"),
    "weekly": _l("週1回まとめて受け取る（月曜日の朝）"),
}
DIGEST_FREQUENCIES: tuple[str, ...] = ("daily", "weekly")
MAIL_KIND_LABELS: dict[str, Any] = {
    "immediate": _l("個別のお知らせ"),
    "daily": _l("毎日のまとめ"),
    "weekly": _l("毎週のまとめ"),
}
MAIL_STATUS_LABELS: dict[str, Any] = {
    "kept": _l("送信箱に保管"),
    "pending": _l("送信待ち"),
    "sent": _l("送信済み"),
    "failed": _l("送信失敗"),
}
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class DigestReport:
    mails: int
    notifications: int


def now_utc() -> datetime:
    return datetime.now(UTC)


def template_helpers() -> dict[str, Any]:
    """Labels and the local clock for the outbox and settings pages."""
    return {
        "mail_kind_label": lambda kind: str(MAIL_KIND_LABELS.get(kind, kind)),
        "mail_status_label": lambda status: str(MAIL_STATUS_LABELS.get(status, status)),
        "local_time": local_time,
    }


# --- links that work in mail and in CLI commands ------------------------------------------------


def site_path(endpoint: str, **values: Any) -> str:
    """A site-relative URL, also outside a request (CLI commands have no SERVER_NAME)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind(current_app.config.get("SERVER_NAME") or "localhost",
                                       script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return str(adapter.build(endpoint, values))


def absolute_url(path: str | None) -> str:
    """``SITE_URL`` + a site-relative path, so that links in mail can be clicked."""
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    base = current_app.config.get("SITE_URL")
    if not base and current_app.config.get("SERVER_NAME"):
        base = f"{current_app.config.get('PREFERRED_URL_SCHEME', 'http')}://{current_app.config['SERVER_NAME']}"
    return f"{str(base).rstrip('/')}{path}" if base else path


def first_time(key: str) -> bool:
    """Record ``key`` as done; False if it was already recorded (this notification went out before)."""
    if db.session.scalar(select(DeliveryMark.id).where(DeliveryMark.key == key)) is not None:
        return False
    try:
        with conflicts.savepoint():  # another process recorded it a moment ago: it goes out once
            db.session.add(DeliveryMark(key=key))
            db.session.flush()
    except conflicts.Conflict:
        return False
    return True


def set_frequency(user: User, frequency: str) -> bool:
    """The user's choice of immediate, daily or weekly mail; returns whether it changed."""
    if frequency not in FREQUENCIES:
        raise FieldError("notification_frequency", _l("選択肢から選んでください。"))
    previous = user.notification_frequency
    if previous == frequency:
        return False
    user.notification_frequency = frequency
    db.session.flush()
    audit.record(user, "user.notification_frequency", user, from_state=previous, to_state=frequency)
    return True


# --- composing ---------------------------------------------------------------------------------


def _locale_of(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale and user.locale in languages else str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _footer() -> str:
    return _("通知の受け取り方（すぐに／毎日／毎週）は設定ページで変更できます：%(url)s",
             url=absolute_url(site_path("auth.settings")))


def _item_lines(item: Notification) -> list[str]:
    lines = [f"■ {item.subject}"]
    if item.body:
        lines.extend(f"  {line}" for line in item.body.strip().splitlines())
    if item.url:
        lines.append(f"  {absolute_url(item.url)}")
    return lines


def compose_single(user: User, item: Notification) -> tuple[str, str]:
    with force_locale(_locale_of(user)):
        subject = _("【官民共創マッチング】%(subject)s", subject=item.subject)
        body = "\n".join([_("%(name)s 様", name=user.name), ""] + _item_lines(item) + ["", "—", _footer()])
    return subject, body


def compose_digest(user: User, items: Sequence[Notification], frequency: str) -> tuple[str, str]:
    with force_locale(_locale_of(user)):
        if frequency == "weekly":
            subject = _("【官民共創マッチング】今週のお知らせ（%(n)d件）", n=len(items))
        else:
            subject = _("【官民共創マッチング】本日のお知らせ（%(n)d件）", n=len(items))
        lines = [_("%(name)s 様", name=user.name), "",
                 _("前回のお知らせ以降の新着が%(n)d件あります。", n=len(items)), ""]
        for item in items:
            lines.extend(_item_lines(item))
            lines.append("")
        lines.extend(["—", _footer()])
    return subject, "\n".join(lines)


# --- writing mail --------------------------------------------------------------------------------


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _store(user: User, subject: str, body: str, kind: str, count: int) -> OutboxMail:
    mail = OutboxMail(user_id=user.id, to_address=user.email, subject=subject[:300], body=body, kind=kind,
                      item_count=count, status="pending" if smtp_configured() else "kept")
    db.session.add(mail)
    if mail.status == "pending":
        after_commit(db.session(), "mail:deliver", deliver_pending)
    return mail


def deliver(notifications: Iterable[Notification]) -> list[OutboxMail]:
    """Mail each new notification at once to the users who chose ``immediate``; the rest wait."""
    mails: list[OutboxMail] = []
    now = now_utc()
    for item in notifications:
        user = item.user if item.user is not None else db.session.get(User, item.user_id)
        if user is None or not user.active or user.notification_frequency != "immediate" or item.emailed_at:
            continue
        subject, body = compose_single(user, item)
        mails.append(_store(user, subject, body, "immediate", 1))
        item.emailed_at = now
    db.session.flush()
    return mails


def send_digests(frequency: str = "daily", now: datetime | None = None) -> DigestReport:
    """One mail per user of ``frequency`` with every notification not mailed yet (unread ones only:
    what the user already read in the site is not sent again)."""
    if frequency not in DIGEST_FREQUENCIES:
        raise ValueError(f"unknown digest frequency {frequency!r}")
    now = now or now_utc()
    rows = db.session.execute(
        select(Notification, User).join(User, Notification.user_id == User.id)
        .where(User.notification_frequency == frequency, User.active.is_(True),
               Notification.emailed_at.is_(None), Notification.read_at.is_(None), Notification.created_at <= now)
        .order_by(User.id, Notification.created_at, Notification.id)
    ).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for item, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(item)
    for user, items in by_user.values():
        subject, body = compose_digest(user, items, frequency)
        _store(user, subject, body, frequency, len(items))
        for item in items:
            item.emailed_at = now
    db.session.flush()
    return DigestReport(mails=len(by_user), notifications=len(rows))


# --- SMTP ----------------------------------------------------------------------------------------


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=str(current_app.config["MAIL_FROM"]).rpartition("@")[2] or None)
    message.set_content(mail.body, charset="utf-8")
    return message


def deliver_pending(limit: int = 200) -> int:
    """Send pending (and earlier failed) mail over SMTP; commits. Returns how many were sent.

    One process delivers at a time (a named lock): two at once would both read the same pending
    rows and send each mail twice. A process that finds the lock taken leaves the work to it.
    """
    if not smtp_configured():
        return 0
    with named_lock("mail-delivery") as held:
        return _deliver_pending(limit) if held else 0


def _deliver_pending(limit: int) -> int:
    mails = list(db.session.scalars(
        select(OutboxMail).where(OutboxMail.status.in_(("pending", "failed")), OutboxMail.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMail.id).limit(limit)))
    if not mails:
        return 0
    config = current_app.config
    sent = 0
    tried: set[int] = set()
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=30) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            for mail in mails:
                tried.add(mail.id)
                mail.attempts += 1
                try:
                    smtp.send_message(_message(mail))
                except smtplib.SMTPException as error:  # this recipient was refused
                    mail.status, mail.last_error = "failed", str(error)[:2000]
                else:
                    mail.status, mail.sent_at, mail.last_error = "sent", now_utc(), None
                    sent += 1
    except (OSError, smtplib.SMTPException) as error:  # the server is unreachable: retry later
        log.warning("SMTP delivery failed: %s", error)
        for mail in mails:
            if mail.status != "sent":
                mail.attempts += 0 if mail.id in tried else 1
                mail.status, mail.last_error = "failed", str(error)[:2000]
    db.session.commit()
    return sent
