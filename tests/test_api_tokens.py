"""Personal API tokens: made on the account page (shown once, stored as a SHA-256), used with
``Authorization: Bearer``, refused with 401 problem details when revoked, expired or of a
deactivated user, a read token refused on a write endpoint, and every use in the audit log."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from matchmaker.services import admin as admin_service
from matchmaker.services import api_tokens
from models import ApiToken, AuditEvent, User
from tests import factories
from tests.pages import get_page, post_page

ME = "/api/v1/me"


def bearer(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **headers}


def create_on_page(client: FlaskClient, name: str = "庁内の課題管理システム", scope: str = "read",
                   days: int = 90) -> str:
    page = post_page(client, "auth.api_tokens_page", {"name": name, "scope": scope, "days": str(days)})
    shown = page.find(id="token-secret")
    assert shown is not None, page.get_text()[:500]
    return str(shown.get_text())


def audit_actions(token_id: int) -> list[tuple[str, Any]]:
    from models import db

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "api_token",
                                                         AuditEvent.object_id == token_id).order_by(AuditEvent.id))
    return [(e.action, e.details.get("status") or e.reason) for e in events]


def test_a_token_is_shown_once_and_stored_as_its_hash(client: FlaskClient, login_as: Any, db: Any) -> None:
    user = login_as("municipal")
    secret = create_on_page(client, scope="write", days=30)
    assert re.fullmatch(r"mmpat_[A-Za-z0-9_-]{43}", secret)
    token = db.session.scalars(select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.name, token.hint} and token.hint == secret[:10]
    assert (token.user_id, token.scope) == (user.id, "write")
    assert timedelta(days=29, hours=23) < token.expires_at - token.created_at <= timedelta(days=30)
    # the list shows its start, never the secret again
    page = get_page(client, "auth.api_tokens_page")
    assert page.find(id="token-secret") is None and secret not in str(page)
    row = page.find("tr", attrs={"data-token": str(token.id)})
    assert token.hint in row.get_text() and "有効" in row.find(class_="token-state").get_text()
    assert audit_actions(token.id) == [("api_token.created", None)]
    assert get_page(client, "auth.settings").find(id="api-tokens-link") is not None


def test_the_token_answers_for_its_user_and_every_use_is_audited(client: FlaskClient, login_as: Any,
                                                                 app: Any, db: Any) -> None:
    user = login_as("company")
    secret = create_on_page(client)
    api = app.test_client()  # no cookie: the token alone
    for _ in range(3):
        response = api.get(ME, headers=bearer(secret))
        assert response.status_code == 200, response.json
    body = response.json
    assert (body["id"], body["role"], body["organisation"]["kind"]) == (user.id, "company", "company")
    assert body["token"]["scope"] == "read"
    assert response.headers["Cache-Control"] == "no-store"
    token = db.session.scalars(select(ApiToken)).one()
    assert token.last_used_at is not None
    assert audit_actions(token.id) == [("api_token.created", None)] + [("api_token.used", 200)] * 3
    used = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.used")).first()
    assert (used.actor_id, used.details["method"], used.details["path"]) == (user.id, "GET", ME)


def test_cookies_alone_never_sign_in_to_the_api(client: FlaskClient, login_as: Any) -> None:
    login_as("municipal")
    response = client.get(ME)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="matchmaker"'


@pytest.mark.parametrize("how", ["revoked", "expired", "deactivated", "unknown", "malformed", "basic"])
def test_refused_tokens_answer_401_problem_details(client: FlaskClient, login_as: Any, app: Any, db: Any,
                                                   how: str) -> None:
    user = login_as("municipal")
    secret = create_on_page(client)
    token = db.session.scalars(select(ApiToken)).one()
    header = bearer(secret, **{"Accept-Language": "en"})
    api = app.test_client()
    assert api.get(ME, headers=header).status_code == 200
    if how == "revoked":
        row = get_page(client, "auth.api_tokens_page").find("tr", attrs={"data-token": str(token.id)})
        post_page(client, "auth.revoke_api_token", token_id=token.id)
        assert row is not None
        assert "取り消し済み" in get_page(client, "auth.api_tokens_page").find(
            "tr", attrs={"data-token": str(token.id)}).get_text()
    elif how == "expired":
        token.created_at = datetime.now(UTC) - timedelta(days=31)
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    elif how == "deactivated":
        admin = factories.make_user("admin")
        admin_service.set_user_active(admin, db.session.get(User, user.id), False)
        db.session.commit()
    elif how == "unknown":
        header = bearer("mmpat_" + "x" * 43, **{"Accept-Language": "en"})
    elif how == "malformed":
        header = bearer("not-a-token", **{"Accept-Language": "en"})
    else:
        header = {"Authorization": f"Basic {secret}", "Accept-Language": "en"}
    response = api.get(ME, headers=header)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.json["title"] == "Authentication required" and response.headers["Content-Language"] == "en"
    assert response.json["detail"] == "The API token is not valid, has expired or has been revoked."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="matchmaker", error="invalid_token"'
    assert "secret" not in response.get_data(as_text=True)
    expected = [("api_token.created", None), ("api_token.used", 200)]
    if how == "revoked":
        expected.append(("api_token.revoked", None))
    if how in ("revoked", "expired", "deactivated"):
        expected.append(("api_token.refused", {"deactivated": "user_inactive"}.get(how, how)))
    assert audit_actions(token.id) == expected


def test_only_the_owner_revokes_a_token(client: FlaskClient, login_as: Any, db: Any) -> None:
    login_as("municipal")
    create_on_page(client)
    token = db.session.scalars(select(ApiToken)).one()
    login_as("municipal")
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_the_form_checks_its_fields_in_japanese(client: FlaskClient, login_as: Any, db: Any) -> None:
    login_as("company")
    page = post_page(client, "auth.api_tokens_page", {"name": " ", "scope": "admin", "days": "9999"})
    errors = [e.get_text() for e in page.select(".field .error")]
    assert "トークンの名前を入力してください。" in errors and len(errors) == 3
    assert page.find(id="token-secret") is None
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_user_keeps_at_most_so_many_live_tokens(db: Any) -> None:
    user = factories.make_user("company")
    for n in range(api_tokens.MAX_ACTIVE_TOKENS):
        api_tokens.issue(user, name=f"system {n}", scope="read", days=30)
    with pytest.raises(api_tokens.FieldError) as refused:
        api_tokens.issue(user, name="one too many", scope="read", days=30)
    assert refused.value.field == "name"
    api_tokens.revoke(api_tokens.tokens_of(user)[0], user)
    api_tokens.issue(user, name="after a revocation", scope="read", days=30)


# --- concurrency (real threads; on PostgreSQL each request has its own connection) -------------

THREADS = 8


def test_one_token_used_from_many_threads_at_once_answers_each_and_audits_each(app: Any, db: Any) -> None:
    from tests.test_races import race, statuses

    user = factories.make_user("company")
    secret = api_tokens.issue(user, name="batch", scope="read", days=30).secret
    db.session.commit()
    outcomes = race(app, [None] * THREADS, lambda i, client: client.get(ME, headers=bearer(secret)))
    assert statuses(outcomes) == {200: THREADS}
    db.session.rollback()
    used = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "api_token.used"))
    assert used == THREADS


def test_creating_tokens_at_the_limit_from_many_sessions_at_once_makes_one(app: Any, db: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The count of live tokens is taken under a lock on the user's row: without it every thread
    counts one slot free and each makes a token."""
    from tests.test_races import held_after, race, statuses

    user = factories.make_user("municipal")
    for n in range(api_tokens.MAX_ACTIVE_TOKENS - 1):
        api_tokens.issue(user, name=f"system {n}", scope="read", days=30)
    db.session.commit()
    form = {"name": "the last one", "scope": "read", "days": "30"}
    with held_after(monkeypatch, api_tokens, "active_tokens_of", THREADS):
        outcomes = race(app, [user] * THREADS, lambda i, client: client.post("/auth/tokens", data=form))
    assert statuses(outcomes) == {200: THREADS}
    shown = [o for o in outcomes if 'id="token-secret"' in o.text]
    refused = [o for o in outcomes if "有効なトークンは20個までです" in o.text]
    assert len(shown) == 1 and len(refused) == THREADS - 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == api_tokens.MAX_ACTIVE_TOKENS
