"""Access control of the token endpoints, generated from the pages' own table.

Every token endpoint names the page whose permissions it has (``API_POLICY``: endpoint → page key
in tests/test_access_matrix.py's GET_POLICY or POST_POLICY). The expected answer of each of the
eight actors, each holding a write token of their own, is the page's answer translated:

* the page sends the visitor to the login page (302) → 401 (anonymous has no token; a deactivated
  user's token is refused);
* 200, 403 and 404 stay what they are; ``ok`` (the page lets them) → a 2xx, or 409 for a submit the
  challenge is not ready for.

A refused write changes no row but its token's audit row and last use, and never shows the object.
Every token endpoint of ``app.url_map`` must have its row, and a read token is refused on every
write. Last, the round trip: a challenge made and submitted by API, published by a coordinator on
the page, then in the public list, and its recommendations by API in the page's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from matchmaker.services import api_tokens, vectors
from models import ApiToken, AuditEvent, Challenge, User, db
from tests import factories
from tests.pages import get_page, post_page
from tests.test_access_matrix import (
    ACTORS,
    GET_POLICY,
    POST_POLICY,
    SECRET,
    Args,
    World,
    build_world,
    endpoint_of,
    snapshot,
)

Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class ApiRule:
    method: str
    page: str  # the key of the page's row in GET_POLICY (a GET) or POST_POLICY (a write)
    body: Body | None = None
    anonymous_reads: bool = False  # answers without a token too (as to the public)


def _body(values: dict[str, Any]) -> Body:
    return lambda world: values


API_POLICY: dict[str, ApiRule] = {
    "api_v1_token.me": ApiRule("GET", "auth.settings"),
    "api_v1_token.my_challenges": ApiRule("GET", "municipality.dashboard"),
    "api_v1_token.my_solutions": ApiRule("GET", "company.dashboard"),
    "api_v1_token.challenge_recommendations": ApiRule("GET", "matches.for_challenge_json"),
    "api_v1_token.solution": ApiRule("GET", "company.solution"),
    "api_v1_token.solution_recommendations": ApiRule("GET", "matches.for_solution_json"),
    "api_v1_token.board": ApiRule("GET", "coordinator.board"),
    "api_v1_token.match": ApiRule("GET", "matches.match"),
    "api_v1.challenge": ApiRule("GET", "public.challenge", anonymous_reads=True),
    "api_v1_token.create_challenge": ApiRule("POST", "municipality.new_challenge", _body({"title": "APIで書いた課題"})),
    "api_v1_token.update_challenge": ApiRule("PATCH", "municipality.edit_challenge", _body({"title": "APIで直した課題"})),
    "api_v1_token.submit_challenge": ApiRule("POST", "municipality.move_challenge"),
    "api_v1_token.create_solution": ApiRule("POST", "company.new_solution", _body(
        {"title": "APIで書いた製品", "summary": "APIで書いた概要", "domains": ["frailty"]})),
    "api_v1_token.update_solution": ApiRule("PATCH", "company.edit_solution", _body({"title": "APIで直した製品"})),
}
TOKEN_ONLY = {"401": "401"}


def api_code(page_code: str, actor: str, rule: ApiRule) -> str:
    """The answer the API owes ``actor`` where the page answers ``page_code``."""
    if actor == "deactivated":
        return "401"  # the token of a deactivated user is refused, whatever the page would show the public
    if actor == "anonymous" and not rule.anonymous_reads:
        return "401"
    if page_code == "302":
        return "401"
    return page_code


def expected_codes(rule: ApiRule) -> tuple[Args, dict[str, list[str]]]:
    if rule.method == "GET":
        page = GET_POLICY[rule.page]
        return page.args, {state: [api_code(c, a, rule) for a, c in zip(ACTORS, codes.split(), strict=True)]
                           for state, codes in page.expected.items()}
    post = POST_POLICY[rule.page]
    state_args = post.args
    return (lambda world, state: state_args(world, post.state)), {
        post.state: [api_code(c, a, rule) for a, c in zip(ACTORS, post.expected.split(), strict=True)]}


def tokens_of_world(world: World, scope: str = "write") -> dict[str, dict[str, str]]:
    headers = {}
    for actor, user in world.users.items():
        if user is None:
            headers[actor] = {}
            continue
        secret = api_tokens.issue(user, name=f"{actor} {scope}", scope=scope, days=30).secret
        headers[actor] = {"Authorization": f"Bearer {secret}"}
    db.session.commit()
    return headers


def without_token_bookkeeping(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the audit log (each request with a token is a row there) and the tokens (last use)."""
    return {name: r for name, r in rows.items() if name not in ("audit_event", "api_token")}


def accepted(code: int, endpoint: str) -> bool:
    return 200 <= code < 300 or (code == 409 and endpoint.endswith("submit_challenge"))


def check(client: FlaskClient, world: World, key: str, rule: ApiRule, headers: dict[str, dict[str, str]]) -> list[str]:
    failures = []
    args, expected = expected_codes(rule)
    for state, codes in expected.items():
        url = url_for(key, **args(world, state))
        for actor, want in zip(ACTORS, codes, strict=True):
            before = snapshot() if rule.method != "GET" else None
            body = rule.body(world) if rule.body else None
            response = client.open(url, method=rule.method, json=body, headers=headers[actor])
            got, text = response.status_code, response.get_data(as_text=True)
            response.close()
            if want == "ok":
                if not accepted(got, key):
                    failures.append(f"{rule.method} {key} [{state}] {actor}: expected success, got {got} {text[:200]}")
                continue
            if got != int(want):
                failures.append(f"{rule.method} {key} [{state}] {actor}: expected {want}, got {got} ({url})")
            if int(want) >= 400 and response.mimetype != "application/problem+json":
                failures.append(f"{rule.method} {key} [{state}] {actor}: a refusal that is not problem+json")
            if int(want) >= 400 and SECRET in text:
                failures.append(f"{rule.method} {key} [{state}] {actor}: the refusal shows the object")
            if before is not None:
                after = snapshot()
                changed = [n for n, r in without_token_bookkeeping(after).items() if r != before[n]]
                if changed:
                    failures.append(f"{rule.method} {key} {actor}: the refused write changed {', '.join(changed)}")
    return failures


@pytest.mark.parametrize("key", sorted(API_POLICY))
def test_token_access_is_the_pages(app: Flask, client: FlaskClient, key: str) -> None:
    world = build_world()
    failures = check(client, world, key, API_POLICY[key], tokens_of_world(world))
    assert not failures, "\n".join(failures)


def test_a_read_token_is_refused_on_every_write_and_changes_nothing(app: Flask, client: FlaskClient) -> None:
    world = build_world()
    readers = tokens_of_world(world, scope="read")
    failures = []
    for key, rule in API_POLICY.items():
        if rule.method == "GET":
            continue
        args, expected = expected_codes(rule)
        [(state, codes)] = expected.items()
        allowed = [a for a, c in zip(ACTORS, codes, strict=True) if c == "ok"]
        for actor in allowed:
            before = without_token_bookkeeping(snapshot())
            response = client.open(url_for(key, **args(world, state)), method=rule.method,
                                   json=rule.body(world) if rule.body else None, headers=readers[actor])
            if response.status_code != 403 or "insufficient_scope" not in response.headers.get("WWW-Authenticate", ""):
                failures.append(f"{key} {actor}: a read token got {response.status_code}")
            if without_token_bookkeeping(snapshot()) != before:
                failures.append(f"{key} {actor}: a read token changed something")
    assert not failures, "\n".join(failures)


def test_every_token_endpoint_is_declared(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    token_endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api_v1_token.")}
    assert token_endpoints | {"api_v1.challenge"} == set(API_POLICY)
    for key, rule in API_POLICY.items():
        methods = {m for r in app.url_map.iter_rules() if r.endpoint == key for m in (r.methods or ())}
        assert rule.method in methods, key
        assert endpoint_of(rule.page) in {r.endpoint for r in app.url_map.iter_rules()}, rule.page
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and r.endpoint != "api-docs.openapi_json"]
    operations = {(m, r.rule) for r in api_rules for m in (r.methods or ()) if m not in ("HEAD", "OPTIONS")}
    cases = sum(len(expected_codes(r)[1]) for r in API_POLICY.values()) * len(ACTORS)
    with capsys.disabled():
        print(f"\nAPI: {len(operations)} operations ({len(API_POLICY)} answering to tokens), {cases} token cases "
              f"(endpoint × actor × state), per database")


# --- the round trip -------------------------------------------------------------------------


def test_round_trip_api_draft_page_publication_public_list_and_the_pages_recommendations(
        app: Flask, client: FlaskClient, login_as: Any) -> None:
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    owner = factories.make_user("municipal", organisation=kobe)
    coordinator = factories.make_user("coordinator")
    for i, (title, summary, domains) in enumerate([
        ("通いの場の出欠アプリ", "QRコードで通いの場の出欠を記録し、欠席が続く高齢者を地域包括支援センターに知らせる。", ["frailty"]),
        ("高齢者の見守りセンサー", "独居高齢者の生活リズムの変化を検知して家族と市に知らせる。", ["frailty"]),
        ("窓口の予約システム", "市役所の窓口の待ち時間を減らす予約と呼び出し。", ["counter_dx"]),
    ]):
        factories.make_solution(organisation=factories.make_company(name=f"株式会社テスト{i}"), title=title,
                                summary=summary, domains=domains)
    [headers] = [{"Authorization": f"Bearer {api_tokens.issue(owner, name='庁内', scope='write', days=30).secret}"}]
    db.session.commit()
    api = app.test_client()

    body = dict(factories.CHALLENGE_FIELDS, deadline=(date.today() + timedelta(days=45)).isoformat(), fiscal_year=None)
    created = api.post("/api/v1/challenges", json=body, headers=headers)
    assert created.status_code == 201, created.json
    challenge_id = created.json["id"]
    submitted = api.post(f"/api/v1/challenges/{challenge_id}/submit", headers=headers)
    assert submitted.status_code == 200 and submitted.json["status"] == "in_review", submitted.json
    assert challenge_id not in [c["id"] for c in api.get("/api/v1/challenges?per_page=100").json["items"]]

    login_as(coordinator)
    post_page(client, "coordinator.move_challenge", {"to": "published"}, challenge_id=challenge_id)
    db.session.expire_all()
    assert db.session.get(Challenge, challenge_id).status == "published"
    public = api.get("/api/v1/challenges?per_page=100").json["items"]
    assert challenge_id in [c["id"] for c in public]
    assert api.get(f"/api/v1/challenges/{challenge_id}").json["title"] == body["title"]

    assert vectors.sync_all_vectors() > 0
    login_as(owner)
    page = get_page(client, "matches.for_challenge", challenge_id=challenge_id)
    on_page = [int(card["data-id"]) for card in page.select("#recommended-solutions .match-card")]
    ranked = api.get(f"/api/v1/challenges/{challenge_id}/recommendations", headers=headers).json["results"]
    assert [r["id"] for r in ranked] == on_page and len(on_page) >= 2
    assert [r["title"] for r in ranked][:2] != ["窓口の予約システム"] * 2
    # every step above by token is in the audit log, with its answer
    token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)).one()
    uses = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "api_token",
                                                       AuditEvent.object_id == token.id,
                                                       AuditEvent.action == "api_token.used")).all()
    assert [(u.details["method"], u.details["status"]) for u in uses] == [("POST", 201), ("POST", 200), ("GET", 200)]
    assert db.session.get(User, owner.id) is not None
