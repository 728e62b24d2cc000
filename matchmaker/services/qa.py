"""Questions and answers (質疑応答): companies ask, the municipality answers, and every answered
question is published to everyone WITHOUT the asker's identity (公平性)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.services import audit, conflicts, notify
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import Challenge, Match, Proposal, Question, Solution, User, db
from models.qa import question_digest

BODY_LIMIT = 4_000


@dataclass(frozen=True)
class PublicQuestion:
    """What the public sees of a Q&A: the text and the dates, never who asked."""

    number: int
    body: str
    answer: str
    answered_at: datetime


def challenge_url(challenge: Challenge) -> str:
    return url_for("public.challenge", challenge_id=challenge.id, _anchor="qa")


def accepts_questions(challenge: Challenge) -> bool:
    return challenge.accepts_proposals(local_today())


def _asked_before(challenge: Challenge, organisation_id: int, body: str) -> Question | None:
    return db.session.scalar(select(Question).where(
        Question.challenge_id == challenge.id, Question.organisation_id == organisation_id,
        Question.body_digest == question_digest(body)))


def ask(challenge: Challenge, user: User, body: str) -> Question:
    """A company's question; asking the same text again returns the question already asked."""
    body = (body or "").strip()
    if not user.is_company or user.organisation_id is None:
        raise match_service.MoveRefused(_("質問できるのは企業のアカウントだけです。"))
    if not accepts_questions(challenge):
        raise FieldError("body", _l("この課題は質問の受付を終了しています。"))
    if not body:
        raise FieldError("body", _l("質問を入力してください。"))
    if len(body) > BODY_LIMIT:
        raise FieldError("body", _l("%(n)d文字以内で入力してください。", n=BODY_LIMIT))
    asked = _asked_before(challenge, user.organisation_id, body)
    if asked is not None:  # a second click, or a colleague asking the very same thing
        return asked
    question = Question(challenge=challenge, organisation_id=user.organisation_id, asked_by_id=user.id, body=body,
                        asked_at=match_service.now_utc())
    try:
        with conflicts.savepoint():
            db.session.add(question)
            db.session.flush()
    except conflicts.Conflict:  # the same text posted at the same moment: that one is the question
        asked = _asked_before(challenge, user.organisation_id, body)
        assert asked is not None
        return asked
    audit.record(user, "question.asked", question, challenge_id=challenge.id)
    notify.notify(notify.owners_of(challenge), "qa.asked",
                  _("「%(title)s」に質問が届きました", title=challenge.title), body,
                  url_for("matches.questions", challenge_id=challenge.id))
    return question


def interested_companies(challenge: Challenge) -> set[int]:
    """Companies with a match or a proposal on the challenge, and those who asked about it."""
    with_match = select(Solution.organisation_id).join(Match, Match.solution_id == Solution.id).where(
        Match.challenge_id == challenge.id)
    with_proposal = select(Proposal.organisation_id).where(Proposal.challenge_id == challenge.id)
    asked = select(Question.organisation_id).where(Question.challenge_id == challenge.id)
    ids: set[int] = set()
    for query in (with_match, with_proposal, asked):
        ids.update(db.session.scalars(query))
    return ids


def answer(question: Question, user: User, text: str) -> None:
    """Answer (or correct the answer); the Q&A is published and interested companies are told."""
    if not question.can_answer(user):
        raise match_service.MoveRefused(_("この質問には回答できません。"))
    text = (text or "").strip()
    if not text:
        raise FieldError("answer", _l("回答を入力してください。"))
    first = not question.is_answered
    question.answer, question.answered_at, question.answered_by_id = text, match_service.now_utc(), user.id
    db.session.flush()
    audit.record(user, "question.answered" if first else "question.answer_changed", question,
                 challenge_id=question.challenge_id)
    challenge = question.challenge
    subject = (_("「%(title)s」の質問に回答が公開されました", title=challenge.title) if first
               else _("「%(title)s」の質問への回答が更新されました", title=challenge.title))
    notify.notify(notify.companies(interested_companies(challenge)), "qa.answered", subject,
                  _("質問：%(q)s\n回答：%(a)s", q=question.body, a=text), challenge_url(challenge))


def public_questions(challenge: Challenge) -> list[PublicQuestion]:
    """Answered questions in the order they were asked, stripped of who asked them."""
    rows = db.session.scalars(
        select(Question).where(Question.challenge_id == challenge.id, Question.answered_at.is_not(None))
        .order_by(Question.asked_at, Question.id)
    )
    return [PublicQuestion(n, q.body, q.answer or "", q.answered_at)  # type: ignore[arg-type]
            for n, q in enumerate(rows, start=1)]


def questions_for_owner(challenge: Challenge) -> list[Question]:
    return list(db.session.scalars(
        select(Question).where(Question.challenge_id == challenge.id)
        .order_by(Question.answered_at.is_not(None), Question.asked_at, Question.id)
    ))


def own_questions(challenge: Challenge, organisation_id: int | None) -> list[Question]:
    return list(db.session.scalars(
        select(Question).where(Question.challenge_id == challenge.id, Question.organisation_id == organisation_id)
        .order_by(Question.asked_at, Question.id)
    ))
