"""第三者意見照会 pages: the inquiries of one disclosure version (staff start one there), one inquiry
(the company states its view; staff read it and record the release)."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from matchmaker.matches.views import acting_user
from matchmaker.records import bp
from matchmaker.records.disclosures import subject
from matchmaker.records.inquiry_forms import ReleaseForm, StartInquiryForm, ViewForm
from matchmaker.services import third_party
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from models import DisclosureInquiry, db


@bp.route("/<kind>/<int:ident>/inquiries", methods=["GET", "POST"])
@login_required
def inquiries(kind: str, ident: int) -> str | Response:
    record = subject(kind, ident)  # the record's own loader: 404 for whoever may not know it exists
    if not record.challenge.is_owner_side(current_user):
        abort(403)
    form = StartInquiryForm()
    form.organisation_id.choices = [SelectChoice(c.id, c.name) for c in record.companies]
    if form.validate_on_submit():  # the choice is one of record.companies (the field checks it)
        company = next(c for c in record.companies if c.id == form.organisation_id.data)
        done = _take_step(form, lambda: third_party.start(
            record_kind=kind, record_id=ident, title=record.title, challenge=record.challenge, company=company,
            companies=record.companies, fields=record.document.context["fields"], user=acting_user(),
            deadline=form.deadline.data, request_note=form.request_note.data or "", today=local_today()),
            _("%(company)sに意見照会を送りました。", company=company.name))
        if done is not None:
            return done
    return render_template("records/inquiries.html", record=record, form=form, kind=kind, today=local_today(),
                           rows=third_party.inquiries_of(kind, ident), statuses=third_party.STATUSES,
                           default_deadline=local_today() + third_party.DEFAULT_PERIOD)


def _load(inquiry_id: int) -> DisclosureInquiry:
    item = db.get_or_404(DisclosureInquiry, inquiry_id)
    if not item.can_view(current_user):
        abort(404)
    return item


def _page(item: DisclosureInquiry, view_form: ViewForm | None = None, release_form: ReleaseForm | None = None) -> str:
    if view_form is None and item.is_company_of(current_user) and item.released_at is None:
        view_form = ViewForm(view=item.company_view, reason=item.view_reason)
    if release_form is None and item.handled_by(current_user) and item.released_at is None:
        release_form = ReleaseForm()
    return render_template("records/inquiry.html", inquiry=item, view_form=view_form, release_form=release_form,
                           today=local_today(), statuses=third_party.STATUSES, views=third_party.VIEWS,
                           record_url=url_for("records.record", kind=item.record_kind, ident=item.record_id))


def _take_step(form: FlaskForm, step: Callable[[], DisclosureInquiry], done: str) -> Response | None:
    """One step of the service on an inquiry: the redirect to the inquiry when done, None (the
    refusal put on the form) when the service refused it, 403 when the user may not take it."""
    try:
        inquiry = step()
    except FieldError as error:
        db.session.rollback()
        put_on_form(form, error)
        return None
    except third_party.Refused:
        abort(403)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("records.inquiry", inquiry_id=inquiry.id))


@bp.route("/inquiries/<int:inquiry_id>", methods=["GET", "POST"])
@login_required
def inquiry(inquiry_id: int) -> str | Response:
    """The company's page: what is to be disclosed and its view; staff read the same page."""
    item = _load(inquiry_id)
    form = ViewForm()
    if form.is_submitted():
        if not item.is_company_of(current_user):
            abort(403)
        if form.validate():
            done = _take_step(form, lambda: third_party.state_view(
                item, acting_user(), form.view.data or "", form.reason.data or ""),
                _("意見を送りました。自治体の担当者に通知されます。"))
            if done is not None:
                return done
        return _page(item, view_form=form)
    return _page(item)


@bp.post("/inquiries/<int:inquiry_id>/release")
@login_required
def release_inquiry(inquiry_id: int) -> str | Response:
    item = _load(inquiry_id)
    if not item.handled_by(current_user):
        abort(403)
    form = ReleaseForm()
    if form.validate_on_submit():
        done = _take_step(form, lambda: third_party.release(item, acting_user(), form.note.data or "", local_today()),
                          _("開示を記録しました。事業者に通知されます。"))
        if done is not None:
            return done
    return _page(item, release_form=form)
