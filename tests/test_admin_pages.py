"""Administration pages: permissions per role, users, staff accounts, organisations, audit."""

from __future__ import annotations

import pytest
from flask import url_for
from sqlalchemy import select

from models import AuditEvent, Organisation, User
from models.codes import lg_code_check_digit
from tests import factories
from tests.pages import get_page, page_text, post_page

ADMIN_PAGES = [
    ("admin.dashboard", {}),
    ("admin.users", {}),
    ("admin.new_user", {}),
    ("admin.organisations", {}),
]


def _valid_lg_code(first_five: str) -> str:
    return first_five + str(lg_code_check_digit(first_five))


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.mark.parametrize(("endpoint", "values"), ADMIN_PAGES)
def test_anonymous_is_sent_to_login(client, endpoint, values):
    response = client.get(url_for(endpoint, **values))
    assert response.status_code == 302
    assert "/auth/login" in response.location


@pytest.mark.parametrize(("endpoint", "values"), ADMIN_PAGES)
@pytest.mark.parametrize("role", ["municipal", "company", "coordinator"])
def test_non_admins_are_refused(client, login_as, endpoint, values, role):
    login_as(role)
    get_page(client, endpoint, expected_status=403, **values)


@pytest.mark.parametrize(("endpoint", "values"), ADMIN_PAGES)
def test_admin_sees_every_page(client, login_as, endpoint, values):
    login_as("admin")
    page = get_page(client, endpoint, **values)
    assert page.find("h1") is not None


@pytest.mark.parametrize("role", ["municipal", "company_same_org", "company_other_org", "coordinator"])
def test_user_and_organisation_pages_refuse_non_admins(client, login_as, db, role):
    member = factories.make_user("company")
    if role == "company_same_org":
        login_as(factories.make_user("company", organisation=member.organisation))
    else:
        login_as(role.replace("_other_org", ""))
    get_page(client, "admin.user", user_id=member.id, expected_status=403)
    get_page(client, "admin.edit_organisation", organisation_id=member.organisation_id, expected_status=403)
    get_page(client, "admin.exposure", expected_status=200 if role == "coordinator" else 403)


def test_user_and_organisation_pages_for_admin(client, login_as, db):
    member = factories.make_user("company")
    login_as("admin")
    assert member.email in page_text(get_page(client, "admin.user", user_id=member.id))
    page = get_page(client, "admin.edit_organisation", organisation_id=member.organisation_id)
    assert page.find("input", {"name": "name"})["value"] == member.organisation.name
    assert page.find("input", {"name": "lg_code"}) is None  # a company has no 団体コード
    get_page(client, "admin.user", user_id=99999, expected_status=404)
    get_page(client, "admin.edit_organisation", organisation_id=99999, expected_status=404)


def test_anonymous_is_sent_to_login_from_detail_pages(client, db):
    member = factories.make_user("company")
    db.session.commit()
    for endpoint, values in (("admin.user", {"user_id": member.id}), ("admin.exposure", {}),
                             ("admin.edit_organisation", {"organisation_id": member.organisation_id})):
        response = client.get(url_for(endpoint, **values))
        assert response.status_code == 302 and "/auth/login" in response.location


def test_dashboard_counts(client, login_as, db):
    factories.make_challenge(status="published")
    factories.make_challenge(status="draft")
    factories.make_solution(active=False)
    factories.make_user("coordinator")
    login_as("admin")
    page = get_page(client, "admin.dashboard")
    assert page.select_one('#content-counts [data-status="published"] b').text == "1"
    assert page.select_one('#content-counts [data-status="draft"] b').text == "1"
    assert page.select_one('#content-counts [data-solutions="inactive"] b').text == "1"
    assert page.select_one('#user-counts [data-role="coordinator"] b').text == "1"
    assert page.select_one('#user-counts [data-role="admin"] b').text == "1"


def test_user_search_by_name_role_and_status(client, login_as, db):
    factories.make_user("municipal", name="山田花子", email="hanako@city.example.jp")
    factories.make_user("company", name="佐藤一郎", email="ichiro@corp.example.jp", active=False)
    login_as("admin")
    page = get_page(client, "admin.users", q="山田")
    rows = page.select("#users tbody tr")
    assert [r.select_one("td").text for r in rows] == ["山田花子"]
    page = get_page(client, "admin.users", status="inactive")
    assert [r.select_one("td").text for r in page.select("#users tbody tr")] == ["佐藤一郎"]
    page = get_page(client, "admin.users", q="存在しない名前")
    assert page.select_one(".empty") is not None


def test_admin_creates_a_coordinator_account(client, login_as, db):
    admin = login_as("admin")
    page = post_page(client, "admin.new_user", data={
        "role": "coordinator", "name": "公民連携 太郎", "department": "兵庫県 公民連携デスク",
        "email": "Desk@Pref.Example.jp", "password": "a-long-password", "password_again": "a-long-password",
    })
    assert "アカウント（コーディネーター）を作成しました" in page_text(page)
    user = db.session.scalar(select(User).where(User.email == "desk@pref.example.jp"))
    assert user is not None and user.role == "coordinator" and user.organisation_id is None
    assert user.check_password("a-long-password")
    [event] = _events(db, "user.created")
    assert event.actor_id == admin.id and event.object_id == user.id and event.to_state == "coordinator"


def test_staff_account_bad_input_keeps_what_was_typed(client, login_as, db):
    factories.make_user("municipal", email="taken@example.jp")
    login_as("admin")
    page = post_page(client, "admin.new_user", data={
        "role": "admin", "name": "新しい管理者", "email": "taken@example.jp",
        "password": "a-long-password", "password_again": "a-long-password",
    })
    assert "このメールアドレスは既に登録されています。" in page_text(page)
    assert page.find("input", {"name": "name"})["value"] == "新しい管理者"
    page = post_page(client, "admin.new_user", data={
        "role": "admin", "name": "新しい管理者", "email": "new@example.jp",
        "password": "short", "password_again": "other",
    })
    assert "パスワードが一致しません。" in page_text(page)
    page = post_page(client, "admin.new_user", data={
        "role": "admin", "name": "新しい管理者", "email": "new@example.jp",
        "password": "short-pass", "password_again": "short-pass",
    })
    assert "パスワードは12文字以上にしてください。" in page_text(page)
    assert page.find("input", {"name": "email"})["value"] == "new@example.jp"
    assert db.session.scalar(select(User).where(User.email == "new@example.jp")) is None
    assert not _events(db, "user.created")


def test_deactivate_and_reactivate_a_user(client, login_as, db):
    member = factories.make_user("municipal")
    admin = login_as("admin")
    page = post_page(client, "admin.deactivate_user", data={"reason": "退職のため"}, user_id=member.id)
    assert "無効にしました" in page_text(page)
    db.session.refresh(member)
    assert member.active is False
    [event] = _events(db, "user.deactivated")
    assert (event.actor_id, event.reason, event.to_state) == (admin.id, "退職のため", "inactive")
    post_page(client, "admin.reactivate_user", user_id=member.id)
    db.session.refresh(member)
    assert member.active is True
    assert len(_events(db, "user.reactivated")) == 1


def test_admin_cannot_deactivate_or_demote_themselves(client, login_as, db):
    admin = login_as("admin")
    page = post_page(client, "admin.deactivate_user", user_id=admin.id)
    assert "自分自身のアカウントは無効にできません。" in page_text(page)
    page = post_page(client, "admin.user", data={"role": "coordinator"}, user_id=admin.id)
    assert "自分自身の役割は変更できません。" in page_text(page)
    db.session.refresh(admin)
    assert admin.active and admin.role == "admin"


def test_role_change_is_audited_as_a_permission_change(client, login_as, db):
    coordinator = factories.make_user("coordinator")
    member = factories.make_user("company")
    login_as("admin")
    post_page(client, "admin.user", data={"role": "admin", "reason": "管理者の交代"}, user_id=coordinator.id)
    db.session.refresh(coordinator)
    assert coordinator.role == "admin"
    [event] = _events(db, "user.permission_changed")
    assert (event.from_state, event.to_state, event.reason) == ("coordinator", "admin", "管理者の交代")
    # A company member can become a coordinator but never a municipal officer.
    page = get_page(client, "admin.user", user_id=member.id)
    options = [o["value"] for o in page.select("#role-form select[name=role] option")]
    assert sorted(options) == ["admin", "company", "coordinator"]
    page = post_page(client, "admin.user", data={"role": "municipal"}, user_id=member.id)
    assert "役割" in page_text(page) and page.select_one("#role-form .error") is not None
    db.session.refresh(member)
    assert member.role == "company"


def test_organisation_list_and_search(client, login_as, db):
    factories.make_municipality(name="神戸市", lg_code="281000", prefecture="兵庫県")
    factories.make_company(name="株式会社ミライケア")
    login_as("admin")
    page = get_page(client, "admin.organisations", q="神戸")
    assert [r.select_one("td").text for r in page.select("#organisations tbody tr")] == ["神戸市"]
    page = get_page(client, "admin.organisations", kind="company")
    names = [r.select_one("td").text for r in page.select("#organisations tbody tr")]
    assert "株式会社ミライケア" in names and "神戸市" not in names


def test_edit_organisation_checks_the_lg_code(client, login_as, db):
    city = factories.make_municipality(name="旧名市", lg_code="281000", prefecture="兵庫県")
    admin = login_as("admin")
    bad = "281001"  # wrong check digit
    page = post_page(client, "admin.edit_organisation", organisation_id=city.id, data={
        "name": "新名市", "prefecture": "兵庫県", "lg_code": bad, "population": "1500000"})
    assert "検査数字が正しくありません" in page_text(page)
    assert page.find("input", {"name": "name"})["value"] == "新名市"
    db.session.refresh(city)
    assert city.name == "旧名市"
    page = post_page(client, "admin.edit_organisation", organisation_id=city.id, data={
        "name": "新名市", "prefecture": "兵庫県", "lg_code": "281000", "population": "1,500,000"})
    assert "情報を更新しました" in page_text(page)
    db.session.refresh(city)
    assert (city.name, city.population) == ("新名市", 1_500_000)
    [event] = _events(db, "organisation.updated")
    assert event.actor_id == admin.id
    assert event.details["changes"]["name"] == ["旧名市", "新名市"]


def test_edit_organisation_refuses_a_code_of_another_organisation(client, login_as, db):
    factories.make_municipality(name="甲市", lg_code=_valid_lg_code("13101"))
    other = factories.make_municipality(name="乙市", lg_code=_valid_lg_code("13102"))
    login_as("admin")
    page = post_page(client, "admin.edit_organisation", organisation_id=other.id, data={
        "name": "乙市", "prefecture": "東京都", "lg_code": _valid_lg_code("13101")})
    assert "別の組織で登録されています" in page_text(page)
    assert db.session.get(Organisation, other.id).lg_code == _valid_lg_code("13102")
    page = post_page(client, "admin.edit_organisation", organisation_id=other.id, data={
        "name": "甲市", "prefecture": "東京都", "lg_code": _valid_lg_code("13102")})
    assert "同じ名前の組織が既に登録されています。" in page_text(page)


def test_exposure_page_lists_companies_by_appearances(client, login_as, db):
    from datetime import timedelta

    from matchmaker.services.challenges import local_today as today
    from models import CompanyExposure

    big, small = factories.make_company(name="大手ベンダー株式会社"), factories.make_company(name="小さな会社")
    factories.make_solution(organisation=big)
    day = today()
    db.session.add_all([
        CompanyExposure(organisation=big, day=day, shown=30, top3=12),
        CompanyExposure(organisation=big, day=day - timedelta(days=1), shown=10, top3=3),
        CompanyExposure(organisation=small, day=day, shown=10, top3=1),
        CompanyExposure(organisation=small, day=day - timedelta(days=60), shown=500, top3=100),
    ])
    login_as("coordinator")
    page = get_page(client, "admin.exposure", days=30)
    rows = page.select("#exposure tbody tr")
    assert [r.select_one("td").text for r in rows] == ["大手ベンダー株式会社", "小さな会社"]
    assert [r.select_one(".shown").text for r in rows] == ["40", "10"]
    assert [r.select_one(".top3").text for r in rows] == ["15", "1"]
    assert rows[0].select_one(".share").text == "80.0%"
    page = get_page(client, "admin.exposure", days=90)
    assert page.select("#exposure tbody tr")[0].select_one("td").text == "小さな会社"


def test_exposure_page_counts_invitations_and_proposals_per_company(client, login_as, db):
    from datetime import UTC, datetime, timedelta

    from matchmaker.services import proposals as proposal_service
    from matchmaker.services.challenges import local_today as today
    from models import CompanyExposure
    from tests import pipeline_factories as pf

    invited_co, quiet_co = pf.make_company(name="声をかけられた会社"), pf.make_company(name="提案だけした会社")
    challenge = pf.make_challenge(status="published")
    owner = pf.make_user("municipal", organisation=challenge.organisation)
    invited_match = pf.make_match(challenge, pf.make_solution(invited_co), stage="proposal", origin="municipality_invite")
    proposal = pf.make_proposal(invited_match, pf.make_user("company", organisation=invited_co))
    proposal_service.invite_to_sounding(proposal, owner)
    quiet_match = pf.make_match(challenge, pf.make_solution(quiet_co), stage="proposal")
    pf.make_proposal(quiet_match, pf.make_user("company", organisation=quiet_co))
    old = pf.make_proposal(pf.make_match(pf.make_challenge(status="published"), pf.make_solution(quiet_co),
                                         stage="proposal"), pf.make_user("company", organisation=quiet_co))
    old.submitted_at = datetime.now(UTC) - timedelta(days=45)
    db.session.add(CompanyExposure(organisation=quiet_co, day=today(), shown=4, top3=1))
    login_as("coordinator")
    rows = {r.select_one("td").text: r for r in get_page(client, "admin.exposure", days=30).select("#exposure tbody tr")}
    assert set(rows) == {"声をかけられた会社", "提案だけした会社"}
    invited_row, quiet_row = rows["声をかけられた会社"], rows["提案だけした会社"]
    assert (invited_row.select_one(".invited").text, invited_row.select_one(".proposed").text) == ("2", "1")
    assert (quiet_row.select_one(".invited").text, quiet_row.select_one(".proposed").text) == ("0", "1")
    assert (quiet_row.select_one(".shown").text, invited_row.select_one(".shown").text) == ("4", "0")
    rows = {r.select_one("td").text: r for r in get_page(client, "admin.exposure", days=90).select("#exposure tbody tr")}
    assert rows["提案だけした会社"].select_one(".proposed").text == "2"
    board = get_page(client, "coordinator.board")
    assert board.select_one("#board-exposure-link")["href"] == "/admin/exposure"
