"""The review workflow: draft → in review → published → closed, through one guarded service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.services import challenges as service
from models import AuditEvent
from tests import factories
from tests.challenge_helpers import reembeds, switch_to  # noqa: F401  (reembeds: autouse fixture)
from tests.pages import get_page, page_text, post_page


def status_events(db, challenge_id: int) -> list[tuple[str | None, str | None, str | None, int | None]]:
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "challenge.status", AuditEvent.object_id == challenge_id)
        .order_by(AuditEvent.id)
    )
    return [(e.from_state, e.to_state, e.reason, e.actor_id) for e in rows]


@pytest.fixture()
def owner(db):
    return factories.make_user("municipal")


@pytest.fixture()
def coordinator(db):
    return factories.make_user("coordinator")


def test_full_path_through_the_service_writes_one_audit_row_per_change(db, owner, coordinator):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft")
    service.move(challenge, "in_review", actor=owner)
    service.move(challenge, "draft", actor=coordinator, reason="KPIの目標値を具体的に")
    assert challenge.review_comment == "KPIの目標値を具体的に"
    service.move(challenge, "in_review", actor=owner)
    service.move(challenge, "published", actor=coordinator)
    assert challenge.published_at is not None
    service.move(challenge, "closed", actor=owner, reason="提案期間が終了したため")
    assert challenge.closed_at is not None
    assert status_events(db, challenge.id) == [
        ("draft", "in_review", None, owner.id),
        ("in_review", "draft", "KPIの目標値を具体的に", coordinator.id),
        ("draft", "in_review", None, owner.id),
        ("in_review", "published", None, coordinator.id),
        ("published", "closed", "提案期間が終了したため", owner.id),
    ]


@pytest.mark.parametrize(("start", "to", "who"), [
    ("draft", "closed", "owner"),          # not an edge of the table
    ("draft", "closed", "coordinator"),
    ("in_review", "published", "owner"),  # a coordinator exists: only staff publish
    ("draft", "published", "owner"),
    ("closed", "published", "owner"),     # only staff reopen
    ("published", "draft", "coordinator"),
    ("draft", "in_review", "other"),       # another municipality
    ("published", "closed", "other"),
    ("draft", "in_review", "company"),
])
def test_forbidden_transitions_are_refused_without_an_audit_row(db, owner, coordinator, start, to, who):
    challenge = factories.make_challenge(organisation=owner.organisation, status=start)
    actor = {"owner": owner, "coordinator": coordinator}.get(who) or factories.make_user(
        "municipal" if who == "other" else "company")
    with pytest.raises(service.TransitionRefused):
        service.move(challenge, to, actor=actor)
    assert challenge.status == start
    assert status_events(db, challenge.id) == []


def test_an_incomplete_draft_cannot_go_to_review_and_is_told_why(db, owner, coordinator):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft", kpis="", offerings="")
    with pytest.raises(service.TransitionRefused) as refused:
        service.move(challenge, "in_review", actor=owner)
    assert any("成果指標" in p for p in refused.value.problems)
    assert any("提供できるもの" in p for p in refused.value.problems)
    assert challenge.status == "draft"
    assert status_events(db, challenge.id) == []


def test_owner_publishes_directly_only_when_there_is_no_active_coordinator(db, owner):
    inactive = factories.make_user("coordinator", active=False)
    factories.make_user("admin")  # administrators are not coordinators
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft")
    assert not service.coordinators_exist()
    assert "published" in service.allowed_moves(challenge, owner)
    service.move(challenge, "published", actor=owner, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert challenge.status == "published"
    assert status_events(db, challenge.id) == [("draft", "published", None, owner.id)]

    inactive.active = True
    other = factories.make_challenge(organisation=owner.organisation, status="draft")
    assert service.coordinators_exist()
    assert service.allowed_moves(other, owner) == ["in_review"]


def test_owner_submits_and_coordinator_comments_sends_back_and_publishes_through_the_pages(
    client, login_as, db, owner, coordinator
):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft", title="市役所窓口の混雑を解消したい")
    db.session.commit()

    login_as(owner)
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    assert page.find(id="move-in_review") and not page.find(id="move-published")
    page = post_page(client, "municipality.move_challenge", data={"to": "in_review"}, challenge_id=challenge.id)
    assert "コーディネーターに確認を依頼しました。" in page_text(page)
    assert challenge.status == "in_review"

    switch_to(login_as, coordinator)
    queue = get_page(client, "coordinator.dashboard").find(id="review-queue")
    assert "市役所窓口の混雑を解消したい" in page_text(queue)
    post_page(client, "coordinator.review", data={"comment": "背景に来庁者数の推移を足してください。"},
              challenge_id=challenge.id)
    assert challenge.review_comment == "背景に来庁者数の推移を足してください。"
    post_page(client, "coordinator.move_challenge", data={"to": "draft", "reason": "KPIを数値にしてください。"},
              challenge_id=challenge.id)
    assert challenge.status == "draft" and challenge.review_comment == "KPIを数値にしてください。"

    switch_to(login_as, owner)
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    assert "KPIを数値にしてください。" in page_text(page.find(id="review-comment"))
    edit = get_page(client, "municipality.edit_challenge", challenge_id=challenge.id)
    assert "KPIを数値にしてください。" in page_text(edit.find(id="review-comment"))
    post_page(client, "municipality.move_challenge", data={"to": "in_review"}, challenge_id=challenge.id)

    switch_to(login_as, coordinator)
    page = post_page(client, "coordinator.move_challenge", data={"to": "published"}, challenge_id=challenge.id)
    assert "課題を公開しました。" in page_text(page)
    assert challenge.status == "published"
    assert "市役所窓口の混雑を解消したい" in page_text(get_page(client, "public.challenges"))
    assert [e[:2] for e in status_events(db, challenge.id)] == [
        ("draft", "in_review"), ("in_review", "draft"), ("draft", "in_review"), ("in_review", "published")]
    comment_rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "challenge.review_comment")).all()
    assert [row.actor_id for row in comment_rows] == [coordinator.id]


def test_owner_cannot_publish_past_a_coordinator_through_the_page(client, login_as, db, owner, coordinator):
    challenge = factories.make_challenge(organisation=owner.organisation, status="in_review")
    db.session.commit()
    login_as(owner)
    response = client.post(url_for("municipality.move_challenge", challenge_id=challenge.id), data={"to": "published"})
    assert response.status_code == 403
    assert challenge.status == "in_review"
    assert status_events(db, challenge.id) == []


def test_refused_submission_flashes_what_is_missing(client, login_as, db, owner, coordinator):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft", kpis="")
    db.session.commit()
    login_as(owner)
    page = post_page(client, "municipality.move_challenge", data={"to": "in_review"}, challenge_id=challenge.id)
    text = page_text(page)
    assert "まだ先へ進めません" in text and "成果指標（KPI）" in text
    assert challenge.status == "draft"


def test_owner_without_coordinator_sees_and_uses_the_publish_button(client, login_as, db, owner):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft")
    db.session.commit()
    login_as(owner)
    page = get_page(client, "public.challenge", challenge_id=challenge.id)
    assert page.find(id="move-published")
    post_page(client, "municipality.move_challenge", data={"to": "published"}, challenge_id=challenge.id)
    assert challenge.status == "published"


def test_owner_and_coordinator_close_and_only_the_coordinator_reopens(client, login_as, db, owner, coordinator):
    challenge = factories.make_challenge(organisation=owner.organisation, status="published")
    db.session.commit()
    login_as(owner)
    post_page(client, "municipality.move_challenge", data={"to": "closed", "reason": "採択者決定"},
              challenge_id=challenge.id)
    assert challenge.status == "closed"
    assert client.post(url_for("municipality.move_challenge", challenge_id=challenge.id),
                       data={"to": "published"}).status_code == 403

    switch_to(login_as, coordinator)
    assert get_page(client, "coordinator.review", challenge_id=challenge.id).find(id="move-published")
    post_page(client, "coordinator.move_challenge", data={"to": "published"}, challenge_id=challenge.id)
    post_page(client, "coordinator.move_challenge", data={"to": "closed"}, challenge_id=challenge.id)
    assert status_events(db, challenge.id) == [
        ("published", "closed", "採択者決定", owner.id),
        ("closed", "published", None, coordinator.id),
        ("published", "closed", None, coordinator.id),
    ]


def test_an_unknown_target_status_is_a_bad_request(client, login_as, db, owner):
    challenge = factories.make_challenge(organisation=owner.organisation, status="draft")
    db.session.commit()
    login_as(owner)
    assert client.post(url_for("municipality.move_challenge", challenge_id=challenge.id),
                       data={"to": "archived"}).status_code == 400
