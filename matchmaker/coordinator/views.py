"""Coordinator pages: the review queue where challenge drafts are brushed up and published."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from matchmaker.coordinator import bp
from matchmaker.municipality.forms import ReviewCommentForm
from matchmaker.municipality.views import acting_user, apply_move, clarity_response, edit_page
from matchmaker.public.presenters import challenge_actions, challenge_sections
from matchmaker.services import challenges as challenge_service
from matchmaker.services import clarity, todo
from matchmaker.services.errors import FieldError, put_on_form
from models import Challenge, db
from models.codes import ChallengeStatus

S = ChallengeStatus
RECENT_PUBLISHED = 10


@bp.route("/")
def dashboard() -> str:
    today = challenge_service.local_today()
    queue = db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation))
        .where(Challenge.status == S.IN_REVIEW.value).order_by(Challenge.updated_at, Challenge.id)
    ).all()
    reports = {item.id: clarity.check(clarity.values_of(item), today) for item in queue}
    recent = db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation))
        .where(Challenge.status == S.PUBLISHED.value)
        .order_by(Challenge.published_at.desc(), Challenge.id.desc()).limit(RECENT_PUBLISHED)
    ).all()
    counts: dict[str, int] = {
        status: n for status, n in db.session.execute(
            select(Challenge.status, func.count(Challenge.id)).group_by(Challenge.status)
        ).tuples()
    }
    return render_template("coordinator/dashboard.html", queue=queue, reports=reports, recent=recent,
                           counts={status.value: counts.get(status.value, 0) for status in S},
                           todo_items=todo.for_coordinators())


def _load(challenge_id: int) -> Challenge:
    return db.get_or_404(Challenge, challenge_id)


@bp.route("/challenges/<int:challenge_id>/review", methods=["GET", "POST"])
def review(challenge_id: int) -> str | Response:
    item = _load(challenge_id)
    form = ReviewCommentForm(data={"comment": item.review_comment or ""})
    if form.validate_on_submit():
        try:
            challenge_service.save_review_comment(item, actor=acting_user(), text=form.comment.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("確認コメントを保存しました。自治体の担当者に表示されます。"), "success")
            return redirect(url_for("coordinator.review", challenge_id=item.id))
    report = clarity.check(clarity.values_of(item), challenge_service.local_today())
    return render_template(
        "coordinator/review.html", challenge=item, form=form, report=report,
        sections=challenge_sections(item), kpis=clarity.parse_kpis(item.kpis),
        actions=challenge_actions(item, acting_user()),
    )


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
def edit_challenge(challenge_id: int) -> str | Response:
    item = _load(challenge_id)
    if not item.can_edit(acting_user()):
        abort(403)
    return edit_page(item, action=url_for("coordinator.edit_challenge", challenge_id=item.id),
                     clarity_url=url_for("coordinator.clarity_check"),
                     cancel=url_for("coordinator.review", challenge_id=item.id))


@bp.route("/challenges/clarity", methods=["POST"])
def clarity_check() -> Response:
    return clarity_response()


@bp.route("/challenges/<int:challenge_id>/status", methods=["POST"])
def move_challenge(challenge_id: int) -> Response:
    item = _load(challenge_id)
    return apply_move(item, url_for("coordinator.review", challenge_id=item.id))
