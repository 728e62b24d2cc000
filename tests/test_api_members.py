"""The token half of /api/v1: municipal staff write their challenges (draft → submit), company
staff their profiles, both read their ranked matches with reasons in the order of the pages,
coordinators read the board and the matches. Bodies are checked by the pages' forms, with the
forms' messages in the language of Accept-Language; writes need a write token and are rate-limited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from matchmaker.services import api_tokens, vectors
from models import AuditEvent, Challenge, Solution, User
from tests import factories
from tests import pipeline_factories as pf
from tests.pages import get_page

API = "/api/v1"


def token_for(user: User, scope: str = "write") -> dict[str, str]:
    secret = api_tokens.issue(user, name=f"system of {user.id}", scope=scope, days=30).secret
    from models import db

    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def complete_challenge_body() -> dict[str, Any]:
    body = dict(factories.CHALLENGE_FIELDS)
    body["deadline"] = (date.today() + timedelta(days=60)).isoformat()
    body["fiscal_year"] = None
    return body


@pytest.fixture()
def api(client: FlaskClient, app: Any) -> FlaskClient:
    return app.test_client()  # no cookie: a token or nobody (the class that gives each request a fresh g)


# --- challenges -----------------------------------------------------------------------------


def test_municipal_staff_create_update_and_submit_a_draft(api: FlaskClient, db: Any) -> None:
    staff = factories.make_user("municipal")
    factories.make_user("coordinator")  # with coordinators, a draft goes to review first
    headers = token_for(staff)
    created = api.post(f"{API}/challenges", json={"title": "窓口の待ち時間の短縮"}, headers=headers)
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["status"], body["allowed_moves"]) == ("draft", ["in_review"])
    assert created.headers["Location"].endswith(f"{API}/challenges/{body['id']}")
    item = db.session.get(Challenge, body["id"])
    assert (item.organisation_id, item.author_id) == (staff.organisation_id, staff.id)
    # not ready: the clarity check's blockers by field, as the page's warnings
    refused = api.post(f"{API}/challenges/{item.id}/submit", headers=headers)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.json["detail"] == "未入力・要修正の項目があるため、まだ先へ進めません。"
    assert {"problem", "kpis"} <= set(refused.json["errors"])
    updated = api.patch(f"{API}/challenges/{item.id}", json=complete_challenge_body(), headers=headers)
    assert updated.status_code == 200, updated.json
    assert updated.json["problem"] == factories.CHALLENGE_FIELDS["problem"]
    patched = api.patch(f"{API}/challenges/{item.id}", json={"budget_max": 5_000_000}, headers=headers)
    assert patched.json["budget_max"] == 5_000_000 and patched.json["budget_min"] == 1_000_000  # the rest kept
    submitted = api.post(f"{API}/challenges/{item.id}/submit", headers=headers)
    assert submitted.status_code == 200 and submitted.json["status"] == "in_review"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "challenge",
                                                                 AuditEvent.object_id == item.id)).all()
    assert actions == ["challenge.created", "challenge.updated", "challenge.updated", "challenge.status"]
    # the public API still does not show it; the owner's token reads it, privately
    assert api.get(f"{API}/challenges/{item.id}").status_code == 404
    own = api.get(f"{API}/challenges/{item.id}", headers=headers)
    assert own.status_code == 200 and own.json["status"] == "in_review"
    assert own.headers["Cache-Control"] == "no-store" and "ETag" not in own.headers
    assert "Authorization" in own.headers["Vary"]
    listed = api.get(f"{API}/me/challenges", headers=headers).json["items"]
    assert [c["id"] for c in listed] == [item.id]


def test_a_nul_character_in_a_body_is_dropped_not_a_database_error(api: FlaskClient, db: Any) -> None:
    """PostgreSQL cannot store NUL in text; the API drops it as the pages' forms do (schemathesis found the 500)."""
    headers = token_for(factories.make_user("municipal"))
    created = api.post(f"{API}/challenges", json={"title": "窓口\u0000の混雑", "kpis": "\u0000"}, headers=headers)
    assert created.status_code == 201, created.json
    assert db.session.get(Challenge, created.json["id"]).title == "窓口の混雑"


def test_a_lone_surrogate_in_a_json_body_is_replaced_not_a_database_error(api: FlaskClient, db: Any) -> None:
    """UTF-8 cannot encode a lone surrogate, which JSON's ``\\ud800`` escape gives: it was a 500 on
    both databases; it is stored as U+FFFD, as undecodable bytes from a form are."""
    headers = token_for(factories.make_user("municipal"))
    raw = '{"title": "窓口\\ud800の混雑", "kpis": "\\udfff"}'
    created = api.post(f"{API}/challenges", data=raw, content_type="application/json", headers=headers)
    assert created.status_code == 201, created.json
    assert db.session.get(Challenge, created.json["id"]).title == "窓口\ufffdの混雑"


def test_field_messages_are_the_forms_in_the_readers_language(api: FlaskClient, db: Any) -> None:
    headers = token_for(factories.make_user("municipal"))
    body = {"title": "", "budget_min": "たくさん", "domains": "frailty", "colour": "blue",
            "budget_max": 1, "sdgs": [3, 99]}
    ja = api.post(f"{API}/challenges", json=body, headers=headers)
    assert ja.status_code == 422 and ja.headers["Content-Language"] == "ja"
    assert ja.json["errors"]["title"] == ["課題名を入力してください。"]
    assert ja.json["errors"]["budget_min"] == ["金額は数字で入力してください（例：3000000、300万）。"]
    assert ja.json["errors"]["colour"] == ["この項目はありません。"]
    assert ja.json["errors"]["domains"] == ["値の一覧（配列）で送ってください。"]
    assert set(ja.json["errors"]) == {"title", "budget_min", "domains", "colour", "sdgs"}
    en = api.post(f"{API}/challenges", json=body, headers={**headers, "Accept-Language": "en"})
    assert en.json["title"] == "Some input is not valid"
    assert en.json["errors"]["title"] == ["Enter a challenge title."]
    assert en.json["errors"]["colour"] == ["There is no such field."]
    not_json = api.post(f"{API}/challenges", data="title=x", headers=headers)
    assert not_json.status_code == 422 and not_json.json["detail"] == "本文は JSON のオブジェクトで送ってください。"
    assert db.session.scalars(select(Challenge)).all() == []


def test_who_may_write_a_challenge_is_who_may_on_the_page(api: FlaskClient, db: Any) -> None:
    owner = factories.make_user("municipal")
    draft = factories.make_challenge(organisation=owner.organisation, status="draft", title="下書き")
    published = factories.make_challenge(organisation=owner.organisation)
    other = token_for(factories.make_user("municipal"))
    coordinator = token_for(factories.make_user("coordinator"))
    company = token_for(factories.make_user("company"))
    reader = token_for(owner, scope="read")
    mine = token_for(owner)
    change = {"title": "書き換え"}
    assert api.patch(f"{API}/challenges/{draft.id}", json=change, headers=other).status_code == 404
    assert api.patch(f"{API}/challenges/{draft.id}", json=change, headers=coordinator).status_code == 403
    assert api.post(f"{API}/challenges", json=change, headers=company).status_code == 403
    scope = api.patch(f"{API}/challenges/{draft.id}", json=change, headers=reader)
    assert scope.status_code == 403 and "insufficient_scope" in scope.headers["WWW-Authenticate"]
    assert api.patch(f"{API}/challenges/{published.id}", json=change, headers=mine).status_code == 403
    assert api.patch(f"{API}/challenges/{draft.id + 999}", json=change, headers=mine).status_code == 404
    assert api.post(f"{API}/challenges/{published.id}/submit", headers=mine).status_code == 403
    assert api.patch(f"{API}/challenges/{draft.id}", json=change).status_code == 401
    db.session.expire_all()
    assert db.session.get(Challenge, draft.id).title == "下書き"
    assert api.patch(f"{API}/challenges/{draft.id}", json=change, headers=mine).status_code == 200


def test_writes_are_rate_limited_per_user(app: Any, api: FlaskClient, db: Any) -> None:
    app.config["API_WRITE_LIMIT"] = "3 per minute"
    staff = factories.make_user("municipal")
    first, second = token_for(staff), token_for(staff)
    codes = [api.post(f"{API}/challenges", json={"title": f"課題{i}"}, headers=first if i % 2 else second).status_code
             for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    limited = api.post(f"{API}/challenges", json={"title": "もう一つ"}, headers={**first, "Accept-Language": "en"})
    assert limited.mimetype == "application/problem+json" and limited.json["status"] == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert api.get(f"{API}/me/challenges", headers=first).status_code == 200  # reads are not counted
    other = token_for(factories.make_user("municipal"))
    assert api.post(f"{API}/challenges", json={"title": "別の人"}, headers=other).status_code == 201


# --- solution profiles ----------------------------------------------------------------------


def test_company_staff_write_their_profiles(api: FlaskClient, db: Any) -> None:
    staff = factories.make_user("company")
    headers = token_for(staff)
    created = api.post(f"{API}/solutions", headers=headers, json={
        "title": "通いの場の出欠アプリ", "summary": "QRコードで出欠を記録し、欠席が続く人を知らせる。",
        "domains": ["frailty"], "price_min": "120万", "regions": ["兵庫県"]})
    assert created.status_code == 201, created.json
    item = db.session.get(Solution, created.json["id"])
    assert (item.organisation_id, item.price_min, item.regions) == (staff.organisation_id, 1_200_000, ["兵庫県"])
    bad = api.patch(f"{API}/solutions/{item.id}", json={"price_max": 1000, "domains": []},
                    headers={**headers, "Accept-Language": "en"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"price_max", "domains"}
    ok = api.patch(f"{API}/solutions/{item.id}", json={"lead_time_weeks": 8}, headers=headers)
    assert ok.status_code == 200 and ok.json["lead_time_weeks"] == 8 and ok.json["title"] == "通いの場の出欠アプリ"
    assert [s["id"] for s in api.get(f"{API}/me/solutions", headers=headers).json["items"]] == [item.id]
    # others read it as on its page, and only its company (and administrators) edit it
    municipal = token_for(factories.make_user("municipal"))
    assert api.get(f"{API}/solutions/{item.id}", headers=municipal).status_code == 200
    assert api.patch(f"{API}/solutions/{item.id}", json={"title": "x"}, headers=municipal).status_code == 403
    assert api.get(f"{API}/me/solutions", headers=municipal).status_code == 403
    assert api.post(f"{API}/solutions", json={"title": "x"}, headers=municipal).status_code == 403
    item.active = False
    db.session.commit()
    assert api.get(f"{API}/solutions/{item.id}", headers=municipal).status_code == 404
    assert api.get(f"{API}/solutions/{item.id}", headers=headers).json["active"] is False


# --- recommendations: the pages' order ------------------------------------------------------


def test_recommendations_are_the_pages_in_the_same_order(client: FlaskClient, api: FlaskClient, login_as: Any,
                                                         db: Any) -> None:
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    challenge = factories.make_challenge(organisation=kobe)
    factories.make_challenge(organisation=factories.make_municipality(), title="介護予防のための通いの場の活性化")
    companies = [factories.make_company() for _ in range(3)]
    profiles = [factories.make_solution(organisation=companies[0]),
                factories.make_solution(organisation=companies[1], title="窓口の予約システム",
                                        summary="市役所の窓口の待ち時間を減らす予約と呼び出し。", domains=["counter_dx"]),
                factories.make_solution(organisation=companies[2], title="高齢者の見守りセンサー",
                                        summary="独居高齢者の生活リズムを検知して知らせる。")]
    owner = factories.make_user("municipal", organisation=kobe)
    company_staff = factories.make_user("company", organisation=companies[0])
    db.session.commit()
    assert vectors.sync_all_vectors() > 0
    login_as(owner)
    page = get_page(client, "matches.for_challenge", challenge_id=challenge.id)
    on_page = [int(c["data-id"]) for c in page.select("#recommended-solutions .match-card")]
    body = api.get(f"{API}/challenges/{challenge.id}/recommendations", headers=token_for(owner)).json
    assert [r["id"] for r in body["results"]] == on_page and len(on_page) >= 2
    assert [r["rank"] for r in body["results"]] == list(range(1, len(on_page) + 1))
    assert all(r["reasons"] and "<" not in "".join(r["reasons"]) for r in body["results"])
    login_as(company_staff)
    page = get_page(client, "matches.for_solution", solution_id=profiles[0].id)
    on_page = [int(c["data-id"]) for c in page.select("#recommended-challenges .match-card")]
    body = api.get(f"{API}/solutions/{profiles[0].id}/recommendations?top=5", headers=token_for(company_staff)).json
    assert [r["id"] for r in body["results"]] == on_page and on_page
    # who may not see them: as on the pages
    other_company = token_for(factories.make_user("company"))
    assert api.get(f"{API}/challenges/{challenge.id}/recommendations", headers=other_company).status_code == 403
    assert api.get(f"{API}/solutions/{profiles[0].id}/recommendations", headers=other_company).status_code == 403
    assert api.get(f"{API}/challenges/{challenge.id}/recommendations?top=99",
                   headers=token_for(owner)).status_code == 422


# --- coordination ---------------------------------------------------------------------------


def test_coordinators_read_the_board_and_the_parties_read_their_match(api: FlaskClient, db: Any) -> None:
    pair = pf.make_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="proposal")
    other = pf.make_match(stage="pilot")
    coordinator = token_for(pf.make_user("coordinator"))
    board = api.get(f"{API}/board", headers=coordinator)
    assert board.status_code == 200
    assert {i["match"]["id"] for i in board.json["items"]} == {match.id, other.id}
    assert board.json["funnel"]["total"] == 2
    only = api.get(f"{API}/board?municipality={pair.challenge.organisation_id}", headers=coordinator).json
    assert [i["match"]["id"] for i in only["items"]] == [match.id]
    assert api.get(f"{API}/board", headers=token_for(pair.owner)).status_code == 403
    assert api.get(f"{API}/board?domain=nowhere", headers=coordinator).status_code == 422
    for headers in (coordinator, token_for(pair.owner), token_for(pair.company_user)):
        seen = api.get(f"{API}/matches/{match.id}", headers=headers)
        assert seen.status_code == 200 and seen.json["stage"] == "proposal"
    assert api.get(f"{API}/matches/{match.id}", headers=token_for(pf.make_user("company"))).status_code == 404
