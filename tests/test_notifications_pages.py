"""The settings page (notification preference) and the administrators' outbox, per role."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.services import notify
from models import AuditEvent, OutboxMail, User
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import make_user

ROLES = ("municipal", "company", "coordinator", "admin")


# --- settings ----------------------------------------------------------------------------------


def test_settings_anonymous_goes_to_login(client, db):
    response = client.get(url_for("auth.settings"))
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize("role", ROLES)
def test_every_role_chooses_how_mail_arrives(client, login_as, db, role):
    user = login_as(role)
    page = get_page(client, "auth.settings")
    checked = page.select_one("input[name=notification_frequency][checked]")
    assert checked is not None and checked["value"] == "daily"
    page = post_page(client, "auth.settings", {"notification_frequency": "weekly"})
    assert "変更しました" in page_text(page)
    db.session.expire_all()
    assert db.session.get(User, user.id).notification_frequency == "weekly"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.notification_frequency"))
    assert (event.from_state, event.to_state, event.actor_id) == ("daily", "weekly", user.id)


def test_an_unknown_choice_is_refused_on_the_field(client, login_as, db):
    user = login_as("company")
    page = post_page(client, "auth.settings", {"notification_frequency": "hourly"})
    assert page.select_one("#notification-settings .error") is not None
    db.session.expire_all()
    assert db.session.get(User, user.id).notification_frequency == "daily"


def test_settings_lists_my_recent_mail_and_links_my_calendar(client, login_as, db):
    user = login_as(make_user("municipal", notification_frequency="immediate"))
    notify.notify([user], "test.kind", "自分宛てのお知らせ")
    notify.notify([make_user("company", notification_frequency="immediate")], "test.kind", "他人宛てのお知らせ")
    page = get_page(client, "auth.settings")
    recent = page_text(page.select_one("#recent-mail"))
    assert "自分宛てのお知らせ" in recent and "他人宛てのお知らせ" not in recent
    link = page.select_one("#fiscal-calendar-link a")
    assert link["href"] == url_for("auth.fiscal_calendar", organisation_id=user.organisation_id, _external=False)


def test_company_settings_have_no_calendar(client, login_as, db):
    login_as("company")
    assert get_page(client, "auth.settings").select_one("#fiscal-calendar-link") is None


def test_the_nav_links_to_settings(client, login_as, db):
    login_as("company")
    page = get_page(client, "auth.settings")
    assert page.select_one("#settings-link")["href"] == url_for("auth.settings", _external=False)


# --- the outbox ----------------------------------------------------------------------------------


@pytest.fixture()
def outbox_mail(db):
    user = make_user("company", notification_frequency="immediate")
    notify.notify([user], "test.kind", "送信箱のお知らせ", "送信箱の本文")
    db.session.commit()
    return db.session.scalar(select(OutboxMail).where(OutboxMail.user_id == user.id))


@pytest.mark.parametrize("endpoint", ["admin.outbox", "admin.outbox_mail"])
def test_outbox_anonymous_goes_to_login(client, outbox_mail, endpoint):
    values = {"mail_id": outbox_mail.id} if endpoint == "admin.outbox_mail" else {}
    response = client.get(url_for(endpoint, **values))
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize("endpoint", ["admin.outbox", "admin.outbox_mail"])
@pytest.mark.parametrize("role", ["municipal", "company", "coordinator"])
def test_outbox_is_for_administrators_only(client, login_as, outbox_mail, endpoint, role):
    login_as(role)
    values = {"mail_id": outbox_mail.id} if endpoint == "admin.outbox_mail" else {}
    get_page(client, endpoint, expected_status=403, **values)


def test_administrators_read_the_outbox_in_the_embedded_default(client, login_as, outbox_mail):
    login_as("admin")
    page = get_page(client, "admin.outbox")
    assert "SMTP" in page_text(page.select_one("#mail-mode"))
    row = page.select_one(f"#outbox [data-mail='{outbox_mail.id}']")
    assert row is not None and outbox_mail.to_address in page_text(row) and "送信箱に保管" in page_text(row)
    assert page.select_one("#mail-counts [data-status='kept'] b").get_text() == "1"
    detail = get_page(client, "admin.outbox_mail", mail_id=outbox_mail.id)
    assert "送信箱の本文" in detail.select_one("#mail-body").get_text()


def test_outbox_filters_by_recipient_and_status(client, login_as, outbox_mail):
    login_as("admin")
    assert get_page(client, "admin.outbox", q="nobody@").select_one("#outbox") is None
    assert get_page(client, "admin.outbox", status="sent").select_one("#outbox") is None
    assert get_page(client, "admin.outbox", status="kept", q=outbox_mail.to_address).select_one(
        f"[data-mail='{outbox_mail.id}']") is not None


def test_outbox_has_no_way_to_change_mail(client, login_as, outbox_mail):
    login_as("admin")
    assert client.post(url_for("admin.outbox_mail", mail_id=outbox_mail.id)).status_code == 405
    assert client.post(url_for("admin.outbox")).status_code == 405
