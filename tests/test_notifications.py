"""E-mail about notifications: immediate mail, daily and weekly digests, the outbox in the embedded
default, SMTP delivery, and nothing ever sent twice."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from matchmaker.services import mail, notify
from models import Notification, OutboxMail
from tests.pipeline_factories import make_notification, make_user

N = 3


def _mails(db, user=None) -> list[OutboxMail]:
    query = select(OutboxMail).order_by(OutboxMail.id)
    if user is not None:
        query = query.where(OutboxMail.user_id == user.id)
    db.session.expire_all()
    return list(db.session.scalars(query))


def _notify_n(user, n: int = N) -> None:
    for i in range(n):
        notify.notify([user], "test.kind", f"お知らせ{i + 1}", f"本文{i + 1}", f"/matches/{i + 1}")


def test_an_immediate_user_gets_one_mail_per_notification_in_the_outbox(db):
    user = make_user("company", notification_frequency="immediate")
    _notify_n(user)
    db.session.commit()
    mails = _mails(db, user)
    assert len(mails) == N
    assert all(m.kind == "immediate" and m.status == "kept" and m.item_count == 1 for m in mails)
    assert [m.to_address for m in mails] == [user.email] * N
    assert "お知らせ2" in mails[1].subject and "本文2" in mails[1].body and "/matches/2" in mails[1].body
    assert all(n.emailed_at is not None for n in db.session.scalars(select(Notification)))
    # The digest run finds nothing left for this user.
    assert mail.send_digests("daily").mails == 0
    assert len(_mails(db, user)) == N


def test_a_daily_user_gets_one_digest_with_every_item_and_nothing_twice(db):
    user = make_user("municipal", notification_frequency="daily")
    _notify_n(user)
    db.session.commit()
    assert _mails(db, user) == []  # nothing until the digest
    report = mail.send_digests("daily")
    db.session.commit()
    assert (report.mails, report.notifications) == (1, N)
    [digest] = _mails(db, user)
    assert digest.kind == "daily" and digest.item_count == N
    assert all(f"お知らせ{i + 1}" in digest.body for i in range(N))
    assert f"（{N}件）" in digest.subject
    assert mail.send_digests("daily").mails == 0  # nothing sent twice
    db.session.commit()
    assert len(_mails(db, user)) == 1


def test_new_notifications_after_a_digest_go_in_the_next_one_only(db):
    user = make_user("municipal")  # daily is the default
    assert user.notification_frequency == "daily"
    _notify_n(user, 2)
    mail.send_digests("daily")
    _notify_n(user, 1)
    mail.send_digests("daily")
    db.session.commit()
    assert [m.item_count for m in _mails(db, user)] == [2, 1]


def test_weekly_users_wait_for_the_weekly_run(db):
    weekly = make_user("company", notification_frequency="weekly")
    daily = make_user("company", notification_frequency="daily")
    _notify_n(weekly)
    _notify_n(daily, 1)
    assert mail.send_digests("daily").mails == 1
    assert _mails(db, weekly) == []
    report = mail.send_digests("weekly")
    assert (report.mails, report.notifications) == (1, N)
    assert "今週" in _mails(db, weekly)[0].subject


def test_read_notifications_are_not_mailed_in_a_digest(db):
    user = make_user("company")
    make_notification(user, subject="既読のお知らせ", read_at=datetime.now(UTC))
    make_notification(user, subject="未読のお知らせ")
    mail.send_digests("daily")
    [digest] = _mails(db, user)
    assert "未読のお知らせ" in digest.body and "既読のお知らせ" not in digest.body


def test_inactive_users_get_no_mail(db):
    user = make_user("company", notification_frequency="immediate", active=False)
    notify.notify([user], "test.kind", "お知らせ")
    assert _mails(db) == []


def test_unknown_digest_frequency_is_refused(db):
    with pytest.raises(ValueError):
        mail.send_digests("hourly")


# --- SMTP ------------------------------------------------------------------------------------------


class FakeSMTP:
    sent: ClassVar[list[Any]] = []
    refuse_connection = False

    def __init__(self, host: str, port: int, timeout: float = 0) -> None:
        if FakeSMTP.refuse_connection:
            raise ConnectionRefusedError("no server")
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def send_message(self, message) -> None:
        FakeSMTP.sent.append(message)


@pytest.fixture()
def smtp(app, monkeypatch):
    FakeSMTP.sent = []
    FakeSMTP.refuse_connection = False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.jp", MAIL_PORT=587, MAIL_FROM="noreply@example.jp")
    return FakeSMTP


def test_with_smtp_an_immediate_mail_is_sent_after_commit(db, smtp):
    user = make_user("company", notification_frequency="immediate")
    notify.notify([user], "test.kind", "提案が届きました", "本文です")
    [pending] = _mails(db, user)
    assert pending.status == "pending" and smtp.sent == []  # nothing leaves before the commit
    db.session.commit()  # the eager job runner delivers now
    [sent] = _mails(db, user)
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1
    [message] = smtp.sent
    assert message["To"] == user.email and "提案が届きました" in message["Subject"]
    assert message["From"] == "noreply@example.jp"
    assert "本文です" in message.get_content()


def test_with_smtp_down_mail_fails_and_is_retried_later(db, smtp):
    smtp.refuse_connection = True
    user = make_user("company", notification_frequency="immediate")
    notify.notify([user], "test.kind", "お知らせ")
    db.session.commit()
    [failed] = _mails(db, user)
    assert failed.status == "failed" and "no server" in failed.last_error and failed.attempts == 1
    smtp.refuse_connection = False
    assert mail.deliver_pending() == 1
    [sent] = _mails(db, user)
    assert sent.status == "sent" and sent.attempts == 2 and len(smtp.sent) == 1


def test_digests_from_the_cli_are_delivered_over_smtp(runner, db, smtp):
    user = make_user("municipal", notification_frequency="weekly")
    _notify_n(user)
    db.session.commit()
    result = runner.invoke(args=["notifications", "send-digests", "--frequency", "weekly"])
    assert result.exit_code == 0, result.output
    assert "1 通" in result.output
    [digest] = _mails(db, user)
    assert digest.status == "sent" and digest.item_count == N
    assert len(smtp.sent) == 1


def test_cli_send_digests_keeps_mail_in_the_outbox_without_smtp(runner, db):
    user = make_user("municipal")
    _notify_n(user)
    db.session.commit()
    result = runner.invoke(args=["notifications", "send-digests"])
    assert result.exit_code == 0, result.output
    assert [(m.status, m.item_count) for m in _mails(db, user)] == [("kept", N)]
    assert runner.invoke(args=["notifications", "send-digests"]).output.startswith("daily: 0")
    assert "SMTP" in runner.invoke(args=["notifications", "deliver"]).output
