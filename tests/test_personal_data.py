"""個人情報保護法 requests: an administrator exports a user's personal data and erases it, and the
records the user took part in survive under a pseudonym."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from models import AuditEvent, Notification, OutboxMail, User, db
from tests import pipeline_factories as pf
from tests.pages import page_text, post_page


def _proposal_by(user: User) -> Any:
    pair = pf.make_pair()
    match = pf.make_match(pair.challenge, pf.make_solution(user.organisation), stage="proposal")
    return pf.make_proposal(match, user)


def test_the_export_holds_the_account_its_mail_and_what_names_the_user(client, login_as):
    company_user = pf.make_user("company", name="山田 花子", department="営業部")
    proposal = _proposal_by(company_user)
    pf.make_notification(company_user, subject="提案が候補に選ばれました")
    db.session.add(OutboxMail(user_id=company_user.id, to_address=company_user.email, subject="お知らせ",
                              body="山田 花子 様", kind="immediate", status="pending"))
    db.session.commit()
    admin = login_as("admin")
    response = client.get(f"/admin/users/{company_user.id}/personal-data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["name"] == "山田 花子" and data["account"]["department"] == "営業部"
    assert [n["subject"] for n in data["notifications"]] == ["提案が候補に選ばれました"]
    assert data["mails"][0]["body"] == "山田 花子 様"
    assert {"table": "proposal", "column": "author_id", "ids": [proposal.id]} in data["records_naming_the_user"]
    assert "山田 花子" in response.get_data(as_text=True)  # Japanese as text, not \\u escapes
    exported = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.personal_data_exported")).all()
    assert [(e.actor_id, e.object_id) for e in exported] == [(admin.id, company_user.id)]


def test_erasing_pseudonymises_the_user_and_keeps_the_records(client, login_as):
    company_user = pf.make_user("company", name="山田 花子", department="営業部")
    email = company_user.email
    proposal = _proposal_by(company_user)
    pf.make_notification(company_user)
    db.session.add(OutboxMail(user_id=company_user.id, to_address=email, subject="お知らせ", body="山田 花子 様",
                              kind="immediate", status="pending"))
    db.session.commit()
    admin = login_as("admin")
    page = post_page(client, "admin.erase_user", {"confirm_email": email.upper()}, user_id=company_user.id)
    assert f"利用者 #{company_user.id} の個人情報を削除しました" in page_text(page)
    db.session.expire_all()
    user = db.session.get(User, company_user.id)
    assert user.name == f"削除済みの利用者 #{user.id}" and user.email == f"user-{user.id}@erased.invalid"
    assert user.department is None and not user.active and not user.check_password("correct horse battery")
    assert db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all() == []
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id)).one()
    assert (mail.status, mail.to_address, mail.body) == ("failed", user.email, "")
    assert proposal.author_id == user.id  # the proposal stays, now by 「削除済みの利用者」
    erased = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.personal_data_erased")).one()
    assert (erased.actor_id, erased.object_id) == (admin.id, user.id)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "山田 花子" not in listing and f"削除済みの利用者 #{user.id}" in listing


def test_erasing_needs_the_address_typed_and_refuses_oneself(client, login_as):
    company_user = pf.make_user("company", name="山田 花子")
    db.session.commit()
    admin = login_as("admin")
    page = post_page(client, "admin.erase_user", {"confirm_email": "someone@example.jp"}, user_id=company_user.id)
    assert "メールアドレスを正確に入力してください" in page_text(page)
    page = post_page(client, "admin.erase_user", {"confirm_email": admin.email}, user_id=admin.id)
    assert "自分自身の個人情報は削除できません" in page_text(page)
    db.session.expire_all()
    assert db.session.get(User, company_user.id).name == "山田 花子"
    assert db.session.get(User, admin.id).active


def test_an_erased_user_cannot_log_in_and_is_not_erased_twice(client, login_as):
    company_user = pf.make_user("company", name="山田 花子")
    email = company_user.email
    db.session.commit()
    login_as("admin")
    post_page(client, "admin.erase_user", {"confirm_email": email}, user_id=company_user.id)
    db.session.expire_all()
    erased = db.session.get(User, company_user.id)
    page = post_page(client, "admin.erase_user", {"confirm_email": erased.email}, user_id=erased.id)
    assert "既に削除されています" in page_text(page)
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"email": email, "password": "correct horse battery"})
    assert response.status_code == 200 and "/auth/login" in response.request.path
