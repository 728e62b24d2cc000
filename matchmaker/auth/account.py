"""The signed-in user's settings: how notification mail arrives, and a municipality's budget
calendar (its milestones where they differ from the national default)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from matchmaker.auth.views import bp
from matchmaker.i18n import fiscal_year_of
from matchmaker.services import fiscal, mail
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from models import Organisation, OutboxMail, db
from models.fiscal import MILESTONE_FIELDS, can_edit_calendar_of

RECENT_MAIL = 5


class NotificationSettingsForm(FlaskForm):
    notification_frequency = RadioField(
        _l("通知メールの受け取り方"), choices=[SelectChoice(code, label) for code, label in mail.FREQUENCIES.items()],
        validators=[DataRequired()],
        description=_l("サイト内のお知らせはいつでも確認できます。まとめて受け取る場合、既にサイトで読んだお知らせはメールに含まれません。"),
    )


class FiscalCalendarForm(FlaskForm):
    pass


for field_name in MILESTONE_FIELDS:
    setattr(FiscalCalendarForm, field_name, StringField(
        fiscal.MILESTONE_LABELS[field_name], validators=[Optional(), Length(max=5)],
        description=_l("「月-日」の形（例：%(example)s）。空欄なら標準の日付（%(default)s）を使います。",
                       example="10-31", default=fiscal.format_month_day(getattr(fiscal.DEFAULT_CALENDAR, field_name))),
    ))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> str | Response:
    form = NotificationSettingsForm(notification_frequency=current_user.notification_frequency)
    if form.validate_on_submit():
        changed = mail.set_frequency(current_user, form.notification_frequency.data or "")
        db.session.commit()
        if changed:
            flash(_("通知メールの受け取り方を「%(choice)s」に変更しました。",
                    choice=mail.FREQUENCIES[current_user.notification_frequency]), "success")
        return redirect(url_for("auth.settings"))
    recent = db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == current_user.id)
                                .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(RECENT_MAIL)).all()
    organisation = current_user.organisation
    calendar_url = (url_for("auth.fiscal_calendar", organisation_id=organisation.id)
                    if organisation is not None and can_edit_calendar_of(organisation, current_user) else None)
    limits_url = (url_for("auth.contract_limits", organisation_id=organisation.id)
                  if organisation is not None and organisation.is_municipality else None)
    return render_template("auth/settings.html", form=form, recent=recent, smtp=mail.smtp_configured(),
                           calendar_url=calendar_url, limits_url=limits_url, **mail.template_helpers())


@bp.route("/organisations/<int:organisation_id>/fiscal-calendar", methods=["GET", "POST"])
@login_required
def fiscal_calendar(organisation_id: int) -> str | Response:
    organisation = db.get_or_404(Organisation, organisation_id)
    if not organisation.is_municipality:
        abort(404)
    if not can_edit_calendar_of(organisation, current_user):
        abort(403)
    stored = fiscal.stored_calendar(organisation.id)
    form = FiscalCalendarForm(data=stored.overrides() if stored is not None else {})
    if form.validate_on_submit():
        try:
            fiscal.save_calendar(current_user, organisation, {name: getattr(form, name).data for name in MILESTONE_FIELDS})
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("「%(name)s」の予算カレンダーを保存しました。", name=organisation.name), "success")
            return redirect(url_for("auth.fiscal_calendar", organisation_id=organisation.id))
    today = local_today()
    year = fiscal_year_of(today)
    calendar = fiscal.calendar_for(organisation.id)
    preview = [(y, fiscal.milestones_of(y, calendar)) for y in (year, year + 1)]
    return render_template("auth/fiscal_calendar.html", form=form, organisation=organisation, preview=preview,
                           labels=fiscal.MILESTONE_LABELS, fields=MILESTONE_FIELDS, today=today)
