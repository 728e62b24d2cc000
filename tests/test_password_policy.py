"""The password policy: length, the bundled common-password list, the user's own words; no
composition rules; Japanese messages (English complete); every way to set a password applies it."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.demo.accounts import DEMO_ACCOUNTS
from matchmaker.services import passwords
from matchmaker.services.errors import FieldError
from models import User
from tests import factories
from tests.pages import page_text, post_page


def _refusal(password: str, **context: str) -> str | None:
    try:
        passwords.check_new_password(password, **context)
    except FieldError as error:
        return str(error.message)
    return None


def test_the_bundled_list_is_loaded_and_large():
    listed = passwords.common_passwords()
    assert len(listed) > 10_000 and "password" in listed and "qwerty" in listed


@pytest.mark.parametrize("password", [
    "short1!",              # too short
    "x" * 129,              # too long
    "password1234",         # common word + digits
    "Password2026!",        # common word dressed up
    "qwertyuiop123",        # keyboard walk on the list
    "aaaaaaaaaaaaaaaa",     # one character repeated
    "ｐａｓｓｗｏｒｄ１２３４",  # full-width letters and digits are the same characters
])
def test_weak_passwords_are_refused(password):
    assert _refusal(password) is not None


def test_own_words_are_refused():
    assert _refusal("tanaka.hanako-2026", email="tanaka.hanako@city.example.jp") is not None
    assert _refusal("my matchmaker pass", email="x@example.jp") is not None
    assert _refusal("田中花子のパスワードです", name="田中 花子") is not None


@pytest.mark.parametrize("password", [
    "correct horse battery",   # a passphrase, spaces and all
    "通いの場で見守る春の朝です",   # Japanese passphrase, 13 characters
    "lowercaseonlylong",       # no composition rules: only letters is fine when long and rare
])
def test_long_uncommon_passwords_pass_without_composition_rules(password):
    assert _refusal(password) is None


def test_the_message_names_the_minimum_in_japanese():
    assert _refusal("short") == "パスワードは12文字以上にしてください。単語をいくつか並べた文（パスフレーズ）も使えます。"


def test_demo_and_test_passwords_satisfy_the_policy():
    for spec in DEMO_ACCOUNTS:
        assert _refusal(spec["password"], email=spec["email"], name=spec["name"]) is None, spec["email"]
    assert _refusal(factories.PASSWORD) is None


def test_registration_refuses_a_common_password_and_keeps_what_was_typed(client, db):
    page = post_page(client, "auth.register", data={
        "kind": "company", "organisation_name": "株式会社みはり", "prefecture": "大阪府", "name": "佐藤 健",
        "email": "sato@mihari.example.jp", "password": "password12345", "password_again": "password12345",
    })
    assert "よく使われていて推測されやすい" in page_text(page)
    assert page.find("input", {"name": "email"})["value"] == "sato@mihari.example.jp"
    assert db.session.scalar(select(User).where(User.email == "sato@mihari.example.jp")) is None


def test_registration_accepts_a_passphrase(client, db):
    response = client.post(url_for("auth.register"), data={
        "kind": "company", "organisation_name": "株式会社みはり", "prefecture": "大阪府", "name": "佐藤 健",
        "email": "sato@mihari.example.jp", "password": "mihari keeps watch", "password_again": "mihari keeps watch",
    })
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "sato@mihari.example.jp")) is not None
