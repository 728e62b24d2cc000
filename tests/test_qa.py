"""Questions and answers: answered Q&A is public WITHOUT the asker's identity; interested companies
are notified of each answer; only the owner side answers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import g, url_for
from sqlalchemy import select

from matchmaker.services import qa
from matchmaker.services.errors import FieldError
from models import Notification, Question
from tests.pages import get_page, page_text, post_page
from tests.pipeline_factories import (
    make_company,
    make_match,
    make_pair,
    make_proposal,
    make_question,
    make_solution,
    make_user,
    switch_user,
)

SECRET_QUESTION = "御市の名簿データはExcelで提供されますか（質問番号A-17）"


def _asked_and_answered(db: Any, client: Any, login_as: Any) -> Any:
    pair = make_pair()
    asker_org = make_company(name="株式会社ヒミツの質問者")
    asker = make_user("company", organisation=asker_org, name="質問 太郎", email="asker@secret.example.jp")
    db.session.commit()
    switch_user(login_as, asker)
    post_page(client, "matches.questions", {"body": SECRET_QUESTION}, challenge_id=pair.challenge.id)
    question = db.session.scalars(select(Question)).one()
    assert question.organisation_id == asker_org.id
    switch_user(login_as, pair.owner)
    post_page(client, "matches.answer_question", {f"q{question.id}-answer": "CSV形式で匿名化して提供します。"},
              question_id=question.id)
    return pair, asker


def test_answered_questions_are_public_without_the_asker(app: Any, db: Any, client: Any, login_as: Any) -> None:
    pair, _asker = _asked_and_answered(db, client, login_as)
    identities = ("株式会社ヒミツの質問者", "質問 太郎", "asker@secret.example.jp")
    for reader in ("anonymous", "company", "municipal", "coordinator"):
        g.pop("_login_user", None)
        reader_client = app.test_client()
        if reader != "anonymous":
            user = make_user(reader)
            db.session.commit()
            with reader_client.session_transaction() as session:
                session["_user_id"] = user.get_id()
        html = reader_client.get(url_for("public.challenge", challenge_id=pair.challenge.id)).get_data(as_text=True)
        assert SECRET_QUESTION in html and "CSV形式で匿名化して提供します。" in html, reader
        for identity in identities:
            assert identity not in html, (reader, identity)


def test_the_owner_sees_who_asked(db: Any, client: Any, login_as: Any) -> None:
    pair, _asker = _asked_and_answered(db, client, login_as)
    page = get_page(client, "matches.questions", challenge_id=pair.challenge.id)
    assert "株式会社ヒミツの質問者" in page_text(page)


def test_unanswered_questions_are_not_public(db: Any, client: Any) -> None:
    pair = make_pair()
    make_question(pair.challenge, make_user("company"), body="まだ答えのない質問です")
    db.session.commit()
    page = get_page(client, "public.challenge", challenge_id=pair.challenge.id)
    assert "まだ答えのない質問です" not in page_text(page)
    assert page.find(id="qa") is not None


def test_interested_companies_are_notified_of_each_answer(db: Any) -> None:
    pair = make_pair()
    with_match = make_user("company")
    make_match(pair.challenge, make_solution(with_match.organisation))
    with_proposal = make_user("company")
    make_proposal(make_match(pair.challenge, make_solution(with_proposal.organisation), stage="proposal"))
    asker = make_user("company")
    bystander = make_user("company")
    question = make_question(pair.challenge, asker)
    db.session.commit()
    qa.answer(question, pair.owner, "回答です。")
    db.session.commit()
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "qa.answered")))
    assert told == {with_match.id, with_proposal.id, asker.id}
    assert bystander.id not in told and pair.owner.id not in told


def test_other_companies_do_not_see_each_others_questions(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    make_question(pair.challenge, make_user("company"), body="他社の未回答の質問")
    db.session.commit()
    login_as("company")
    page = get_page(client, "matches.questions", challenge_id=pair.challenge.id)
    assert "他社の未回答の質問" not in page_text(page)


@pytest.mark.parametrize("who", ["company", "other_municipality"])
def test_only_the_owner_side_answers(db: Any, client: Any, login_as: Any, who: str) -> None:
    pair = make_pair()
    question = make_question(pair.challenge, pair.company_user)
    db.session.commit()
    login_as(pair.company_user if who == "company" else make_user("municipal"))
    post_page(client, "matches.answer_question", {f"q{question.id}-answer": "勝手な回答"}, expected_status=403,
              question_id=question.id)
    assert db.session.get(Question, question.id).answer is None


def test_coordinator_may_answer(db: Any) -> None:
    pair = make_pair()
    question = make_question(pair.challenge, pair.company_user)
    qa.answer(question, make_user("coordinator"), "コーディネーターからの回答")
    assert question.is_answered


def test_municipal_staff_cannot_ask(db: Any, client: Any, login_as: Any) -> None:
    pair = make_pair()
    login_as(pair.owner)
    post_page(client, "matches.questions", {"body": "自問自答"}, challenge_id=pair.challenge.id)
    assert db.session.scalars(select(Question)).all() == []


def test_questions_close_with_the_deadline(db: Any) -> None:
    pair = make_pair(deadline=date.today() - timedelta(days=1))
    with pytest.raises(FieldError):
        qa.ask(pair.challenge, pair.company_user, "締切後の質問")


def test_anonymous_is_sent_to_login(db: Any, client: Any) -> None:
    pair = make_pair()
    response = client.get(url_for("matches.questions", challenge_id=pair.challenge.id))
    assert response.status_code == 302 and "/auth/login" in response.location
