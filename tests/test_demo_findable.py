"""A newcomer finds each of issue 10's records from their dashboard, in the demo (`flask demo load`).

Each demo account signs in and follows links only (GET, as a person clicks), breadth first from its
dashboard, up to ``MAX_CLICKS`` clicks. The test then asks for the demo's own examples: the
disclosure version with a 非公開 passage and its 第三者意見照会, the handover and its dossier, the frozen
selection pack, the pilot over the 少額随意契約 limit with 議会の議決, its budget-request pack, the
exposure figures, the contract limits and the accessibility statement, each for the roles it is for.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from matchmaker.demo import accounts as demo_accounts
from matchmaker.demo import pipeline
from matchmaker.services import handover
from models import Challenge, DisclosureInquiry, Match, Organisation, SelectionRecord, SoundingBooking, User

MAX_CLICKS = 4
HOMES = {"municipal": "municipality.dashboard", "company": "company.dashboard",
         "coordinator": "coordinator.dashboard", "admin": "admin.dashboard"}
# Links a person follows but that download a file, change state or leave the HTML pages.
NOT_PAGES = {"auth.logout", "records.record_pdf", "records.selection_docx", "records.selection_xlsx",
             "coordinator.export", "matches.attachment", "public.set_language", "matches.open_notification",
             "admin.personal_data_export", "matches.for_challenge_json", "matches.for_solution_json", "static"}
# Lists whose filters and pages multiply the addresses without leading anywhere new.
FILTERED_LISTS = {"public.challenges", "admin.audit", "matches.cases", "coordinator.board", "admin.exposure",
                  "admin.users", "admin.organisations"}


def _login(client: Any, role: str) -> None:
    spec = next(s for s in demo_accounts.DEMO_ACCOUNTS if s["role"] == role)
    response = client.post(url_for("auth.login"), data={"email": spec["email"], "password": spec["password"]})
    assert response.status_code == 302, role


def reachable(app: Flask, client: Any, start: str) -> dict[str, str]:
    """Every page reached by links from ``start`` within MAX_CLICKS clicks: {path: its HTML}."""
    adapter = app.url_map.bind("localhost")
    depth = {start: 0}
    pages: dict[str, str] = {}
    queue = deque([start])
    while queue:
        path = queue.popleft()
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages[path] = html = response.get_data(as_text=True)
        if depth[path] == MAX_CLICKS:
            continue
        for link in BeautifulSoup(html, "html.parser").select("a[href]"):
            parts = urlsplit(str(link["href"]))
            if parts.netloc not in ("", "localhost"):
                continue
            try:
                endpoint, _args = adapter.match(parts.path, method="GET")
            except HTTPException:
                continue
            if endpoint in NOT_PAGES or parts.path.startswith("/api/") or (endpoint in FILTERED_LISTS and parts.query):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in depth:
                depth[target] = depth[path] + 1
                queue.append(target)
    return pages


def _path(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=False, **values)


def _demo(db: Any) -> dict[str, Any]:
    """The demo's examples of each item of issue 10, as the stories wrote them."""
    def challenge(title: str) -> Challenge:
        return db.session.scalars(select(Challenge).where(Challenge.title == title)).one()

    def org(name: str) -> Organisation:
        return db.session.scalars(select(Organisation).where(Organisation.name == name)).one()

    users = {u.role: u for u in db.session.scalars(select(User).where(
        User.email.in_([s["email"] for s in demo_accounts.DEMO_ACCOUNTS])))}
    inquiries = {i.challenge.title: i for i in db.session.scalars(select(DisclosureInquiry))}
    sewer = challenge(pipeline.YOKOHAMA_SEWER)
    stalled = [item.match for item in handover.stalled_since_handover(datetime.now(UTC))]
    kochi = challenge(pipeline.KOCHI_EVACUATION)
    kochi_match = db.session.scalars(select(Match).where(
        Match.challenge_id == kochi.id,
        Match.solution.has(organisation_id=users["company"].organisation_id))).one()
    pilot_over_limit = next(m for m in db.session.scalars(select(Match).where(Match.challenge_id == sewer.id))
                            if m.pilot is not None and m.pilot.budget_request_amount)
    kobe = db.session.scalars(select(SelectionRecord).join(Challenge).where(
        Challenge.title == pipeline.KOBE_VACANT)).one()
    return {"users": users, "asahikawa": inquiries[pipeline.ASAHIKAWA_APP], "sendai": inquiries[pipeline.SENDAI_SHELTER],
            "stalled": stalled, "yokohama": org("横浜市"), "kochi_match": kochi_match,
            "pilot_over_limit": pilot_over_limit, "kobe_pack": kobe,
            "snow": challenge(pipeline.ASAHIKAWA_SNOW)}


@pytest.fixture()
def demo(runner: Any, db: Any) -> dict[str, Any]:
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return _demo(db)


def _missing(pages: dict[str, str], wanted: dict[str, str]) -> list[str]:
    return [f"{what}: {path}" for what, path in wanted.items() if path not in pages]


def test_the_municipal_newcomer_finds_disclosure_inquiry_handover_dossier_and_evaluation(
        demo: dict[str, Any], app: Flask, client: Any, db: Any) -> None:
    _login(client, "municipal")
    pages = reachable(app, client, _path("municipality.dashboard"))
    inquiry: DisclosureInquiry = demo["asahikawa"]
    own = demo["users"]["municipal"].organisation_id
    assert _missing(pages, {
        "disclosure version with a 非公開 passage": _path("records.record", kind=inquiry.record_kind,
                                                      ident=inquiry.record_id),
        "第三者意見照会 awaiting the company": _path("records.inquiry", inquiry_id=inquiry.id),
        "人事異動の引継ぎ": _path("auth.handover_page", organisation_id=own),
        "evaluation sheet": _path("municipality.evaluation_sheet", challenge_id=demo["snow"].id),
        "少額随意契約の限度額": _path("auth.contract_limits", organisation_id=own),
        "accessibility statement": _path("public.accessibility"),
    }) == []
    disclosed = BeautifulSoup(pages[_path("records.record", kind=inquiry.record_kind, ident=inquiry.record_id)],
                              "html.parser")
    assert disclosed.select(".redacted[data-reason='corporate']") and "約300万円" not in str(disclosed)
    assert any(path.startswith("/records/dossier/") for path in pages)
    # 実施結果概要: the sounding's results form offers a draft from the dialogue records (a GET button).
    booking = db.session.get(SoundingBooking, inquiry.record_id)
    results = _path("matches.sounding_results", sounding_id=booking.sounding_id)
    assert results in pages and BeautifulSoup(pages[results], "html.parser").select_one("#draft-form button")
    draft = BeautifulSoup(client.get(results + "?draft=1").get_data(as_text=True), "html.parser")
    text = draft.select_one("#results-form textarea").get_text()  # type: ignore[union-attr]
    assert "事業者A" in text and "共通基盤型のアプリ" in text and "約300万円" not in text
    assert booking.organisation.name not in text


def test_the_company_newcomer_finds_its_inquiry_its_new_contact_and_the_dossier(
        demo: dict[str, Any], app: Flask, client: Any) -> None:
    _login(client, "company")
    pages = reachable(app, client, _path("company.dashboard"))
    inquiry: DisclosureInquiry = demo["sendai"]
    match: Match = demo["kochi_match"]
    assert _missing(pages, {
        "第三者意見照会 to answer": _path("records.inquiry", inquiry_id=inquiry.id),
        "continuity dossier": _path("records.record", kind="dossier", ident=match.id),
        "notifications": _path("matches.notifications"),
        "accessibility statement": _path("public.accessibility"),
    }) == []
    dashboard = BeautifulSoup(pages[_path("company.dashboard")], "html.parser")
    assert dashboard.select(f"#todo tr[data-kind='disclosure_view'][data-object='{inquiry.id}']")
    assert "西村 亜紀" in pages[_path("matches.notifications")]  # 高知市's new contact
    dossier = BeautifulSoup(pages[_path("records.record", kind="dossier", ident=match.id)], "html.parser")
    assert "西村 亜紀" in dossier.select_one("#dossier-contacts").get_text()  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_and_administrators_find_every_record_of_issue_10(
        demo: dict[str, Any], app: Flask, client: Any, role: str) -> None:
    _login(client, role)
    pages = reachable(app, client, _path(HOMES[role]))
    stalled: list[Match] = demo["stalled"]
    pilot: Match = demo["pilot_over_limit"]
    pack: SelectionRecord = demo["kobe_pack"]
    assert stalled
    wanted = {f"第三者意見照会 {i.id}": _path("records.inquiry", inquiry_id=i.id)
              for i in (demo["asahikawa"], demo["sendai"])}
    wanted.update({
        "handover page of 横浜市": _path("auth.handover_page", organisation_id=demo["yokohama"].id),
        "dossier of the item stalled since the transfer": _path("records.record", kind="dossier", ident=stalled[0].id),
        "frozen selection pack": _path("records.record", kind="selection", ident=pack.challenge_id),
        "pilot over the limit": _path("matches.match", match_id=pilot.id),
        "budget-request pack": _path("records.record", kind="budget_pack", ident=pilot.id),
        "exposure per company": _path("admin.exposure"),
        "少額随意契約の限度額": _path("auth.contract_limits", organisation_id=demo["yokohama"].id),
        "accessibility statement": _path("public.accessibility"),
    })
    assert _missing(pages, wanted) == []
    money = BeautifulSoup(pages[_path("matches.match", match_id=pilot.id)], "html.parser").find(id="money-rules")
    assert money is not None and money.find(id="over-small-limit") is not None
    assert "議会の議決が必要です" in money.find(id="council-approval").get_text()  # type: ignore[union-attr]
    budget = BeautifulSoup(pages[_path("records.record", kind="budget_pack", ident=pilot.id)], "html.parser")
    assert budget.find(id="pack-over-limit") is not None and "議会の議決" in budget.get_text()
    selection = pages[_path("records.record", kind="selection", ident=pack.challenge_id)]
    assert "随意契約理由書（案）" in selection and "個人情報の取扱い" in selection
