"""Two-factor authentication (TOTP): enrolment with the secret shown once and recovery codes, the
second login step, codes that work once, rate limits, and MATCHMAKER_REQUIRE_2FA for admins."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from bs4 import BeautifulSoup
from flask import url_for
from sqlalchemy import select

from matchmaker.auth import limits
from matchmaker.services import two_factor
from models import AuditEvent, User
from tests import factories


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _login(client, email, password=factories.PASSWORD):
    return client.post(url_for("auth.login"), data={"email": email, "password": password})


def _enrol(client) -> tuple[str, list[str]]:
    """Enrol the signed-in user through the pages; returns the secret and the recovery codes."""
    page = _page(client.get(url_for("auth.two_factor")))
    assert page.select_one("#two-factor-qr")["src"].startswith("data:image/png;base64,")
    secret = page.select_one("#two-factor-secret").get_text().replace(" ", "")
    response = client.post(url_for("auth.two_factor"), data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = [li.get_text(strip=True) for li in _page(response).select("#recovery-codes li")]
    return secret, codes


def _signed_in(client) -> bool:
    return client.get(url_for("auth.settings")).status_code == 200


def test_enrolment_then_login_needs_the_code(client, db):
    admin = factories.make_user("admin", organisation=None, email="admin2fa@example.jp")
    db.session.commit()
    assert _login(client, "admin2fa@example.jp").status_code == 302
    secret, codes = _enrol(client)
    assert len(codes) == two_factor.RECOVERY_CODES and len(set(codes)) == len(codes)
    db.session.refresh(admin)
    assert admin.totp_secret == secret and all(c not in str(admin.recovery_code_hashes) for c in codes)
    # The secret is never shown again.
    assert _page(client.get(url_for("auth.two_factor"))).select_one("#two-factor-secret") is None
    client.post(url_for("auth.logout"))

    response = _login(client, "admin2fa@example.jp")
    assert response.status_code == 302 and response.location.endswith(url_for("auth.login_second_factor", _external=False))
    assert not _signed_in(client), "the password alone signs nobody in"
    page = _page(client.post(url_for("auth.login_second_factor"), data={"code": "000000"}))
    assert "確認コードが正しくありません" in page.get_text()
    assert not _signed_in(client)
    future = pyotp.TOTP(secret).at(int(time.time()) + 30)
    assert client.post(url_for("auth.login_second_factor"), data={"code": future}).status_code == 302
    assert _signed_in(client)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == admin.id))]
    assert "user.two_factor_enabled" in actions and "user.two_factor_failed" in actions


def test_a_code_works_once_and_a_recovery_code_once(app, db):
    user = factories.make_user("coordinator", organisation=None)
    secret = pyotp.random_base32()
    now = 1_800_000_000.0
    codes = two_factor.enable(user, secret, pyotp.TOTP(secret).at(now), now=now)
    assert not two_factor.verify(user, pyotp.TOTP(secret).at(now), now=now), "the enrolment code is spent"
    later = now + 60
    assert two_factor.verify(user, pyotp.TOTP(secret).at(later), now=later)
    assert not two_factor.verify(user, pyotp.TOTP(secret).at(later), now=later), "a replayed code"
    assert two_factor.verify(user, codes[0].upper(), now=later)
    assert not two_factor.verify(user, codes[0], now=later), "a spent recovery code"
    assert len(user.recovery_code_hashes) == two_factor.RECOVERY_CODES - 1


def test_members_cannot_enrol(client, login_as):
    login_as("municipal")
    assert client.get(url_for("auth.two_factor")).status_code == 404


def test_wrong_second_factor_codes_are_rate_limited(client, db):
    user = factories.make_user("admin", organisation=None, email="limited@example.jp")
    secret = pyotp.random_base32()
    two_factor.enable(user, secret, pyotp.TOTP(secret).now())
    db.session.commit()
    _login(client, "limited@example.jp")
    allowed = int(limits.TWO_FACTOR_FAILURES_PER_ACCOUNT.split()[0])
    for _ in range(allowed):
        assert client.post(url_for("auth.login_second_factor"), data={"code": "123456"}).status_code == 200
    assert client.post(url_for("auth.login_second_factor"), data={"code": "123456"}).status_code == 429


@pytest.fixture()
def required(app):
    app.config["REQUIRE_2FA"] = True
    return app


def test_required_two_factor_sends_administrators_to_enrolment(required, client, db):
    factories.make_user("admin", organisation=None, email="must@example.jp")
    factories.make_user("coordinator", organisation=None, email="may@example.jp")
    db.session.commit()
    _login(client, "must@example.jp")
    response = client.get(url_for("admin.dashboard"))
    assert response.status_code == 302 and response.location.endswith("/auth/two-factor")
    _enrol(client)
    assert client.get(url_for("admin.dashboard")).status_code == 200
    page = _page(client.get(url_for("auth.two_factor")))
    assert page.select_one("#two-factor-disable") is None, "an administrator cannot turn it off"
    client.post(url_for("auth.logout"))
    _login(client, "may@example.jp")
    assert client.get(url_for("coordinator.dashboard")).status_code == 200, "coordinators may choose"


def test_turning_it_off_needs_a_code_and_ends_other_sessions(app, client, db):
    factories.make_user("coordinator", organisation=None, email="off@example.jp")
    db.session.commit()
    _login(client, "off@example.jp")
    secret, _codes = _enrol(client)
    response = client.post(url_for("auth.disable_two_factor"), data={"code": "999999"})
    assert "確認コードが正しくありません" in _page(response).get_text()
    user = db.session.scalar(select(User).where(User.email == "off@example.jp"))
    db.session.refresh(user)
    assert user.has_two_factor
    later = pyotp.TOTP(secret).at(int(time.time()) + 30)
    assert client.post(url_for("auth.disable_two_factor"), data={"code": later}).status_code == 302
    db.session.refresh(user)
    assert not user.has_two_factor and user.recovery_code_hashes == []
    assert _signed_in(client)


def test_the_enrolment_secret_never_travels_in_the_session_cookie(client, db):
    factories.make_user("admin", organisation=None, email="cookie@example.jp")
    db.session.commit()
    _login(client, "cookie@example.jp")
    page = _page(client.get(url_for("auth.two_factor")))
    secret = page.select_one("#two-factor-secret").get_text().replace(" ", "")
    with client.session_transaction() as session:
        assert not any(secret in str(value) for value in session.values())
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
