"""Solution profile pages: who may read and edit them, and the create/edit/deactivate forms."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from models import AuditEvent, Solution
from tests import factories
from tests.pages import get_page, page_text, post_page


@pytest.fixture(autouse=True)
def _fast_encoder(app):
    """These tests are about forms and rules: embed with the model-free hashing encoder."""
    app.config["MATCHMAKER_ENCODER"] = "hash:64"


ROLES = ["anonymous", "municipal", "company_same_org", "company_other_org", "coordinator", "admin"]

GOOD_FORM = {
    "title": "見守りセンサー「みまもりん」",
    "summary": "電力メーターのデータから独居高齢者の生活リズムの変化を検知し、地域包括支援センターに知らせる。",
    "target_users": "市町村の高齢福祉課、地域包括支援センター",
    "track_record": "兵庫県内の2市で実証",
    "evidence": "異変の早期発見が月3件",
    "price_min": "120万",
    "price_max": "3,000,000",
    "lead_time_weeks": "８",
    "maturity": "piloted",
    "collaboration_forms": ["pilot", "agreement"],
    "domains": ["welfare", "frailty"],
    "regions": ["兵庫県", "大阪府"],
}


def _as(role: str, login_as, owner) -> None:
    """Log in as ``role``; the company roles are relative to ``owner`` (the profile's company)."""
    if role == "anonymous":
        return
    if role == "company_same_org":
        login_as(factories.make_user("company", organisation=owner))
    elif role == "company_other_org":
        login_as("company")
    else:
        login_as(role)


def _status(client, endpoint: str, method: str = "get", **values) -> int:
    response = getattr(client, method)(url_for(endpoint, **values))
    if response.status_code == 302:
        assert "/auth/login" in response.location or method == "post", response.location
    return response.status_code


EXPECTED_PAGES = {
    # endpoint: {role: status}
    "company.dashboard": {"anonymous": 302, "municipal": 403, "company_same_org": 200, "company_other_org": 200,
                              "coordinator": 403, "admin": 403},
    "company.new_solution": {"anonymous": 302, "municipal": 403, "company_same_org": 200, "company_other_org": 200,
                                 "coordinator": 403, "admin": 403},
    "company.solution": {"anonymous": 302, "municipal": 200, "company_same_org": 200, "company_other_org": 200,
                             "coordinator": 200, "admin": 200},
    "company.edit_solution": {"anonymous": 302, "municipal": 403, "company_same_org": 200, "company_other_org": 403,
                                  "coordinator": 403, "admin": 200},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED_PAGES))
def test_page_permissions_per_role(client, login_as, db, monkeypatch, endpoint, role):
    from matchmaker.services import recommend

    monkeypatch.setattr(recommend, "top_challenges_per_solution", lambda profiles, k=3: {
        p.id: recommend.RankedList() for p in profiles})
    owner = factories.make_company()
    solution = factories.make_solution(organisation=owner)
    db.session.commit()
    _as(role, login_as, owner)
    values = {} if endpoint in ("company.dashboard", "company.new_solution") else {"solution_id": solution.id}
    assert _status(client, endpoint, **values) == EXPECTED_PAGES[endpoint][role]


@pytest.mark.parametrize("role", ROLES)
def test_inactive_profile_is_hidden_from_everyone_but_its_company_and_admins(client, login_as, db, role):
    owner = factories.make_company()
    solution = factories.make_solution(organisation=owner, active=False)
    db.session.commit()
    _as(role, login_as, owner)
    expected = {"anonymous": 302, "municipal": 404, "company_same_org": 200, "company_other_org": 404,
                    "coordinator": 404, "admin": 200}[role]
    assert _status(client, "company.solution", solution_id=solution.id) == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ["company.deactivate_solution", "company.reactivate_solution"])
def test_only_the_company_and_admins_may_switch_a_profile(client, login_as, db, endpoint, role):
    owner = factories.make_company()
    solution = factories.make_solution(organisation=owner, active=endpoint.startswith("company.deactivate"))
    before = solution.active
    db.session.commit()
    _as(role, login_as, owner)
    status = _status(client, endpoint, method="post", solution_id=solution.id)
    allowed = role in ("company_same_org", "admin")
    # An inactive profile is hidden (404) from those who may not edit it; an active one is refused (403).
    refused = 403 if before else 404
    assert status == (302 if allowed else {"anonymous": 302, "municipal": refused, "company_other_org": refused,
                                               "coordinator": refused}[role])
    db.session.refresh(solution)
    assert solution.active is (not before if allowed else before)


def test_read_only_page_shows_every_field_in_japanese(client, login_as, db):
    solution = factories.make_solution(regions=["兵庫県"], lead_time_weeks=6, maturity="piloted")
    login_as("municipal")
    page = get_page(client, "company.solution", solution_id=solution.id)
    text = page_text(page)
    for expected in (solution.title, solution.summary, solution.track_record, solution.evidence,
                     "兵庫県", "6週", "実証済み", "介護予防・フレイル", "80万円〜240万円"):
        assert expected in text
    assert page.select_one("#edit-solution") is None  # read-only for municipal staff
    assert page.select_one("#solution-recommendations") is None


def test_company_creates_a_profile_with_every_field(client, login_as, db):
    user = login_as("company")
    page = post_page(client, "company.new_solution", data=GOOD_FORM)
    assert "を登録しました" in page_text(page)
    solution = db.session.scalar(select(Solution).where(Solution.organisation_id == user.organisation_id))
    assert solution is not None
    assert (solution.price_min, solution.price_max, solution.lead_time_weeks) == (1_200_000, 3_000_000, 8)
    assert solution.regions == ["大阪府", "兵庫県"]  # prefecture order
    assert solution.domains == ["frailty", "welfare"] and solution.collaboration_forms == ["pilot", "agreement"]
    assert solution.maturity == "piloted" and solution.active
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "solution.created"))
    assert event is not None and event.object_id == solution.id and event.actor_id == user.id


def test_bad_input_gets_japanese_messages_and_keeps_what_was_typed(client, login_as, db):
    login_as("company")
    data = {**GOOD_FORM, "title": "", "price_min": "500万", "price_max": "100万", "lead_time_weeks": "すぐ",
            "domains": []}
    page = post_page(client, "company.new_solution", data=data)
    errors = [e.get_text() for e in page.select(".error")]
    assert "製品・サービス名を入力してください。" in errors
    assert "価格の上限は下限以上の金額にしてください。" in errors
    assert "週数を数字で入力してください。" in errors
    assert "分野を1つ以上選んでください。" in errors
    # What was typed is still there.
    assert page.find("textarea", {"name": "summary"}).get_text().strip() == GOOD_FORM["summary"]
    assert page.find("input", {"name": "lead_time_weeks"})["value"] == "すぐ"
    assert page.find("input", {"name": "regions", "value": "兵庫県"}).has_attr("checked")
    assert db.session.scalar(select(Solution)) is None


def test_edit_keeps_the_saved_profile_when_input_is_bad(client, login_as, db):
    owner = factories.make_company()
    solution = factories.make_solution(organisation=owner)
    login_as(factories.make_user("company", organisation=owner))
    page = get_page(client, "company.edit_solution", solution_id=solution.id)
    assert page.find("input", {"name": "title"})["value"] == solution.title
    assert page.find("input", {"name": "domains", "value": "frailty"}).has_attr("checked")
    page = post_page(client, "company.edit_solution", solution_id=solution.id,
                     data={**GOOD_FORM, "price_min": "abc"})
    assert "金額は数字（円単位）で入力してください。" in page_text(page)
    db.session.refresh(solution)
    assert solution.title == "通いの場 参加記録アプリ" and solution.price_min == 800_000
    page = post_page(client, "company.edit_solution", solution_id=solution.id, data=GOOD_FORM)
    assert "変更を保存しました。" in page_text(page)
    db.session.refresh(solution)
    assert solution.title == GOOD_FORM["title"] and solution.regions == ["大阪府", "兵庫県"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "solution.updated"))
    assert "title" in event.details["fields"]


def test_deactivate_then_reactivate_is_audited(client, login_as, db):
    owner = factories.make_company()
    solution = factories.make_solution(organisation=owner)
    login_as(factories.make_user("company", organisation=owner))
    page = post_page(client, "company.deactivate_solution", solution_id=solution.id)
    assert "非公開にしました" in page_text(page)
    assert page.select_one("#reactivate-solution") is not None
    post_page(client, "company.reactivate_solution", solution_id=solution.id)
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["solution.deactivated", "solution.reactivated"]
