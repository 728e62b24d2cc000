"""Municipal staff write and edit challenges; the clarity check beside the form; the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for
from sqlalchemy import select

from models import AuditEvent, Challenge
from tests import factories
from tests.challenge_helpers import form_data, reembeds  # noqa: F401  (autouse fixture)
from tests.pages import get_page, page_text, post_page


def audit_actions(db, challenge_id: int) -> list[str]:
    return list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == challenge_id, AuditEvent.object_type == "challenge")
        .order_by(AuditEvent.id)
    ))


def test_new_challenge_form_has_every_field_and_the_clarity_panel(client, login_as):
    login_as("municipal")
    page = get_page(client, "municipality.new_challenge")
    form = page.find("form", id="challenge-form")
    names = {tag.get("name") for tag in form.find_all(["input", "textarea", "select"])}
    assert names >= {"title", "background", "problem", "causes", "affected", "target_state", "kpis",
                     "constraints", "offerings", "budget_min", "budget_max", "fiscal_year",
                     "collaboration_forms", "domains", "sdgs", "deadline", "contact_department"}
    assert len(form.find_all("input", attrs={"name": "domains", "type": "checkbox"})) == 14
    assert len(form.find_all("input", attrs={"name": "collaboration_forms", "type": "checkbox"})) == 9
    assert len(form.find_all("input", attrs={"name": "sdgs", "type": "checkbox"})) == 17
    panel = page.find(id="clarity-panel")
    assert panel["data-url"] == url_for("municipality.clarity_check", _external=False)
    assert "課題名" in page_text(panel)
    assert page.find("script", src=url_for("static", filename="js/clarity.js", _external=False))


def test_creating_a_challenge_saves_a_private_draft(client, login_as, db, reembeds):  # noqa: F811
    user = login_as("municipal")
    page = post_page(client, "municipality.new_challenge", data=form_data())
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status == "draft"
    assert challenge.organisation_id == user.organisation_id
    assert challenge.author_id == user.id
    assert challenge.budget_min == 2_000_000 and challenge.budget_max == 5_000_000
    assert challenge.sdgs == [9, 11]
    assert challenge.domains == ["counter_dx"]
    assert challenge.deadline == date.today() + timedelta(days=60)
    assert "下書きとして保存しました" in page_text(page)
    assert audit_actions(db, challenge.id) == ["challenge.created"]
    assert reembeds == [challenge.id]


def test_bad_input_is_shown_on_the_field_in_japanese_and_nothing_is_saved(client, login_as, db):
    login_as("municipal")
    page = post_page(client, "municipality.new_challenge",
                     data=form_data(title="", budget_min="たくさん", budget_max="100万"))
    text = page_text(page)
    assert "課題名を入力してください。" in text
    assert "金額は数字で入力してください" in text
    assert db.session.scalar(select(Challenge)) is None
    # what was typed is still there
    assert page.find("textarea", attrs={"name": "background"}).text.strip().startswith("3月と4月")


def test_an_inverted_budget_range_is_refused_on_the_upper_bound(client, login_as, db):
    login_as("municipal")
    page = post_page(client, "municipality.new_challenge", data=form_data(budget_min="900万", budget_max="100万"))
    field = page.find("input", attrs={"name": "budget_max"}).find_parent(class_="field")
    assert "予算の上限は下限以上の金額にしてください。" in page_text(field)
    assert db.session.scalar(select(Challenge)) is None


def test_a_draft_may_be_saved_incomplete_and_the_check_says_what_is_missing(client, login_as, db):
    login_as("municipal")
    page = post_page(client, "municipality.new_challenge", data={"title": "AIで窓口を便利にしたい"})
    challenge = db.session.scalar(select(Challenge))
    assert challenge.status == "draft" and challenge.kpis == ""
    missing = {li["data-field"] for li in page.find(id="clarity-panel").find_all("li", attrs={"data-level": "missing"})}
    assert {"problem", "kpis", "offerings", "deadline"} <= missing


def test_editing_saves_changes_audits_them_and_reembeds_only_on_text_changes(client, login_as, db, reembeds):  # noqa: F811
    user = login_as("municipal")
    challenge = factories.make_challenge(organisation=user.organisation, status="draft")
    db.session.commit()
    page = get_page(client, "municipality.edit_challenge", challenge_id=challenge.id)
    assert page.find("input", attrs={"name": "title"})["value"] == challenge.title
    assert page.find("input", attrs={"name": "domains", "value": "frailty"}).has_attr("checked")

    values = form_data(title="通いの場の参加を続けられる仕組みづくり")
    post_page(client, "municipality.edit_challenge", data=values, challenge_id=challenge.id)
    db.session.refresh(challenge)
    assert challenge.title == "通いの場の参加を続けられる仕組みづくり"
    assert reembeds == [challenge.id]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "challenge.updated")).one()
    assert "title" in event.details["fields"] and event.actor_id == user.id

    reembeds.clear()
    later = (date.today() + timedelta(days=90)).isoformat()
    post_page(client, "municipality.edit_challenge", data={**values, "deadline": later}, challenge_id=challenge.id)
    db.session.refresh(challenge)
    assert challenge.deadline.isoformat() == later
    assert reembeds == []


def test_owner_cannot_edit_once_published(client, login_as, db):
    user = login_as("municipal")
    challenge = factories.make_challenge(organisation=user.organisation, status="published")
    db.session.commit()
    get_page(client, "municipality.edit_challenge", expected_status=403, challenge_id=challenge.id)


def test_clarity_endpoint_checks_the_unsaved_form(client, login_as):
    login_as("municipal")
    response = client.post(url_for("municipality.clarity_check"),
                           data=form_data(kpis="参加者を増やす", problem="窓口にAIを活用したい。"))
    assert response.status_code == 200
    data = response.get_json()
    by_field = {f["field"]: f for f in data["findings"]}
    assert by_field["kpis"]["level"] == "warn"
    assert by_field["problem"]["level"] == "warn" and "解決策" in by_field["problem"]["message"]
    assert 0 < data["score"] < 100

    good = client.post(url_for("municipality.clarity_check"), data=form_data()).get_json()
    assert good["score"] == 100 and good["ready"] is True


def test_clarity_endpoint_requires_the_csrf_token(app, client, login_as):
    login_as("municipal")
    app.config["WTF_CSRF_ENABLED"] = True
    page = get_page(client, "municipality.new_challenge")
    token = page.find("input", attrs={"name": "csrf_token"})["value"]
    refused = client.post(url_for("municipality.clarity_check"), data=form_data())
    assert refused.status_code == 400
    accepted = client.post(url_for("municipality.clarity_check"), data=form_data(),
                           headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.get_json()["score"] == 100


def test_dashboard_lists_the_organisations_challenges_by_status(client, login_as, db):
    user = login_as("municipal")
    colleague_draft = factories.make_challenge(organisation=user.organisation, status="draft", title="同僚が書いた通いの場の下書き")
    factories.make_challenge(organisation=user.organisation, status="in_review", title="確認中の課題")
    factories.make_challenge(organisation=user.organisation, status="published", title="公開中の課題A")
    factories.make_challenge(organisation=user.organisation, status="closed", title="終了した課題")
    factories.make_challenge(status="draft", title="よその市の下書き")
    db.session.commit()
    page = get_page(client, "municipality.dashboard")
    assert "同僚が書いた通いの場の下書き" in page_text(page.find(id="status-draft"))
    assert "確認中の課題" in page_text(page.find(id="status-in_review"))
    assert "公開中の課題A" in page_text(page.find(id="status-published"))
    assert "終了した課題" in page_text(page.find(id="status-closed"))
    assert "よその市の下書き" not in page_text(page)
    row = page.find("tr", attrs={"data-challenge": str(colleague_draft.id)})
    assert "100 / 100" in page_text(row)


def test_owner_sees_the_clarity_check_and_review_comment_on_the_challenge_page(client, login_as, db):
    user = login_as("municipal")
    challenge = factories.make_challenge(organisation=user.organisation, status="draft", kpis="増やす",
                                         review_comment="KPIに現状値と目標値を入れてください。")
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    panel = page.find(id="clarity-panel")
    assert panel.find("li", attrs={"data-field": "kpis", "data-level": "warn"})
    assert "KPIに現状値と目標値を入れてください。" in page_text(page.find(id="review-comment"))
    assert page.find(id="edit-challenge")["href"] == url_for("municipality.edit_challenge", challenge_id=challenge.id, _external=False)

    client.post(url_for("auth.logout"))
    anonymous_view = get_page(client, "public.challenge", expected_status=404, challenge_id=challenge.id)
    assert anonymous_view.find(id="clarity-panel") is None


def test_a_posted_fiscal_year_out_of_range_is_a_field_error_not_a_500(client, login_as, db):
    """Found by schemathesis through the API: the form offered the posted year as a choice and
    formatting year -1467800 raised."""
    from tests.pages import post_page

    login_as("municipal")
    page = post_page(client, "municipality.new_challenge", {"title": "年度の確認", "fiscal_year": "-1467800"})
    field = page.find("select", attrs={"name": "fiscal_year"}).find_parent(class_="field")
    assert "has-error" in field["class"] and field.select(".error")
