"""Who may open which challenge page: one row per role for every page of the challenge area.

Roles: anonymous, municipal staff of the owning organisation, of another municipality, company
staff, coordinator, administrator. Role-gated pages send anonymous visitors to the login page and
answer 403 to the wrong role; another organisation's drafts are 404 (their existence is private).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import url_for

from tests import factories
from tests.challenge_helpers import ROLES, expected_for_gate, form_data, log_in_as, reembeds  # noqa: F401
from tests.pages import get_page


@pytest.fixture()
def owner_org(db) -> Any:
    return factories.make_municipality(name="持ち主市")


@pytest.fixture()
def draft(db, owner_org) -> Any:
    challenge = factories.make_challenge(organisation=owner_org, status="draft", title="持ち主市の非公開の下書き")
    db.session.commit()
    return challenge


@pytest.fixture()
def published(db, owner_org) -> Any:
    challenge = factories.make_challenge(organisation=owner_org, status="published", title="持ち主市の公開中の課題")
    db.session.commit()
    return challenge


def _login_redirect(response) -> bool:
    return response.status_code == 302 and "/auth/login" in response.location


# --- public pages ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ["public.index", "public.challenges"])
def test_public_listing_pages_are_open_to_everyone(client, login_as, owner_org, published, draft, role, endpoint):
    log_in_as(login_as, role, owner_org)
    page = get_page(client, endpoint)
    text = page.get_text()
    assert "持ち主市の公開中の課題" in text
    assert "持ち主市の非公開の下書き" not in text  # never listed, not even for the owner


@pytest.mark.parametrize("role", ROLES)
def test_a_published_challenge_is_readable_by_everyone(client, login_as, owner_org, published, role):
    log_in_as(login_as, role, owner_org)
    page = get_page(client, "public.challenge", challenge_id=published.id)
    assert "持ち主市の公開中の課題" in page.h1.get_text()
    manages = role in ("municipal_same", "coordinator", "admin")
    assert (page.find(id="manage-panel") is not None) is manages


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 404), ("municipal_same", 200), ("municipal_other", 404), ("company", 404),
    ("coordinator", 200), ("admin", 200),
])
@pytest.mark.parametrize("state", ["draft", "in_review"])
def test_a_private_challenge_page_is_hidden_from_other_organisations(
    client, login_as, db, owner_org, draft, role, status, state
):
    draft.status = state
    db.session.commit()
    log_in_as(login_as, role, owner_org)
    page = get_page(client, "public.challenge", expected_status=status, challenge_id=draft.id)
    assert ("持ち主市の非公開の下書き" in page.get_text()) is (status == 200)


# --- municipality pages ----------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ["municipality.dashboard", "municipality.new_challenge"])
def test_municipality_pages_are_for_municipal_staff(client, login_as, owner_org, draft, role, endpoint):
    log_in_as(login_as, role, owner_org)
    response = client.get(url_for(endpoint))
    assert response.status_code == expected_for_gate(role, ("municipal_same", "municipal_other"))
    if role == "anonymous":
        assert _login_redirect(response)
    if endpoint == "municipality.dashboard" and response.status_code == 200:
        assert ("持ち主市の非公開の下書き" in response.get_data(as_text=True)) is (role == "municipal_same")


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("municipal_same", 200), ("municipal_other", 404), ("company", 403),
    ("coordinator", 403), ("admin", 403),
])
def test_editing_a_draft_is_for_its_organisation(client, login_as, owner_org, draft, role, status):
    log_in_as(login_as, role, owner_org)
    response = client.get(url_for("municipality.edit_challenge", challenge_id=draft.id))
    assert response.status_code == status
    if status == 200:
        assert "持ち主市の非公開の下書き" in response.get_data(as_text=True)
    if status == 403 or status == 404:  # POSTing does not change it either
        client.post(url_for("municipality.edit_challenge", challenge_id=draft.id), data=form_data(title="乗っ取り"))
        assert draft.title == "持ち主市の非公開の下書き"


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("municipal_same", 403), ("municipal_other", 403), ("company", 403),
    ("coordinator", 403), ("admin", 403),
])
def test_nobody_edits_a_published_challenge_on_the_municipality_page(client, login_as, owner_org, published, role,
                                                                      status):
    log_in_as(login_as, role, owner_org)
    assert client.get(url_for("municipality.edit_challenge", challenge_id=published.id)).status_code == status


@pytest.mark.parametrize("role", ROLES)
def test_the_clarity_endpoint_is_for_municipal_staff(client, login_as, owner_org, role):
    log_in_as(login_as, role, owner_org)
    response = client.post(url_for("municipality.clarity_check"), data=form_data())
    assert response.status_code == expected_for_gate(role, ("municipal_same", "municipal_other"))


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("municipal_same", 302), ("municipal_other", 404), ("company", 403),
    ("coordinator", 403), ("admin", 403),
])
def test_only_the_owner_submits_a_draft_for_review(client, login_as, db, owner_org, draft, role, status):
    factories.make_user(role="coordinator")
    log_in_as(login_as, role, owner_org)
    response = client.post(url_for("municipality.move_challenge", challenge_id=draft.id), data={"to": "in_review"})
    assert response.status_code == status
    db.session.refresh(draft)
    assert draft.status == ("in_review" if role == "municipal_same" else "draft")


# --- coordinator pages -----------------------------------------------------------------------

STAFF = ("coordinator", "admin")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ["coordinator.dashboard", "coordinator.review", "coordinator.edit_challenge"])
def test_coordinator_pages_are_for_coordinators_and_admins(client, login_as, owner_org, draft, role, endpoint):
    draft.status = "in_review"
    log_in_as(login_as, role, owner_org)
    values = {} if endpoint == "coordinator.dashboard" else {"challenge_id": draft.id}
    response = client.get(url_for(endpoint, **values))
    assert response.status_code == expected_for_gate(role, STAFF)
    if response.status_code == 200:
        assert "持ち主市の非公開の下書き" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_coordinator_actions_are_for_coordinators_and_admins(client, login_as, db, owner_org, draft, role):
    draft.status = "in_review"
    db.session.commit()
    log_in_as(login_as, role, owner_org)
    clarity = client.post(url_for("coordinator.clarity_check"), data=form_data())
    assert clarity.status_code == expected_for_gate(role, STAFF)
    comment = client.post(url_for("coordinator.review", challenge_id=draft.id), data={"comment": "ここを直して"})
    move = client.post(url_for("coordinator.move_challenge", challenge_id=draft.id), data={"to": "published"})
    db.session.refresh(draft)
    if role in STAFF:
        assert comment.status_code == move.status_code == 302
        assert draft.status == "published" and draft.review_comment == "ここを直して"
    else:
        assert comment.status_code == move.status_code == expected_for_gate(role, STAFF)
        assert draft.status == "in_review" and draft.review_comment is None


def test_coordinator_cannot_edit_a_closed_challenge(client, login_as, db, published):
    published.status = "closed"
    db.session.commit()
    login_as("coordinator")
    get_page(client, "coordinator.edit_challenge", expected_status=403, challenge_id=published.id)
