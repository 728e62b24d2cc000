"""第三者意見照会: staff ask the company concerned before a disclosure version holding its information
is released; the company states 同意 / 不同意 with reasons before a deadline; every step is audited and
notified; a release before the deadline without the company's view is refused."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from matchmaker.services import third_party
from matchmaker.services.challenges import local_today
from models import AuditEvent, DisclosureInquiry, Notification, User
from models import db as models_db
from tests import pipeline_factories as pf
from tests.pages import get_page
from tests.test_disclosure import SECRET, _proposal_with_secret
from tests.test_races import held_after, race


def _start(client: Any, proposal_id: int, **form: Any) -> Any:
    return client.post(url_for("records.inquiries", kind="proposal_disclosure", ident=proposal_id),
                       data={"request_note": "令和8年12月1日付け開示請求（提案書一式）", **form})


def _inquiry() -> DisclosureInquiry:
    models_db.session.expire_all()
    return models_db.session.scalars(select(DisclosureInquiry)).one()


def _actions() -> list[str]:
    return list(models_db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "disclosure_inquiry").order_by(AuditEvent.id)))


def _notified(user: User, kind: str) -> int:
    return int(models_db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.kind == kind)) or 0)


def test_the_whole_inquiry_objection_then_release_with_reasons(db: Any, client: Any, login_as: Any) -> None:
    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    page = get_page(client, "records.record", kind="proposal_disclosure", ident=proposal.id)
    assert page.select_one("#inquiries-link a")["href"] == f"/records/proposal_disclosure/{proposal.id}/inquiries"
    response = _start(client, proposal.id, organisation_id=pair.company.id)
    assert response.status_code == 302
    inquiry = _inquiry()
    assert inquiry.deadline == local_today() + timedelta(days=14) and inquiry.status(local_today()) == "awaiting"
    assert SECRET not in inquiry.document_text and "■■■■〔非公開：法人等情報〕" in inquiry.document_text
    assert _notified(pair.company_user, "disclosure.inquiry") == 1

    # Too early: no view, deadline ahead → refused, with the deadline in the message, nothing changed.
    refused = client.post(url_for("records.release_inquiry", inquiry_id=inquiry.id), data={"note": "開示する"})
    assert refused.status_code == 200
    assert "提出期限" in refused.get_data(as_text=True) and "過ぎるまで開示は記録できません" in refused.get_data(as_text=True)
    assert _inquiry().released_at is None

    # The company objects: a reason is required.
    login_as(pair.company_user)
    page = get_page(client, "records.inquiry", inquiry_id=inquiry.id)
    assert page.select_one("#view-form") is not None and page.select_one("#release-form") is None
    url = url_for("records.inquiry", inquiry_id=inquiry.id)
    without = client.post(url, data={"view": "objection", "reason": " "})
    assert without.status_code == 200 and "理由を記入してください" in without.get_data(as_text=True)
    assert client.post(url, data={"view": "objection", "reason": "単価は競合他社に知られると入札で不利になる"}).status_code == 302
    assert _inquiry().company_view == "objection" and _notified(pair.owner, "disclosure.view") == 1
    assert client.post(url_for("records.release_inquiry", inquiry_id=inquiry.id)).status_code == 403

    # Staff see the view; releasing over an objection needs the reason for doing so.
    login_as(pair.owner)
    page = get_page(client, "records.inquiry", inquiry_id=inquiry.id)
    assert "入札で不利になる" in page.select_one("#company-view").get_text() and page.select_one("#view-form") is None
    release = url_for("records.release_inquiry", inquiry_id=inquiry.id)
    assert "それでも開示する理由" in client.post(release, data={"note": ""}).get_data(as_text=True)
    assert client.post(release, data={"note": "単価部分は非公開としたうえで開示"}).status_code == 302
    done = _inquiry()
    assert done.status(local_today()) == "released" and done.open_key is None
    assert _notified(pair.company_user, "disclosure.released") == 1
    assert _actions() == ["disclosure.inquiry_started", "disclosure.view_stated", "disclosure.released"]
    # Once released, the company's view is fixed.
    login_as(pair.company_user)
    late = client.post(url, data={"view": "consent", "reason": ""})
    assert late.status_code == 200 and _inquiry().company_view == "objection"


def test_a_lapsed_deadline_allows_the_release_without_a_view(db: Any, client: Any, login_as: Any) -> None:
    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    _start(client, proposal.id, organisation_id=pair.company.id)
    inquiry = _inquiry()
    inquiry.deadline = local_today() - timedelta(days=1)
    models_db.session.commit()
    assert inquiry.status(local_today()) == "lapsed"
    assert client.post(url_for("records.release_inquiry", inquiry_id=inquiry.id), data={"note": ""}).status_code == 302
    assert _inquiry().released_at is not None
    event = models_db.session.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.released")).one()
    assert event.from_state == "lapsed"


@pytest.mark.parametrize(("deadline", "message"), [
    ("2000-01-01", "明日以降の日付"), ("2100-01-01", "90日以内"),
])
def test_deadline_bounds(db: Any, client: Any, login_as: Any, deadline: str, message: str) -> None:
    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    response = _start(client, proposal.id, organisation_id=pair.company.id, deadline=deadline)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert "令和8年12月1日付け開示請求" in response.get_data(as_text=True)  # what was typed is kept
    assert models_db.session.scalar(select(func.count()).select_from(DisclosureInquiry)) == 0


def test_one_open_inquiry_per_record_and_company(db: Any, client: Any, login_as: Any) -> None:
    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    assert _start(client, proposal.id, organisation_id=pair.company.id).status_code == 302
    again = _start(client, proposal.id, organisation_id=pair.company.id)
    assert again.status_code == 200 and "意見照会が既に進行中です" in again.get_data(as_text=True)
    other = _start(client, proposal.id, organisation_id=pf.make_company().id)  # not in the record
    assert other.status_code == 200 and "選択肢が正しくありません" in other.get_data(as_text=True)
    assert models_db.session.scalar(select(func.count()).select_from(DisclosureInquiry)) == 1


def test_who_sees_an_inquiry(db: Any, client: Any, login_as: Any) -> None:
    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    _start(client, proposal.id, organisation_id=pair.company.id)
    inquiry = _inquiry()
    for who, status in (("company", 404), ("municipal", 404), ("coordinator", 200)):
        login_as(who)
        get_page(client, "records.inquiry", expected_status=status, inquiry_id=inquiry.id)
    login_as(pair.company_user)  # the company is a party to the proposal, but the inquiries list is staff's
    get_page(client, "records.inquiries", expected_status=403, kind="proposal_disclosure", ident=proposal.id)
    login_as(pair.owner)
    assert client.post(url_for("records.inquiry", inquiry_id=inquiry.id),
                       data={"view": "consent"}).status_code == 403


def test_qa_inquiry_is_asked_of_one_of_the_askers(db: Any, client: Any, login_as: Any) -> None:
    pair = pf.make_pair()
    other = pf.make_user("company", organisation=pf.make_company())
    pf.make_question(pair.challenge, pair.company_user, answered=True)
    pf.make_question(pair.challenge, other)
    models_db.session.commit()
    login_as(pair.owner)
    page = get_page(client, "records.inquiries", kind="qa_disclosure", ident=pair.challenge.id)
    assert {o.get_text() for o in page.select("#organisation_id option")} == {pair.company.name,
                                                                           other.organisation.name}


def test_concurrent_starts_make_one_inquiry(app: Flask, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the race is between PostgreSQL connections (TEST_DATABASE_URL)")
    pair, proposal = _proposal_with_secret()
    staff = [pair.owner] + [pf.make_user("municipal", organisation=pair.municipality) for _ in range(5)]
    models_db.session.commit()
    form = {"organisation_id": pair.company.id, "request_note": "開示請求"}
    with app.test_request_context():
        url = url_for("records.inquiries", kind="proposal_disclosure", ident=proposal.id)
    with held_after(monkeypatch, third_party, "frozen_text", len(staff)):  # all past the check, then write
        outcomes = race(app, list(staff), lambda i, client: client.post(url, data=form))
    assert Counter(o.status for o in outcomes) == Counter({302: 1, 200: len(staff) - 1})
    assert all("意見照会が既に進行中です" in o.text for o in outcomes if o.status == 200)
    models_db.session.rollback()
    assert models_db.session.scalar(select(func.count()).select_from(DisclosureInquiry)) == 1
    assert _actions() == ["disclosure.inquiry_started"]


def test_both_dashboards_list_the_open_inquiry(db: Any, client: Any, login_as: Any) -> None:
    from tests.test_todo import todo_rows

    pair, proposal = _proposal_with_secret()
    login_as(pair.owner)
    _start(client, proposal.id, organisation_id=pair.company.id)
    inquiry = _inquiry()
    assert ("disclosure_release", inquiry.id) in todo_rows(get_page(client, "municipality.dashboard"))
    login_as("coordinator")  # the coordinators watch every municipality's open inquiries
    row = todo_rows(get_page(client, "coordinator.dashboard"))[("disclosure_release", inquiry.id)]
    assert row.find("a")["href"] == f"/records/inquiries/{inquiry.id}"
    login_as(pair.company_user)
    row = todo_rows(get_page(client, "company.dashboard"))[("disclosure_view", inquiry.id)]
    assert row.find("a")["href"] == f"/records/inquiries/{inquiry.id}"
    client.post(url_for("records.inquiry", inquiry_id=inquiry.id), data={"view": "consent", "reason": ""})
    assert ("disclosure_view", inquiry.id) not in todo_rows(get_page(client, "company.dashboard"))
    login_as(pair.owner)  # still the municipality's until it records the release
    assert ("disclosure_release", inquiry.id) in todo_rows(get_page(client, "municipality.dashboard"))
    client.post(url_for("records.release_inquiry", inquiry_id=inquiry.id), data={"note": ""})
    assert ("disclosure_release", inquiry.id) not in todo_rows(get_page(client, "municipality.dashboard"))
    login_as("coordinator")
    assert ("disclosure_release", inquiry.id) not in todo_rows(get_page(client, "coordinator.dashboard"))
