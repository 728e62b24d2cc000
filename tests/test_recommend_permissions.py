"""Who may see the recommendation pages (the real ranking runs, without vectors)."""

from __future__ import annotations

import pytest
from flask import url_for

from tests import factories

ROLES = ["anonymous", "municipal_owner", "municipal_other", "company_same_org", "company_other_org",
         "coordinator", "admin"]


def _login(role: str, login_as, municipality, company) -> None:
    if role == "anonymous":
        return
    if role == "municipal_owner":
        login_as(factories.make_user("municipal", organisation=municipality))
    elif role == "company_same_org":
        login_as(factories.make_user("company", organisation=company))
    else:
        login_as({"municipal_other": "municipal", "company_other_org": "company"}.get(role, role))


def _get(client, endpoint: str, **values) -> int:
    response = client.get(url_for(endpoint, **values))
    if response.status_code == 302:
        assert "/auth/login" in response.location
    return response.status_code


FOR_CHALLENGE = {"anonymous": 302, "municipal_owner": 200, "municipal_other": 403, "company_same_org": 403,
                     "company_other_org": 403, "coordinator": 200, "admin": 200}
FOR_DRAFT = dict(FOR_CHALLENGE, municipal_other=404, company_same_org=404, company_other_org=404)
FOR_SOLUTION = {"anonymous": 302, "municipal_owner": 403, "municipal_other": 403, "company_same_org": 200,
                    "company_other_org": 403, "coordinator": 200, "admin": 200}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", ["", "_json"])
def test_recommended_solutions_for_a_challenge(client, login_as, db, role, suffix):
    city, company = factories.make_municipality(), factories.make_company()
    challenge = factories.make_challenge(organisation=city)
    draft = factories.make_challenge(organisation=city, status="draft")
    db.session.commit()
    _login(role, login_as, city, company)
    assert _get(client, "matches.for_challenge" + suffix, challenge_id=challenge.id) == FOR_CHALLENGE[role]
    assert _get(client, "matches.for_challenge" + suffix, challenge_id=draft.id) == FOR_DRAFT[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", ["", "_json"])
def test_recommended_challenges_for_a_solution(client, login_as, db, role, suffix):
    city, company = factories.make_municipality(), factories.make_company()
    solution = factories.make_solution(organisation=company)
    db.session.commit()
    _login(role, login_as, city, company)
    assert _get(client, "matches.for_solution" + suffix, solution_id=solution.id) == FOR_SOLUTION[role]


def test_unknown_items_are_404(client, login_as, db):
    login_as("admin")
    assert _get(client, "matches.for_challenge", challenge_id=999) == 404
    assert _get(client, "matches.for_solution", solution_id=999) == 404


def test_inactive_profile_page_says_why_nothing_is_recommended(client, login_as, db, monkeypatch):
    monkeypatch.undo()  # the real presenter: an inactive profile is not ranked at all
    company = factories.make_company()
    solution = factories.make_solution(organisation=company, active=False)
    login_as(factories.make_user("company", organisation=company))
    from tests.pages import get_page, page_text

    page = get_page(client, "matches.for_solution", solution_id=solution.id)
    assert "非公開のため、推薦は表示されません" in page_text(page)


@pytest.mark.parametrize("side", ["no_challenges", "no_solutions"])
def test_pages_work_when_the_other_side_is_empty(client, login_as, db, monkeypatch, side):
    monkeypatch.undo()
    from flask import current_app

    from tests.pages import get_page

    current_app.config["MATCHMAKER_ENCODER"] = "hash:64"
    if side == "no_challenges":
        company = factories.make_company()
        factories.make_solution(organisation=company)
        login_as(factories.make_user("company", organisation=company))
        page = get_page(client, "company.dashboard")
        assert page.select_one(".solution-summary .empty") is not None
    else:
        city = factories.make_municipality()
        challenge = factories.make_challenge(organisation=city)
        login_as(factories.make_user("municipal", organisation=city))
        page = get_page(client, "matches.for_challenge", challenge_id=challenge.id)
        assert page.select_one("#recommended-solutions .empty") is not None
