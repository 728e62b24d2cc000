"""The open-data API under /api/v1: the same rows as the public pages, problem details, caching,
and every response checked against the app's own OpenAPI document (schemathesis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from flask import url_for
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from matchmaker.services import api_tokens
from models import Challenge, Match
from tests import factories
from tests import pipeline_factories as pf
from tests.pages import get_page

API = "/api/v1"


@dataclass
class Demo:
    published: list[Challenge]
    closed: Challenge
    expired: Challenge
    draft: Challenge
    in_review: Challenge
    adopted: Match
    reported: Match
    running: Match
    tokens: dict[str, str]  # write tokens: municipal (神戸テスト市), company (the cases' profile), coordinator

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture()
def demo(db: Any) -> Demo:
    """A small site like the demo: published challenges in two prefectures and several domains,
    drafts, Q&A and a case library with one adoption, one reported pilot and one running pilot."""
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    sendai = factories.make_municipality(name="仙台テスト市", prefecture="宮城県")
    published = []
    for i in range(7):
        published.append(factories.make_challenge(
            organisation=kobe if i % 2 else sendai,
            title=f"公開課題{i}：" + ("窓口の混雑解消" if i % 3 == 0 else "通いの場の参加促進"),
            domains=["counter_dx"] if i % 3 == 0 else ["frailty"],
            collaboration_forms=["pilot"] if i % 2 else ["outsourcing"],
        ))
    closed = factories.make_challenge(organisation=kobe, title="募集を終えた課題", status="closed")
    expired = factories.make_challenge(organisation=sendai, title="締切の過ぎた課題",
                                       deadline=date.today() - timedelta(days=1))
    draft = factories.make_challenge(organisation=kobe, title="誰にも見せない下書き", status="draft")
    in_review = factories.make_challenge(organisation=kobe, title="確認待ちの課題", status="in_review")
    company_user = factories.make_user("company")
    pf.make_question(published[0], company_user, answered=True, body="データの形式は何ですか。")
    pf.make_question(published[0], company_user, answered=False, body="まだ答えのない質問です。")
    pf.make_sounding(published[0], title="公表済みのサウンディング", results_summary="6社と対話し、事業化の見込みを確認した。",
                     results_published_at=datetime.now(UTC))
    pf.make_sounding(published[0], title="結果を公表していないサウンディング")
    solution = factories.make_solution(company_user.organisation)
    adopted = pf.make_match(published[1], solution, stage="adopted")
    reported = pf.make_match(published[2], solution, stage="pilot", pilot=pf.make_pilot(reported=True))
    running = pf.make_match(published[3], solution, stage="pilot")
    users = {"municipal": factories.make_user("municipal", organisation=kobe), "company": company_user,
             "coordinator": factories.make_user("coordinator")}
    tokens = {role: api_tokens.issue(user, name="連携システム", scope="write", days=30).secret
              for role, user in users.items()}
    db.session.commit()
    return Demo(published, closed, expired, draft, in_review, adopted, reported, running, tokens)


def get_json(client: Any, path: str, expected_status: int = 200, **headers: str) -> Any:
    response = client.get(API + path, headers=headers)
    assert response.status_code == expected_status, (path, response.status_code, response.data[:300])
    return response


def page_challenge_ids(client: Any, **args: Any) -> list[int]:
    page = get_page(client, "public.challenges", **args)
    links = [card.h3.a["href"] for card in page.find_all("article", class_="challenge-card")]
    return [int(href.rstrip("/").rsplit("/", 1)[1]) for href in links]


# --- what the pages show --------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    {}, {"q": "窓口"}, {"q": "通いの場 参加"}, {"domain": "frailty"}, {"prefecture": "宮城県"}, {"form": "pilot"},
    {"state": "open"}, {"state": "closed"}, {"domain": "frailty", "prefecture": "兵庫県", "state": "open"},
])
def test_the_list_is_the_search_page(client: Any, demo: Demo, args: dict[str, str]) -> None:
    body = get_json(client, "/challenges?" + "&".join(f"{k}={v}" for k, v in args.items())).json
    ids = [item["id"] for item in body["items"]]
    assert ids == page_challenge_ids(client, **args)
    assert body["pagination"]["total"] == len(ids)
    assert demo.draft.id not in ids and demo.in_review.id not in ids


def test_the_list_says_open_or_closed_and_links_the_page(client: Any, demo: Demo) -> None:
    items = {item["id"]: item for item in get_json(client, "/challenges?per_page=100").json["items"]}
    assert set(items) == {c.id for c in demo.published} | {demo.closed.id, demo.expired.id}
    assert items[demo.published[0].id]["state"] == "open"
    assert items[demo.closed.id]["state"] == "closed" and items[demo.closed.id]["status"] == "closed"
    assert items[demo.expired.id]["state"] == "closed" and items[demo.expired.id]["status"] == "published"
    first = items[demo.published[1].id]
    assert first["organisation"] == {"id": demo.published[1].organisation_id, "name": "神戸テスト市",
                                     "prefecture": "兵庫県"}
    assert first["url"] == url_for("public.challenge", challenge_id=demo.published[1].id, _external=True)


def test_pagination_follows_the_link_header_through_every_page(client: Any, demo: Demo) -> None:
    everything = [item["id"] for item in get_json(client, "/challenges?per_page=100").json["items"]]
    assert len(everything) == 9
    seen: list[int] = []
    url: str | None = API + "/challenges?per_page=4&domain=frailty"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [item["id"] for item in response.json["items"]]
        assert response.headers["X-Total-Count"] == str(response.json["pagination"]["total"])
        rels = _links(response.headers["Link"])
        assert "first" in rels and "last" in rels and "page=1" in rels["first"]
        assert ("prev" in rels) == (pages > 0)
        url = rels.get("next")
        pages += 1
    frailty = [i for i in everything if i in {c.id for c in demo.published if "frailty" in c.domains}
               or i in (demo.closed.id, demo.expired.id)]
    assert seen == frailty and pages == 2
    past = get_json(client, "/challenges?per_page=4&page=9").json
    assert past["items"] == [] and past["pagination"]["pages"] == 3


def _links(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        out[rel.removeprefix('rel="').rstrip('"')] = url.strip("<>").removeprefix("http://localhost")
    return out


def test_one_challenge_is_its_page_and_drafts_are_not_found(client: Any, login_as: Any, demo: Demo) -> None:
    item = demo.published[0]
    response = get_json(client, f"/challenges/{item.id}")
    body = response.json
    assert item.title.encode() in response.data, "Japanese as UTF-8, not \\u escapes three times its size"
    assert (body["title"], body["problem"], body["budget_max"], body["sdgs"]) == \
        (item.title, item.problem, item.budget_max, [3, 11])
    get_page(client, "public.challenge", challenge_id=item.id)
    assert get_json(client, f"/challenges/{demo.closed.id}").json["state"] == "closed"
    for hidden in (demo.draft, demo.in_review):
        response = get_json(client, f"/challenges/{hidden.id}", 404)
        assert response.mimetype == "application/problem+json"
        get_json(client, f"/challenges/{hidden.id}/questions", 404)
    # the owner sees the draft page, but the API answers as the public, whoever the cookie says
    login_as("municipal", organisation=demo.draft.organisation)
    get_page(client, "public.challenge", challenge_id=demo.draft.id)
    get_json(client, f"/challenges/{demo.draft.id}", 404)
    get_json(client, "/challenges/99999", 404)
    get_json(client, f"/challenges/{2**70}", 404)


def test_questions_are_the_answered_ones_without_who_asked(client: Any, demo: Demo) -> None:
    items = get_json(client, f"/challenges/{demo.published[0].id}/questions").json["items"]
    assert [(q["number"], q["body"]) for q in items] == [(1, "データの形式は何ですか。")]
    assert set(items[0]) == {"number", "body", "answer", "answered_at"}
    page = get_page(client, "public.challenge", challenge_id=demo.published[0].id)
    assert "データの形式は何ですか。" in page.find(id="qa").get_text()
    assert get_json(client, f"/challenges/{demo.published[1].id}/questions").json["items"] == []


def test_the_case_library_is_the_cases_page(client: Any, demo: Demo) -> None:
    body = get_json(client, "/cases").json
    ids = [item["id"] for item in body["items"]]
    page = get_page(client, "matches.cases")
    assert ids == [int(card["data-id"]) for card in page.find_all("article", class_="case")]
    assert set(ids) == {demo.adopted.id, demo.reported.id}
    adopted = next(item for item in body["items"] if item["id"] == demo.adopted.id)
    assert adopted["adoption"] == {"fiscal_year": 2027, "procurement_route": "proposal", "amount": 2_400_000}
    reported = get_json(client, f"/cases/{demo.reported.id}").json
    assert reported["pilot"]["verdict"] == "success" and reported["adoption"] is None
    assert reported["pilot"]["kpis"][0] == {"name": "通いの場の参加率", "unit": "%", "baseline": 8.0, "target": 12.0,
                                            "actual": 12.5, "achieved": True}
    get_json(client, f"/cases/{demo.running.id}", 404)
    assert [i["id"] for i in get_json(client, "/cases?domain=counter_dx").json["items"]] == []


# --- caching --------------------------------------------------------------------------------


def test_etag_round_trip_answers_304_until_the_data_changes(client: Any, db: Any, demo: Demo) -> None:
    path = f"{API}/challenges/{demo.published[0].id}"
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=60"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    demo.published[0].title = "題名を変えた課題"
    db.session.commit()
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    listing = client.get(API + "/challenges")
    assert client.get(API + "/challenges", headers={"If-None-Match": listing.headers["ETag"]}).status_code == 304


def test_pages_and_errors_are_still_never_stored(client: Any, demo: Demo) -> None:
    assert client.get("/challenges").headers["Cache-Control"] == "no-store"
    assert client.get(f"{API}/challenges/{demo.draft.id}").headers["Cache-Control"] == "no-store"
    response = client.get(API + "/challenges")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- problem details ------------------------------------------------------------------------


def test_problems_speak_japanese_or_english_by_accept_language(client: Any, demo: Demo) -> None:
    ja = get_json(client, f"/challenges/{demo.draft.id}", 404).json
    assert ja == {"type": "about:blank", "title": "ページが見つかりません", "status": 404,
                  "instance": f"{API}/challenges/{demo.draft.id}",
                  "detail": "お探しのページは削除されたか、URLが間違っている可能性があります。"}
    en = get_json(client, f"/challenges/{demo.draft.id}", 404, **{"Accept-Language": "en-GB,en;q=0.8"})
    assert en.json["title"] == "Page not found" and en.headers["Content-Language"] == "en"
    invalid = get_json(client, "/challenges?domain=nowhere&per_page=1000", 422, **{"Accept-Language": "en"})
    assert invalid.mimetype == "application/problem+json"
    assert invalid.json["title"] == "Some input is not valid"
    assert set(invalid.json["errors"]) == {"domain", "per_page"}
    assert get_json(client, "/challenges?state=maybe", 422).json["title"] == "入力内容に誤りがあります"
    unknown = get_json(client, "/no-such-thing", 404, **{"Accept-Language": "en"})
    assert unknown.mimetype == "application/problem+json" and unknown.json["title"] == "Page not found"
    # HTML pages keep their HTML error pages
    assert client.get(f"/challenges/{demo.draft.id}").mimetype == "text/html"


def test_writes_without_a_token_and_unknown_methods_are_refused_with_a_problem(client: Any, demo: Demo) -> None:
    response = client.post(API + "/challenges", json={"title": "x"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="matchmaker"'
    response = client.delete(f"{API}/challenges/{demo.published[0].id}")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PATCH"}


# --- the OpenAPI document -------------------------------------------------------------------


PUBLIC_OPERATIONS = ["GET /api/v1/cases", "GET /api/v1/cases/{match_id}", "GET /api/v1/challenges",
                     "GET /api/v1/challenges/{challenge_id}", "GET /api/v1/challenges/{challenge_id}/questions",
                     "GET /api/v1/open-data/challenges.csv", "GET /api/v1/open-data/challenges.json",
                     "GET /api/v1/open-data/cases.csv", "GET /api/v1/open-data/cases.json",
                     "GET /api/v1/challenges/{challenge_id}/soundings", "GET /api/v1/funnel"]
TOKEN_OPERATIONS = [
    "GET /api/v1/me", "GET /api/v1/me/challenges", "GET /api/v1/me/solutions",
    "POST /api/v1/challenges", "PATCH /api/v1/challenges/{challenge_id}", "POST /api/v1/challenges/{challenge_id}/submit",
    "GET /api/v1/challenges/{challenge_id}/recommendations",
    "POST /api/v1/solutions", "GET /api/v1/solutions/{solution_id}", "PATCH /api/v1/solutions/{solution_id}",
    "GET /api/v1/solutions/{solution_id}/recommendations", "GET /api/v1/board", "GET /api/v1/matches/{match_id}",
]


def test_the_document_lists_every_endpoint(client: Any) -> None:
    document = client.get(API + "/openapi.json").json
    assert document["openapi"] == "3.1.0"
    assert document["info"]["license"]["name"] == "CC BY 4.0"
    operations = {f"{method.upper()} {path}": operation for path, item in document["paths"].items()
                  for method, operation in item.items() if method != "parameters"}
    assert sorted(operations) == sorted(PUBLIC_OPERATIONS + TOKEN_OPERATIONS)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "mmpat_…",
        "description": "A personal API token from the account page (/auth/tokens)."}
    for label, operation in operations.items():
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert len(success) == 1, label
        for code, response in responses.items():
            if code not in success:
                assert list(response["content"]) == ["application/problem+json"], (label, code)
        if label in TOKEN_OPERATIONS:
            assert operation["security"] == [{"bearerAuth": []}] and "401" in responses, label
            if not label.startswith("GET"):
                assert {"403", "429"} <= set(responses), label
                assert ("422" in responses and "requestBody" in operation) or label.endswith("/submit"), label
        elif label == "GET /api/v1/challenges/{challenge_id}":
            assert operation["security"] == [{}, {"bearerAuth": []}]
        else:
            assert "security" not in operation, label
    body = document["paths"][f"{API}/challenges"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChallengeCreate"}
    assert document["components"]["schemas"]["ChallengeCreate"]["required"] == ["title"]


KNOWN: dict[str, Any] = {
    "GET /api/v1/challenges": lambda d: [{"query": {}}, {"query": {"q": "窓口", "per_page": 2, "page": 2}},
                                         {"query": {"state": "closed"}}],
    "GET /api/v1/challenges/{challenge_id}": lambda d: [
        {"path_parameters": {"challenge_id": c.id}} for c in (d.published[0], d.closed, d.draft)],
    "GET /api/v1/challenges/{challenge_id}/questions": lambda d: [
        {"path_parameters": {"challenge_id": c.id}} for c in (d.published[0], d.draft)],
    "GET /api/v1/cases": lambda d: [{"query": {}}, {"query": {"domain": "frailty", "per_page": 1}}],
    "GET /api/v1/cases/{match_id}": lambda d: [
        {"path_parameters": {"match_id": m.id}} for m in (d.adopted, d.reported, d.running)],
    "GET /api/v1/challenges/{challenge_id}/soundings": lambda d: [
        {"path_parameters": {"challenge_id": c.id}} for c in (d.published[0], d.published[1], d.draft)],
    "GET /api/v1/funnel": lambda d: [{}],
    "GET /api/v1/open-data/challenges.csv": lambda d: [{}],
    "GET /api/v1/open-data/challenges.json": lambda d: [{}],
    "GET /api/v1/open-data/cases.csv": lambda d: [{}],
    "GET /api/v1/open-data/cases.json": lambda d: [{}],
    "GET /api/v1/me": lambda d: [{"headers": d.as_("municipal")}, {}],
    "GET /api/v1/me/challenges": lambda d: [{"headers": d.as_("municipal")}, {"headers": d.as_("company")}],
    "GET /api/v1/me/solutions": lambda d: [{"headers": d.as_("company")}, {"headers": d.as_("municipal")}],
    "POST /api/v1/challenges": lambda d: [
        {"headers": d.as_("municipal"), "body": {"title": "APIで登録した課題", "domains": ["frailty"]}},
        {"headers": d.as_("municipal"), "body": {"title": "", "sdgs": [0]}},
        {"headers": d.as_("company"), "body": {"title": "企業は課題を登録できない"}}],
    "PATCH /api/v1/challenges/{challenge_id}": lambda d: [
        {"headers": d.as_("municipal"), "path_parameters": {"challenge_id": d.draft.id}, "body": {"kpis": "参加率: 8% → 12%"}},
        {"headers": d.as_("municipal"), "path_parameters": {"challenge_id": d.published[1].id}, "body": {"title": "x"}},
        {"headers": d.as_("company"), "path_parameters": {"challenge_id": d.draft.id}, "body": {"title": "x"}}],
    "POST /api/v1/challenges/{challenge_id}/submit": lambda d: [
        {"headers": d.as_("municipal"), "path_parameters": {"challenge_id": d.draft.id}},
        {"headers": d.as_("municipal"), "path_parameters": {"challenge_id": d.published[1].id}}],
    "GET /api/v1/challenges/{challenge_id}/recommendations": lambda d: [
        {"headers": d.as_("municipal"), "path_parameters": {"challenge_id": d.published[1].id}, "query": {"top": 3}},
        {"headers": d.as_("company"), "path_parameters": {"challenge_id": d.published[1].id}}],
    "POST /api/v1/solutions": lambda d: [
        {"headers": d.as_("company"), "body": {"title": "APIで登録した製品", "summary": "概要", "domains": ["frailty"]}},
        {"headers": d.as_("company"), "body": {"title": "分野なし", "summary": "概要", "domains": []}}],
    "GET /api/v1/solutions/{solution_id}": lambda d: [
        {"headers": d.as_(role), "path_parameters": {"solution_id": d.adopted.solution_id}}
        for role in ("company", "municipal", "coordinator")],
    "PATCH /api/v1/solutions/{solution_id}": lambda d: [
        {"headers": d.as_("company"), "path_parameters": {"solution_id": d.adopted.solution_id},
         "body": {"lead_time_weeks": 6}},
        {"headers": d.as_("municipal"), "path_parameters": {"solution_id": d.adopted.solution_id}, "body": {}}],
    "GET /api/v1/solutions/{solution_id}/recommendations": lambda d: [
        {"headers": d.as_(role), "path_parameters": {"solution_id": d.adopted.solution_id}}
        for role in ("company", "municipal")],
    "GET /api/v1/board": lambda d: [{"headers": d.as_("coordinator")}, {"headers": d.as_("coordinator"),
                                    "query": {"stalled": True}}, {"headers": d.as_("municipal")}],
    "GET /api/v1/matches/{match_id}": lambda d: [
        {"headers": d.as_(role), "path_parameters": {"match_id": d.adopted.id}}
        for role in ("company", "municipal", "coordinator")],
}
def role_for(label: str) -> str:
    """Whose token the generated requests to an operation carry: the role it is for."""
    if "/solutions" in label:
        return "company"
    if "/board" in label or "/matches" in label:
        return "coordinator"
    return "municipal"


# A body can be valid by the schema and still break a rule JSON Schema cannot say (budget_min ≤
# budget_max, the fiscal years the form offers, a deadline in the past): those answer 422 with the
# form's field messages, so "schema-valid data is accepted" is not asked of the write operations.
NOT_CHECKED = {label: [positive_data_acceptance] for label in TOKEN_OPERATIONS if label.split()[0] in ("POST", "PATCH")
               and not label.endswith("/submit")}
MAX_EXAMPLES = 30  # per operation: bounded, and the same examples every run (derandomize)


def test_every_response_matches_the_document(app: Any, demo: Demo, capsys: Any) -> None:
    """schemathesis generates requests from the app's own document: no 5xx, and every status,
    content type, header and body is the one the document describes. Requests to the token
    endpoints carry a valid write token (of the role the endpoint is for) every other time, so that
    generated bodies and ids reach the forms and the policies, not only the 401 at the door."""
    app.config["API_WRITE_LIMIT"] = "100000 per minute"  # the limit has its own test (test_api_members)
    schema = schemathesis.openapi.from_wsgi(API + "/openapi.json", app)
    counts: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        counts[operation.label] = 0

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            label = case.operation.label
            counts[label] += 1
            if label in TOKEN_OPERATIONS and counts[label] % 2:
                case.headers = {**(case.headers or {}), **demo.as_(role_for(label))}
            case.call_and_validate(excluded_checks=NOT_CHECKED.get(label))

        check()
        # and the demo's own rows, which random ids rarely hit: published, draft, case, not a case
        for values in KNOWN[operation.label](demo):
            counts[operation.label] += 1
            operation.Case(**values).call_and_validate()
    assert len(counts) == len(KNOWN) and all(counts.values())
    with capsys.disabled():
        print(f"\nschemathesis: {sum(counts.values())} cases over {len(counts)} operations: {counts}")
