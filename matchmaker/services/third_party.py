"""第三者意見照会: asking a company for its view before a disclosure version holding its information
is released (as 情報公開条例 provide: the third party may state its view within a set period).

The steps, each audited: staff start an inquiry (the company is notified); the company states its
view, 同意 or 不同意 with reasons (staff are notified); staff record the release. A release is refused
while the deadline has not passed and no view is in, so that the company's chance to object is never
cut short; after a 不同意 staff may still release, but only with the reason they did so, and the company
is told (it may then seek a review of the decision, 審査請求).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.i18n import format_era_date
from matchmaker.services import audit, conflicts, notify
from matchmaker.services.disclosure import CLASSES, REASONS, DisclosedField
from matchmaker.services.errors import FieldError
from matchmaker.services.matches import now_utc
from models import Challenge, Organisation, User, db
from models.disclosure import DisclosureInquiry

FORM = "__form__"
DEFAULT_PERIOD = timedelta(days=14)  # 2 weeks, the period most 情報公開条例 give a third party
MAX_PERIOD = timedelta(days=90)
VIEWS: dict[str, Any] = {"consent": _l("同意（開示に支障なし）"), "objection": _l("不同意（開示に反対）")}
STATUSES: dict[str, Any] = {"awaiting": _l("意見待ち"), "answered": _l("意見あり"), "lapsed": _l("期限経過（意見なし）"),
                            "released": _l("開示済み")}


class Refused(Exception):
    """The user may not take this step (the view answers 403)."""


def inquiry_url(inquiry: DisclosureInquiry) -> str:
    return url_for("records.inquiry", inquiry_id=inquiry.id)


def frozen_text(fields: Iterable[DisclosedField]) -> str:
    """The disclosure version as plain text, withheld parts as ■■■ with their reason."""
    blocks = []
    for f in fields:
        body = "".join(f"■■■■〔{_('非公開')}：{REASONS[s.reason or 'unspecified']}〕" if s.withheld else s.text
                       for s in f.segments)
        blocks.append(f"【{f.label}〔{CLASSES[f.disclosure]}〕】\n{body}")
    return "\n\n".join(blocks)


def inquiries_of(record_kind: str, record_id: int) -> list[DisclosureInquiry]:
    return list(db.session.scalars(select(DisclosureInquiry).where(
        DisclosureInquiry.record_kind == record_kind, DisclosureInquiry.record_id == record_id)
        .order_by(DisclosureInquiry.started_at.desc(), DisclosureInquiry.id.desc())))


def start(*, record_kind: str, record_id: int, title: str, challenge: Challenge, company: Organisation,
          companies: list[Organisation], fields: Iterable[DisclosedField], user: User, deadline: date | None,
          request_note: str, today: date) -> DisclosureInquiry:
    """Staff ask ``company`` for its view on the disclosure version of one record."""
    if not challenge.is_owner_side(user):
        raise Refused
    if company.id not in {c.id for c in companies}:
        raise FieldError("organisation_id", _l("この記録に情報が含まれる事業者を選んでください。"))
    deadline = deadline or today + DEFAULT_PERIOD
    if deadline <= today:
        raise FieldError("deadline", _l("意見の提出期限は明日以降の日付にしてください。"))
    if deadline > today + MAX_PERIOD:
        raise FieldError("deadline", _l("意見の提出期限は90日以内にしてください。"))
    key = DisclosureInquiry.key(record_kind, record_id, company.id)
    if db.session.scalar(select(DisclosureInquiry.id).where(DisclosureInquiry.open_key == key)) is not None:
        raise conflicts.refusal("uq_disclosure_inquiry_open")
    with conflicts.savepoint():
        inquiry = DisclosureInquiry(
            record_kind=record_kind, record_id=record_id, challenge_id=challenge.id, organisation_id=company.id,
            open_key=key, title=title[:200], request_note=request_note.strip(), document_text=frozen_text(fields),
            deadline=deadline, started_by_id=user.id, started_at=now_utc())
        db.session.add(inquiry)
        db.session.flush()
    audit.record(user, "disclosure.inquiry_started", inquiry, to_state="awaiting", record_kind=record_kind,
                 record_id=record_id, organisation_id=company.id, deadline=deadline.isoformat())
    notify.notify(notify.members_of(company.id), "disclosure.inquiry",
                  _("情報公開請求に係る意見照会：「%(title)s」", title=title),
                  _("開示に関するご意見を%(deadline)sまでにお知らせください。", deadline=format_era_date(deadline)),
                  inquiry_url(inquiry))
    return inquiry


def state_view(inquiry: DisclosureInquiry, user: User, view: str, reason: str) -> DisclosureInquiry:
    """The company states 同意 or 不同意 (with its reasons); it may change its view until the release.
    The row is held first, so that a view and a release at once act one after the other."""
    if not inquiry.is_company_of(user):
        raise Refused
    conflicts.lock(inquiry)
    if inquiry.released_at is not None:
        raise FieldError(FORM, _l("開示が既に記録されたため、意見は変更できません。"))
    if view not in VIEWS:
        raise FieldError("view", _l("同意か不同意かを選んでください。"))
    reason = (reason or "").strip()
    if view == "objection" and not reason:
        raise FieldError("reason", _l("不同意の場合は、開示により害されるおそれのある利益など、その理由を記入してください。"))
    previous = inquiry.company_view
    inquiry.company_view, inquiry.view_reason = view, reason
    inquiry.viewed_at, inquiry.viewed_by_id = now_utc(), user.id
    db.session.flush()
    audit.record(user, "disclosure.view_stated" if previous is None else "disclosure.view_changed", inquiry,
                 from_state=previous, to_state=view, reason=reason or None)
    recipients = [inquiry.started_by, *notify.owners_of(inquiry.challenge)]
    notify.notify(recipients, "disclosure.view", _("意見照会への回答：「%(title)s」", title=inquiry.title),
                  f"{inquiry.organisation.name}：{VIEWS[view]}", inquiry_url(inquiry))
    return inquiry


def release(inquiry: DisclosureInquiry, user: User, note: str, today: date) -> DisclosureInquiry:
    """Staff record that the disclosure version was released to the requester (the row held first,
    as in ``state_view``)."""
    if not inquiry.handled_by(user):
        raise Refused
    conflicts.lock(inquiry)
    if inquiry.released_at is not None:
        raise FieldError(FORM, _l("この照会の開示は既に記録されています。"))
    if inquiry.company_view is None and today <= inquiry.deadline:
        raise FieldError(FORM, _l("事業者の意見が届いていないため、提出期限（%(deadline)s）が過ぎるまで開示は記録できません。",
                                  deadline=format_era_date(inquiry.deadline)))
    note = (note or "").strip()
    if inquiry.company_view == "objection" and not note:
        raise FieldError("note", _l("事業者が不同意のため、それでも開示する理由を記入してください。"))
    status = inquiry.status(today)
    inquiry.released_at, inquiry.released_by_id, inquiry.release_note = now_utc(), user.id, note
    inquiry.open_key = None
    db.session.flush()
    audit.record(user, "disclosure.released", inquiry, from_state=status, to_state="released", reason=note or None,
                 company_view=inquiry.company_view)
    notify.notify(notify.members_of(inquiry.organisation_id), "disclosure.released",
                  _("開示を実施しました：「%(title)s」", title=inquiry.title), note, inquiry_url(inquiry))
    return inquiry
