"""Logins: rate limits per address and per account (audited, with a message in the user's
language), no account enumeration, a fresh session at login, every session ended by a password
change, a deactivation or a logout, and next= only to this site."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.auth import limits
from models import AuditEvent, User
from tests import factories
from tests.pages import page_text


def _login(client, email, password, address="192.0.2.1", remember=False, **kwargs):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post(url_for("auth.login", **kwargs), data=data, environ_base={"REMOTE_ADDR": address})


def _first_figure(limit: str) -> int:
    return int(limit.split()[0])


def test_one_address_is_stopped_after_the_per_address_limit_and_the_breach_is_audited(client, db):
    allowed = _first_figure(limits.LOGIN_PER_ADDRESS)
    for n in range(allowed):
        assert _login(client, f"nobody{n}@example.jp", "wrong password here").status_code == 200, n
    response = _login(client, "nobody-else@example.jp", "wrong password here")
    assert response.status_code == 429
    assert "しばらく待ってからお試しください" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # Another address is not affected.
    assert _login(client, "nobody@example.jp", "wrong password here", address="192.0.2.99").status_code == 200
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.rate_limited")).all()
    assert event.details["address"] == "192.0.2.1" and event.details["endpoint"] == "auth.login"


def test_one_account_is_stopped_after_its_failures_from_any_address(client, db):
    user = factories.make_user("municipal", email="target@example.jp")
    db.session.commit()
    allowed = _first_figure(limits.LOGIN_FAILURES_PER_ACCOUNT)
    for n in range(allowed):
        assert _login(client, "Target@Example.jp", "guess number " + str(n), address=f"198.51.100.{n}").status_code == 200
    response = _login(client, "target@example.jp", factories.PASSWORD, address="198.51.100.200")
    assert response.status_code == 429, "even the right password waits once the account is under attack"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == user.id)).all()
    assert [e.action for e in events].count("user.login_failed") == allowed
    assert any(e.action == "auth.rate_limited" for e in events)


def test_successful_logins_do_not_use_up_the_account_limit(client, db):
    factories.make_user("municipal", email="often@example.jp")
    db.session.commit()
    for _ in range(_first_figure(limits.LOGIN_FAILURES_PER_ACCOUNT) + 2):
        assert _login(client, "often@example.jp", factories.PASSWORD).status_code == 302
        client.post(url_for("auth.logout"))


def test_the_rate_limit_page_is_in_english_too(client):
    client.post(url_for("public.set_language"), data={"locale": "en"})
    for n in range(_first_figure(limits.LOGIN_PER_ADDRESS) + 1):
        response = _login(client, f"x{n}@example.jp", "wrong password here")
    assert response.status_code == 429
    assert "Please wait a moment and try again" in response.get_data(as_text=True)


def test_registration_is_rate_limited_per_address(client):
    for _ in range(_first_figure(limits.REGISTER_PER_ADDRESS)):
        assert client.post(url_for("auth.register"), data={}).status_code == 200
    assert client.post(url_for("auth.register"), data={}).status_code == 429


def test_unknown_address_and_wrong_password_look_and_cost_the_same(client, db, monkeypatch):
    factories.make_user("company", email="known@example.jp")
    db.session.commit()
    from argon2 import PasswordHasher

    import models.user

    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash, password):
            verified.append(password)
            return super().verify(hash, password)

    monkeypatch.setattr(models.user, "_hasher", CountingHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1))
    unknown = _login(client, "unknown@example.jp", "some wrong password")
    wrong = _login(client, "known@example.jp", "some wrong password")
    assert verified == ["some wrong password", "some wrong password"], "both paths run one argon2 verification"
    assert unknown.status_code == wrong.status_code == 200
    assert page_text_of(unknown).replace("unknown@", "X@") == page_text_of(wrong).replace("known@", "X@")


def page_text_of(response) -> str:
    from bs4 import BeautifulSoup

    return page_text(BeautifulSoup(response.get_data(as_text=True), "html.parser"))


def test_login_starts_a_fresh_session_keeping_only_the_language(client, db):
    factories.make_user("municipal", email="fresh@example.jp")
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["locale"] = "en"
    assert _login(client, "fresh@example.jp", factories.PASSWORD).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session and session["locale"] == "en"
        assert session["_user_id"].startswith(f"{db.session.scalar(select(User.id))}:")


def _signed_in(client) -> bool:
    """(Clients made by app.test_client() after the ``client`` fixture empty ``g`` per request.)"""
    return client.get(url_for("auth.settings")).status_code == 200


def test_password_change_ends_every_other_session_and_remember_cookie(app, db, client):
    factories.make_user("municipal", email="owner@example.jp")
    db.session.commit()
    here, elsewhere, remembered = app.test_client(), app.test_client(), app.test_client()
    for device in (here, elsewhere):
        assert _login(device, "owner@example.jp", factories.PASSWORD).status_code == 302
    assert _login(remembered, "owner@example.jp", factories.PASSWORD, remember=True).status_code == 302
    remembered.delete_cookie("session", domain="localhost")
    assert _signed_in(remembered), "the remember-me cookie alone signs in"
    remembered.delete_cookie("session", domain="localhost")

    new = "a new passphrase for spring"
    response = here.post(url_for("auth.change_password"), data={
        "current_password": factories.PASSWORD, "new_password": new, "new_password_again": new})
    assert response.status_code == 302
    assert _signed_in(here), "the session that changed the password goes on"
    assert not _signed_in(elsewhere), "another session"
    assert not _signed_in(remembered), "a remember-me cookie"
    user = db.session.scalar(select(User).where(User.email == "owner@example.jp"))
    db.session.refresh(user)
    assert user.check_password(new)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed")) is not None


def test_password_change_refuses_a_wrong_current_password_and_a_weak_new_one(client, db):
    factories.make_user("municipal", email="careful@example.jp")
    db.session.commit()
    _login(client, "careful@example.jp", factories.PASSWORD)
    page = page_text_of(client.post(url_for("auth.change_password"), data={
        "current_password": "not my password", "new_password": "a new passphrase for spring",
        "new_password_again": "a new passphrase for spring"}))
    assert "現在のパスワードが正しくありません。" in page
    page = page_text_of(client.post(url_for("auth.change_password"), data={
        "current_password": factories.PASSWORD, "new_password": "password1234", "new_password_again": "password1234"}))
    assert "よく使われていて推測されやすい" in page
    assert _signed_in(client)


def test_deactivation_ends_the_users_sessions(app, db, login_as, client):
    member = factories.make_user("company", email="leaving@example.jp")
    db.session.commit()
    theirs = app.test_client()
    _login(theirs, "leaving@example.jp", factories.PASSWORD)
    assert _signed_in(theirs)
    login_as("admin")
    client.post(url_for("admin.deactivate_user", user_id=member.id), data={"reason": "退職"})
    assert not _signed_in(theirs)


def test_a_copied_session_cookie_stops_working_at_logout(app, db, client):
    factories.make_user("municipal", email="shared-pc@example.jp")
    db.session.commit()
    client = app.test_client()
    _login(client, "shared-pc@example.jp", factories.PASSWORD, remember=True)
    copied = {name: client.get_cookie(name).value for name in ("session", "remember_token")}
    client.post(url_for("auth.logout"))
    thief = app.test_client()
    for name, value in copied.items():
        thief.set_cookie(name, value, domain="localhost")
    assert not _signed_in(thief)


def test_a_session_id_without_the_current_token_signs_nobody_in(client, db):
    user = factories.make_user("municipal")
    db.session.commit()
    for forged in (str(user.id), f"{user.id}:", f"{user.id}:guessed-token", "x:y"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert not _signed_in(client), forged


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "///evil.example/", "/\\evil.example/", "\\\\evil.example", "/\t/evil.example/",
    "javascript:alert(1)", "evil.example", "/%0a/evil.example", "http:/evil.example",
])
def test_next_never_leaves_the_site(client, db, target):
    factories.make_user("municipal", email="next@example.jp")
    db.session.commit()
    response = _login(client, "next@example.jp", factories.PASSWORD, next=target)
    assert response.status_code == 302
    assert response.location.startswith("/") and not response.location.startswith(("//", "/\\"))
    assert "evil" not in response.location or response.location.startswith("/%0a")


def test_next_keeps_a_local_path(client, db):
    factories.make_user("municipal", email="local@example.jp")
    db.session.commit()
    response = _login(client, "local@example.jp", factories.PASSWORD, next="/challenges?domain=frailty")
    assert response.location == "/challenges?domain=frailty"


def test_argon2id_parameters_are_at_least_the_owasp_minimum():
    from argon2 import Type, extract_parameters

    user = User(email="p@example.jp", name="p", role="admin")
    user.set_password(factories.PASSWORD)
    parameters = extract_parameters(user.password_hash)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2 and parameters.parallelism >= 1


def test_limits_use_redis_when_redis_url_is_set(_schema, tmp_path):
    import redis
    from limits.storage import RedisStorage

    from matchmaker import create_app
    from matchmaker.extensions import limiter
    from tests.conftest import base_config

    url = "redis://127.0.0.1:6379/3"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    app = create_app({**base_config(_schema, tmp_path), "REDIS_URL": url})
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    assert isinstance(limiter.storage, RedisStorage)
    with app.app_context():
        from models import db

        db.session.remove()
        db.engine.dispose()


def test_behind_a_proxy_the_limit_keys_on_the_forwarded_client_address(_schema, tmp_path):
    from matchmaker import create_app
    from tests.conftest import base_config

    app = create_app({**base_config(_schema, tmp_path), "PROXY_HOPS": 1})
    with app.app_context():
        client = app.test_client()
        allowed = _first_figure(limits.LOGIN_PER_ADDRESS)

        tried = iter(range(1000))

        def attempt(client_address: str) -> int:
            email = f"x{next(tried)}@example.jp"  # another account each time: only the address limit applies
            return client.post("/auth/login", data={"email": email, "password": "wrong password here"},
                               headers={"X-Forwarded-For": client_address},
                               environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code

        assert [attempt("198.51.100.1") for _ in range(allowed)] == [200] * allowed
        assert attempt("198.51.100.1") == 429
        assert attempt("198.51.100.2") == 200, "another client behind the same proxy is not stopped"
        from models import db

        db.session.remove()
        db.engine.dispose()
