"""Disclosure versions (開示版) of the records: each loads its record as the record's own page does
(the same 404 for whoever may not know it exists) and turns every text field into what
``services.disclosure`` releases of it.

``subject`` answers what the 第三者意見照会 needs of the same record: the municipality that answers the
request and the companies whose information it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from matchmaker.auth import viewable_or_404
from matchmaker.i18n import format_era_date, format_yen_range
from matchmaker.matches.timeline import kpi_number
from matchmaker.matches.views import load_match
from matchmaker.records.documents import Document
from matchmaker.services import disclosure
from matchmaker.services.disclosure import DisclosedField
from models import Challenge, Organisation, Proposal, Question, SoundingBooking, db


@dataclass(frozen=True)
class Subject:
    """The record a disclosure version is of."""

    kind: str
    ident: int
    title: str
    challenge: Challenge  # whose municipality answers the disclosure request
    companies: list[Organisation]  # whose information it holds: the parties to a 第三者意見照会
    document: Document


def _labels() -> dict[str, Any]:
    return {"classes": disclosure.CLASSES, "reasons": disclosure.REASONS}


def _subject(kind: str, ident: int, back_url: str, heading: str, challenge: Challenge, companies: list[Organisation],
             facts: list[tuple[Any, Any]], fields: list[DisclosedField]) -> Subject:
    owner_side = challenge.is_owner_side(current_user)
    inquiries_url = url_for("records.inquiries", kind=kind, ident=ident) if companies and owner_side else None
    document = Document("records/disclosure.html", ident, back_url, {
        "heading": heading, "record_facts": facts, "fields": fields, "inquiries_url": inquiries_url,
        "can_mark": owner_side, **_labels()})
    return Subject(kind, ident, heading, challenge, companies, document)


def _proposal(ident: int) -> Subject:
    item = viewable_or_404(Proposal, ident)
    fields = [disclosure.disclose("proposal", name, label, getattr(item, name)) for name, label in (
        ("approach", _l("提案内容・アプローチ")), ("schedule", _l("スケジュール")),
        ("needs_from_municipality", _l("自治体に求める協力")), ("cost_estimate", _l("概算費用")),
        ("decision_reason", _l("判断の理由")))]
    return _subject("proposal_disclosure", item.id, url_for("matches.proposal", proposal_id=item.id), item.title,
                    item.challenge, [item.organisation], [
                        (_l("提案先の課題"), item.challenge.title), (_l("自治体"), item.challenge.organisation.name),
                        (_l("提案者"), item.organisation.name)], fields)


def dialogue_fields(booking: SoundingBooking) -> list[DisclosedField]:
    return [disclosure.disclose("dialogue", "note", _l("対話の記録"), note.body) for note in booking.notes]


def _dialogue(ident: int) -> Subject:
    item = viewable_or_404(SoundingBooking, ident)
    fields = dialogue_fields(item)
    challenge = item.sounding.challenge
    return _subject("dialogue_disclosure", item.id, url_for("matches.booking", booking_id=item.id),
                    item.sounding.title, challenge, [item.organisation], [
                        (_l("課題"), challenge.title), (_l("自治体"), challenge.organisation.name),
                        (_l("対話した事業者"), item.organisation.name)], fields)


def _challenge(ident: int) -> Subject:
    item = viewable_or_404(Challenge, ident)
    texts = [("background", _l("背景・現状")), ("problem", _l("課題")), ("causes", _l("原因")),
             ("affected", _l("対象者")), ("target_state", _l("目指す姿・KPI")), ("kpis", _l("成果指標")),
             ("constraints", _l("制約")), ("offerings", _l("提供できるもの"))]
    fields = [disclosure.disclose("challenge", name, label, getattr(item, name)) for name, label in texts]
    fields += [
        disclosure.disclose("challenge", "budget", _l("予算"), format_yen_range(item.budget_min, item.budget_max)),
        disclosure.disclose("challenge", "contact_department", _l("担当課"), item.contact_department),
        disclosure.disclose("challenge", "author", _l("作成した職員"), item.author.name if item.author else ""),
        disclosure.disclose("challenge", "review_comment", _l("コーディネーターの確認コメント"), item.review_comment),
    ]
    return _subject("challenge_disclosure", item.id, url_for("public.challenge", challenge_id=item.id), item.title,
                    item, [], [(_l("自治体"), item.organisation.name),
                               (_l("締切"), format_era_date(item.deadline) if item.deadline else "")], fields)


def _kpi_lines(kpis: list[Any]) -> str:
    return "\n".join(f"{k.name}（{k.unit}）：{kpi_number(k.baseline)} → {kpi_number(k.target)}"
                     + (f" ／ {kpi_number(k.actual)}" if k.actual is not None else "") for k in kpis)


def _pilot(ident: int) -> Subject:
    match = load_match(ident)
    pilot = match.pilot
    if pilot is None:
        abort(404)
    fields = [disclosure.disclose("pilot", "summary", _l("実施内容"), pilot.summary),
              disclosure.disclose("pilot", "kpis", _l("成果指標（現状値 → 目標値 ／ 実績値）"), _kpi_lines(pilot.kpis)),
              disclosure.disclose("pilot", "responsibilities", _l("役割分担"), pilot.responsibilities),
              disclosure.disclose("pilot", "cost_sharing", _l("費用負担"), pilot.cost_sharing)]
    fields += [disclosure.disclose("pilot", "update", _l("経過報告"), u.body) for u in pilot.updates]
    if pilot.budget_request_recorded_on:
        fields.append(disclosure.disclose("pilot", "budget_request", _l("予算要求"), pilot.budget_request_note))
    if pilot.verdict:
        fields.append(disclosure.disclose("pilot", "report_summary", _l("結果の概要"), pilot.report_summary))
    fields.append(disclosure.disclose("pilot", "author", _l("作成した職員"),
                                      pilot.created_by.name if pilot.created_by else ""))
    return _subject("pilot_disclosure", match.id, url_for("matches.match", match_id=match.id, _anchor="pilot"),
                    match.challenge.title, match.challenge, [match.solution.organisation], [
                        (_l("自治体"), match.challenge.organisation.name),
                        (_l("連携事業者"), match.solution.organisation.name),
                        (_l("実施期間"), f"{format_era_date(pilot.starts_on)}〜{format_era_date(pilot.ends_on)}")],
                    fields)


def _questions(ident: int) -> Subject:
    """All questions of a challenge, answered or not: the municipal side's record, so its staff and
    the coordinators only (others are refused as on the recommendations of a published challenge)."""
    item = viewable_or_404(Challenge, ident)
    if not item.is_owner_side(current_user):
        abort(403)
    questions = list(db.session.scalars(select(Question).where(Question.challenge_id == item.id)
                                        .order_by(Question.asked_at, Question.id)))
    fields: list[DisclosedField] = []
    for n, q in enumerate(questions, start=1):
        fields += [disclosure.disclose("qa", "asker_organisation", _l("質問者（事業者）%(n)d", n=n), q.organisation.name),
                   disclosure.disclose("qa", "asker", _l("質問者（担当者）%(n)d", n=n), q.asked_by.name if q.asked_by else ""),
                   disclosure.disclose("qa", "question", _l("質問 %(n)d", n=n), q.body),
                   disclosure.disclose("qa", "answer", _l("回答 %(n)d", n=n), q.answer or _l("（未回答）"))]
    companies = list({q.organisation_id: q.organisation for q in questions}.values())
    return _subject("qa_disclosure", item.id, url_for("matches.questions", challenge_id=item.id), item.title, item,
                    companies, [(_l("自治体"), item.organisation.name), (_l("質問の件数"), str(len(questions)))],
                    fields)


SUBJECTS: dict[str, Callable[[int], Subject]] = {
    "proposal_disclosure": _proposal, "dialogue_disclosure": _dialogue, "challenge_disclosure": _challenge,
    "pilot_disclosure": _pilot, "qa_disclosure": _questions,
}


def subject(kind: str, ident: int) -> Subject:
    load = SUBJECTS.get(kind)
    if load is None:
        abort(404)
    return load(ident)


def document(kind: str) -> Callable[[int], Document]:
    """The loader ``records.RECORDS`` calls for ``kind``: its disclosure version, ready to print."""
    load = SUBJECTS[kind]
    return lambda ident: load(ident).document
