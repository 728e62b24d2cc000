"""Sounding (サウンディング): open it with dates and slots, companies book one slot before the entry
deadline, private dialogue notes, and the public results summary (実施結果概要)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.i18n import JST, format_era_date, local_time
from matchmaker.services import audit, conflicts, disclosure, notify
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import Challenge, DialogueNote, Solution, Sounding, SoundingBooking, SoundingSlot, User, db
from models.match import MatchStage

M = MatchStage
FORM = "__form__"


def sounding_url(sounding: Sounding) -> str:
    return url_for("matches.sounding", sounding_id=sounding.id)


def open_sounding(challenge: Challenge, user: User, values: Mapping[str, Any]) -> Sounding:
    """The owning municipality opens a sounding for a published challenge."""
    if not (user.is_staff or (user.is_municipal and user.organisation_id == challenge.organisation_id)):
        raise match_service.MoveRefused(_("この課題のサウンディングは開けません。"))
    if challenge.status != "published":
        raise FieldError(FORM, _l("サウンディングは公開中の課題についてのみ実施できます。"))
    starts_on, ends_on, deadline = values["starts_on"], values["ends_on"], values["entry_deadline"]
    if ends_on < starts_on:
        raise FieldError("ends_on", _l("終了日は開始日以降にしてください。"))
    if deadline > ends_on:
        raise FieldError("entry_deadline", _l("エントリー締切は対話期間の終了日以前にしてください。"))
    sounding = Sounding(challenge=challenge, title=str(values["title"]).strip(),
                        description=str(values.get("description") or "").strip(), starts_on=starts_on,
                        ends_on=ends_on, entry_deadline=deadline, created_by_id=user.id)
    db.session.add(sounding)
    db.session.flush()
    audit.record(user, "sounding.opened", sounding, challenge_id=challenge.id)
    from matchmaker.services.qa import interested_companies

    notify.notify(notify.companies(interested_companies(challenge)), "sounding.opened",
                  _("「%(title)s」のサウンディングが始まります", title=challenge.title),
                  _("エントリー締切：%(deadline)s", deadline=format_era_date(deadline)), sounding_url(sounding))
    return sounding


def add_slot(sounding: Sounding, user: User, *, day: date, start: time, end: time, place: str = "",
             capacity: int = 1) -> SoundingSlot:
    if not sounding.can_manage(user):
        raise match_service.MoveRefused(_("この枠は追加できません。"))
    if not sounding.starts_on <= day <= sounding.ends_on:
        raise FieldError("day", _l("対話期間（%(start)s〜%(end)s）の中の日付にしてください。",
                                   start=format_era_date(sounding.starts_on), end=format_era_date(sounding.ends_on)))
    if end <= start:
        raise FieldError("end", _l("終了時刻は開始時刻より後にしてください。"))
    slot = SoundingSlot(sounding=sounding, starts_at=datetime.combine(day, start, tzinfo=JST).astimezone(UTC),
                        ends_at=datetime.combine(day, end, tzinfo=JST).astimezone(UTC),
                        place=place.strip(), capacity=max(1, capacity))
    db.session.add(slot)
    db.session.flush()
    audit.record(user, "sounding.slot_added", sounding, slot_id=slot.id)
    return slot


def _seats_taken(slot: SoundingSlot) -> set[int]:
    return set(db.session.scalars(select(SoundingBooking.seat).where(SoundingBooking.slot_id == slot.id)))


def book(sounding: Sounding, slot: SoundingSlot, solution: Solution, user: User) -> SoundingBooking:
    """A company books one slot; refused after the entry deadline, when full, or when already booked.

    Bookings of one sounding are made one at a time (the sounding's row is locked), so the seat count
    and the one-booking-per-company rule hold for companies booking at the same moment; the
    (slot, seat) and (sounding, company) unique constraints stand behind them.
    """
    if slot.sounding_id != sounding.id:
        raise FieldError("slot_id", _l("この枠は選べません。"))
    if not (user.is_company and solution.organisation_id == user.organisation_id):
        raise FieldError("solution_id", _l("自社のソリューションを選んでください。"))
    conflicts.lock(sounding)
    if not sounding.accepts_entries(local_today()):
        raise FieldError(FORM, _l("エントリーの締切（%(deadline)s）を過ぎているため、予約できません。",
                                  deadline=format_era_date(sounding.entry_deadline)))
    if db.session.scalar(select(SoundingBooking.id).where(
            SoundingBooking.sounding_id == sounding.id,
            SoundingBooking.organisation_id == user.organisation_id)) is not None:
        raise conflicts.refusal("uq_sounding_booking_company")
    free = sorted(set(range(1, slot.capacity + 1)) - _seats_taken(slot))
    if not free:
        raise conflicts.refusal("uq_sounding_booking_seat")
    match, _created = match_service.open_match(sounding.challenge, solution, user, "sounding")
    if match.stage not in (M.RECOMMENDED.value, M.PROPOSAL.value, M.SOUNDING.value):
        raise FieldError(FORM, _l("この組み合わせは既に実証・導入・終了の段階にあるため、予約できません。"))
    with conflicts.savepoint():  # built inside: a refused booking leaves nothing in sounding.bookings
        booking = SoundingBooking(sounding=sounding, slot=slot, seat=free[0], organisation_id=user.organisation_id,
                                  match=match, booked_by_id=user.id, created_at=match_service.now_utc())
        db.session.add(booking)
        db.session.flush()
    audit.record(user, "sounding.booked", booking, sounding_id=sounding.id, slot_id=slot.id)
    if match.stage != M.SOUNDING.value:
        match_service.advance(match, M.SOUNDING.value, user, _("サウンディングの枠を予約"), quiet=True)
    else:
        match_service.record_event(match, user, "sounding.booked", sounding.title)
    notify.notify(notify.owners_of(sounding.challenge), "sounding.booked",
                  _("「%(title)s」のサウンディングに予約が入りました", title=sounding.challenge.title),
                  solution.organisation.name, booking_url(booking))
    return booking


def slot_label(slot: SoundingSlot) -> str:
    start, end = local_time(slot.starts_at), local_time(slot.ends_at)
    return f"{format_era_date(start.date())} {start:%H:%M}〜{end:%H:%M}"


def booking_url(booking: SoundingBooking) -> str:
    return url_for("matches.booking", booking_id=booking.id)


def add_note(booking: SoundingBooking, user: User, body: str) -> DialogueNote:
    if not booking.can_view(user):
        raise match_service.MoveRefused(_("この対話には記録を追加できません。"))
    body = (body or "").strip()
    if not body:
        raise FieldError("body", _l("内容を入力してください。"))
    note = DialogueNote(booking=booking, author_id=user.id, body=body, created_at=match_service.now_utc())
    db.session.add(note)
    db.session.flush()
    audit.record(user, "sounding.note_added", booking, note_id=note.id)
    match_service.record_event(booking.match, user, "sounding.note", None)
    company_side = user.is_company
    recipients = notify.owners_of(booking.sounding.challenge) if company_side else notify.company_of(booking.match)
    notify.notify(recipients, "sounding.note", _("個別対話に記録が追加されました"), "", booking_url(booking))
    return note


def publish_results(sounding: Sounding, user: User, summary: str) -> None:
    """The 実施結果概要, published on the challenge page to everyone."""
    if not sounding.can_manage(user):
        raise match_service.MoveRefused(_("結果は公表できません。"))
    summary = (summary or "").strip()
    if not summary:
        raise FieldError("summary", _l("概要を入力してください。"))
    first = sounding.results_published_at is None
    sounding.results_summary = summary
    sounding.results_published_at = match_service.now_utc()
    db.session.flush()
    audit.record(user, "sounding.results_published" if first else "sounding.results_changed", sounding)
    participants = {b.organisation_id for b in sounding.bookings}
    notify.notify(notify.companies(participants), "sounding.results",
                  _("「%(title)s」のサウンディング実施結果が公表されました", title=sounding.challenge.title), "",
                  url_for("public.challenge", challenge_id=sounding.challenge_id, _anchor="sounding-results"))


def draft_results(sounding: Sounding) -> str:
    """A first draft of the 実施結果概要 from the dialogue records: the participants as 事業者A, B, …
    (in the order of their slots) and what each dialogue recorded, the passages marked 非公開 left out
    (``disclosure.released``). Staff edit it before publishing; nothing here is published by itself."""
    bookings = sorted(sounding.bookings, key=lambda b: (b.slot.starts_at, b.seat, b.id))
    lines = [_("「%(title)s」のサウンディングを%(start)s〜%(end)sに実施し、%(n)d者と個別対話を行いました。",
               title=sounding.title, start=format_era_date(sounding.starts_on), end=format_era_date(sounding.ends_on),
               n=len(bookings)), "", _("■ 対話で出された主な意見・提案")]
    letters = {b.id: _("事業者%(letter)s", letter=_letter(n)) for n, b in enumerate(bookings)}
    # A note may name a participant ("株式会社…からは"): the draft names it by its letter there too,
    # longest names first so that one name inside another is not half replaced.
    names = sorted(((b.organisation.name, letters[b.id]) for b in bookings if b.organisation.name),
                   key=lambda pair: len(pair[0]), reverse=True)
    for booking in bookings:
        said = [" ".join(_anonymised(disclosure.released(note.body), names).split()) for note in booking.notes]
        said = [text for text in said if text]
        lines.append(f"・{letters[booking.id]}：{' '.join(said) if said else _('（対話の記録なし）')}")
    lines += ["", _("■ 今後の進め方"), _("（記入してください）")]
    return "\n".join(lines)


def _anonymised(text: str, names: list[tuple[str, str]]) -> str:
    for name, letter in names:
        text = text.replace(name, letter)
    return text


def _letter(n: int) -> str:
    """A, B, …, Z, AA, AB, … (spreadsheet-style: never runs out)."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def soundings_of(challenge: Challenge) -> list[Sounding]:
    return list(db.session.scalars(
        select(Sounding).where(Sounding.challenge_id == challenge.id).order_by(Sounding.starts_on.desc(), Sounding.id)
    ))


def published_results(challenge: Challenge) -> list[Sounding]:
    return [s for s in soundings_of(challenge) if s.results_published_at is not None]
