"""The audit log viewer: who may read it, its filters and pages, and that it cannot be changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from sqlalchemy import select

from models import AuditEvent
from models import db as _db
from models.audit import AuditLogIsAppendOnly
from tests.pages import get_page, page_text
from tests.pipeline_factories import make_match, make_user


def _event(action: str, actor=None, object_type: str = "match", object_id: int | None = 1, at=None, reason=None,
           **details):
    event = AuditEvent(action=action, actor_id=getattr(actor, "id", None), object_type=object_type,
                       object_id=object_id, at=at or datetime.now(UTC), reason=reason, details=details)
    _db.session.add(event)
    _db.session.flush()
    return event


def _shown(page) -> list[int]:
    return [int(row["data-event"]) for row in page.select("#audit-events tbody tr")]


def test_anonymous_goes_to_login(client, db):
    response = client.get(url_for("admin.audit"))
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize("role", ["municipal", "company"])
def test_members_may_not_read_the_log(client, login_as, db, role):
    login_as(role)
    get_page(client, "admin.audit", expected_status=403)


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_and_admins_read_the_log(client, login_as, db, role):
    actor = make_user("municipal", name="監査 太郎")
    match = make_match()
    event = _event("match.stage", actor, object_id=match.id, reason="条件が合わないため", note="予算の都合")
    login_as(role)
    page = get_page(client, "admin.audit")
    row = page.select_one(f"[data-event='{event.id}']")
    assert row is not None
    assert "監査 太郎" in page_text(row) and "条件が合わないため" in page_text(row)
    assert "予算の都合" in page_text(row)  # details in readable Japanese, not \\u escapes
    assert row.select_one("a")["href"] == url_for("matches.match", match_id=match.id, _external=False)
    # Coordinators do not get the administrators' menu (its pages would refuse them).
    assert (page.select_one(".admin-nav") is not None) == (role == "admin")


def test_filters_by_action_object_actor_and_date(client, login_as, db):
    alice = make_user("municipal", name="青木 花子", email="aoki@example.jp")
    bob = make_user("company", name="坂本 次郎")
    old = _event("challenge.status", alice, object_type="challenge", object_id=7,
                 at=datetime(2026, 4, 1, 3, 0, tzinfo=UTC))  # 12:00 in Japan, 1 April
    late = _event("challenge.status", alice, object_type="challenge", object_id=8,
                  at=datetime(2026, 4, 1, 16, 0, tzinfo=UTC))  # 01:00 on 2 April in Japan
    other = _event("match.stage", bob, object_id=7, at=datetime(2026, 4, 3, 0, 0, tzinfo=UTC))
    system = _event("pilot.budget_warning", None, object_type="pilot", object_id=3)
    login_as("coordinator")
    assert set(_shown(get_page(client, "admin.audit", action="challenge.status"))) == {old.id, late.id}
    assert _shown(get_page(client, "admin.audit", object_type="challenge", object_id="8")) == [late.id]
    assert set(_shown(get_page(client, "admin.audit", object_id="7"))) == {old.id, other.id}
    assert set(_shown(get_page(client, "admin.audit", actor="aoki@"))) == {old.id, late.id}
    assert _shown(get_page(client, "admin.audit", actor=str(bob.id))) == [other.id]
    assert _shown(get_page(client, "admin.audit", actor="system")) == [system.id]
    # Days are Japanese calendar days.
    assert _shown(get_page(client, "admin.audit", date_from="2026-04-01", date_to="2026-04-01")) == [old.id]
    assert _shown(get_page(client, "admin.audit", date_from="2026-04-02", date_to="2026-04-03")) == [other.id, late.id]


def test_bad_filter_input_gets_a_message_not_an_error(client, login_as, db):
    _event("match.stage")
    login_as("admin")
    page = get_page(client, "admin.audit", date_from="4月1日", object_id="abc")
    errors = page_text(page.select_one("#audit-filters"))
    assert "2026-04-01" in errors and "数字" in errors
    assert len(_shown(page)) == 1  # the bad filters are ignored, not fatal


def test_the_log_is_paginated_newest_first(client, login_as, app, db):
    app.config["PAGE_SIZE"] = 5
    start = datetime(2026, 5, 1, tzinfo=UTC)
    events = [_event("test.action", at=start + timedelta(minutes=i)) for i in range(12)]
    login_as("admin")
    first = get_page(client, "admin.audit")
    assert _shown(first) == [e.id for e in reversed(events)][:5]
    third = get_page(client, "admin.audit", page=3)
    assert _shown(third) == [events[1].id, events[0].id]
    assert "3 / 3" in page_text(third.select_one(".pagination"))


def test_the_viewer_has_no_way_to_change_the_log(client, login_as, app, db):
    event = _event("match.stage")
    login_as("admin")
    assert client.post(url_for("admin.audit"), data={"action": "x"}).status_code == 405
    audit_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.audit")]
    assert [r.endpoint for r in audit_rules] == ["admin.audit"]
    assert audit_rules[0].methods <= {"GET", "HEAD", "OPTIONS"}
    page = get_page(client, "admin.audit")
    assert page.select("#audit-events form") == [] and page.select("#audit-events button") == []
    assert db.session.get(AuditEvent, event.id).action == "match.stage"


def test_the_model_refuses_updates_and_deletes(db):
    event = _event("match.stage")
    db.session.commit()
    event.reason = "書き換え"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.delete(db.session.get(AuditEvent, event.id))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.reason).where(AuditEvent.id == event.id)) is None
