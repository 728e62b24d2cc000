"""Sounding pages: open a sounding, add slots, book a slot, the private dialogue, the results."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from matchmaker.auth import viewable_or_404
from matchmaker.matches import bp
from matchmaker.matches.forms import BookingForm, NoteForm, ResultsForm, SlotForm, SoundingForm
from matchmaker.matches.views import acting_user
from matchmaker.services import matches as match_service
from matchmaker.services import sounding as sounding_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from models import Challenge, Solution, Sounding, SoundingBooking, SoundingSlot, db


def _load(sounding_id: int) -> Sounding:
    sounding = db.get_or_404(Sounding, sounding_id)
    if not sounding.challenge.can_view(current_user):
        abort(404)
    return sounding


def _booking_form(sounding: Sounding) -> BookingForm:
    form = BookingForm(prefix="book")
    form.slot_id.choices = [SelectChoice(slot.id, sounding_service.slot_label(slot)) for slot in sounding.slots
                            if not slot.is_full]
    form.solution_id.choices = [SelectChoice(s.id, s.title) for s in db.session.scalars(
        select(Solution).where(Solution.organisation_id == current_user.organisation_id, Solution.active.is_(True))
        .order_by(Solution.id))]
    return form


@bp.route("/challenges/<int:challenge_id>/soundings/new", methods=["GET", "POST"])
@login_required
def new_sounding(challenge_id: int) -> str | Response:
    challenge = viewable_or_404(Challenge, challenge_id)
    if not challenge.is_owner_side(current_user):
        abort(403)
    form = SoundingForm()
    if form.validate_on_submit():
        try:
            sounding = sounding_service.open_sounding(challenge, acting_user(), {
                "title": form.title.data, "description": form.description.data, "starts_on": form.starts_on.data,
                "ends_on": form.ends_on.data, "entry_deadline": form.entry_deadline.data})
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("サウンディングを開きました。対話の枠を追加してください。"), "success")
            return redirect(url_for("matches.sounding", sounding_id=sounding.id))
    return render_template("matches/sounding_form.html", challenge=challenge, form=form)


@bp.route("/soundings/<int:sounding_id>")
@login_required
def sounding(sounding_id: int) -> str:
    item = _load(sounding_id)
    manage = item.can_manage(current_user)
    own = item.booking_of(current_user.organisation_id) if current_user.is_company else None
    can_book = bool(current_user.is_company and own is None and item.accepts_entries(local_today()))
    return render_template(
        "matches/sounding.html", sounding=item, manage=manage, own_booking=own,
        booking_form=_booking_form(item) if can_book else None,
        slot_form=SlotForm(prefix="slot") if manage else None, today=local_today(),
    )


@bp.route("/soundings/<int:sounding_id>/slots", methods=["POST"])
@login_required
def add_slot(sounding_id: int) -> str | Response:
    item = _load(sounding_id)
    if not item.can_manage(current_user):
        abort(403)
    form = SlotForm(prefix="slot")
    if form.validate_on_submit():
        try:
            sounding_service.add_slot(item, acting_user(), day=form.day.data, start=form.start.data,  # type: ignore[arg-type]
                                      end=form.end.data, place=form.place.data or "",  # type: ignore[arg-type]
                                      capacity=form.capacity.data or 1)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("枠を追加しました。"), "success")
            return redirect(url_for("matches.sounding", sounding_id=item.id))
    return render_template("matches/sounding.html", sounding=item, manage=True, own_booking=None,
                           booking_form=None, slot_form=form, today=local_today())


@bp.route("/soundings/<int:sounding_id>/book", methods=["POST"])
@login_required
def book_slot(sounding_id: int) -> str | Response:
    item = _load(sounding_id)
    if not current_user.is_company:
        abort(403)
    form = _booking_form(item)
    form.slot_id.choices = [SelectChoice(slot.id, sounding_service.slot_label(slot)) for slot in item.slots]  # full: the service says so
    if form.validate_on_submit():
        slot = db.session.get(SoundingSlot, form.slot_id.data)
        solution = db.session.get(Solution, form.solution_id.data)
        if slot is None or solution is None:
            abort(400)
        try:
            booking = sounding_service.book(item, slot, solution, acting_user())
            db.session.commit()
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            flash(_("枠を予約しました。対話の記録はこのページから追加できます。"), "success")
            return redirect(url_for("matches.booking", booking_id=booking.id))
    own = item.booking_of(current_user.organisation_id)
    return render_template("matches/sounding.html", sounding=item, manage=False, own_booking=own,
                           booking_form=form, slot_form=None, today=local_today())


@bp.route("/bookings/<int:booking_id>", methods=["GET", "POST"])
@login_required
def booking(booking_id: int) -> str | Response:
    """The private one-to-one dialogue: the company, the owning municipality and coordinators only."""
    item = viewable_or_404(SoundingBooking, booking_id)
    form = NoteForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            sounding_service.add_note(item, acting_user(), form.body.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        except match_service.MoveRefused:
            db.session.rollback()
            abort(403)
        else:
            db.session.commit()
            flash(_("記録を追加しました。"), "success")
            return redirect(url_for("matches.booking", booking_id=item.id))
    return render_template("matches/booking.html", booking=item, form=form,
                           owner_side=item.sounding.challenge.is_owner_side(current_user))


@bp.route("/soundings/<int:sounding_id>/results", methods=["GET", "POST"])
@login_required
def sounding_results(sounding_id: int) -> str | Response:
    item = _load(sounding_id)
    if not item.can_manage(current_user):
        abort(403)
    drafted = request.method == "GET" and request.args.get("draft") == "1"
    form = ResultsForm(summary=sounding_service.draft_results(item) if drafted else item.results_summary)
    if form.validate_on_submit():
        try:
            sounding_service.publish_results(item, acting_user(), form.summary.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("実施結果概要を公表しました。課題のページに表示されます。"), "success")
            return redirect(url_for("public.challenge", challenge_id=item.challenge_id, _anchor="sounding-results"))
    return render_template("matches/sounding_results.html", sounding=item, form=form, drafted=drafted)
