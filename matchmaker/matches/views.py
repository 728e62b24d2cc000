"""The co-creation pipeline: the match page and its moves (close, adopt), acting on a
recommendation, my matches and notifications.

Other pages of the pipeline live beside this module and register on the same blueprint:
proposal_views (proposals, attachments), qa_views, sounding_views, pilot_views, case_views.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from matchmaker.args import number
from matchmaker.auth import viewable_or_404
from matchmaker.matches import bp
from matchmaker.matches.forms import ActForm, AdoptForm, CloseForm, UpdateForm
from matchmaker.matches.timeline import dashboard_groups, my_matches, timeline
from matchmaker.services import conflicts, notify, pilots, procurement, proposals, selection
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from matchmaker.transactions import writes
from models import (
    Challenge,
    Match,
    Notification,
    Proposal,
    Solution,
    SoundingBooking,
    User,
    db,
)
from models.match import STAGE_LABELS, MatchStage

M = MatchStage


def acting_user() -> User:
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


def load_match(match_id: int) -> Match:
    """The match, or 404 for anyone who is not a party to it (its existence is not revealed).

    A form post holds the match's row until it commits, so that two sessions changing the same
    match (closing it, planning its pilot) act one after the other, the second on what the first did.
    """
    item = viewable_or_404(Match, match_id)
    if request.method == "POST":
        conflicts.lock(item)
    return item


def already_moved_on(item: Match, done: bool, message: str) -> Response | None:
    """A form post by a party whose colleague did the same a moment ago: back to the match, saying so."""
    if not (request.method == "POST" and done and item.actor_roles(current_user)):
        return None
    flash(message, "info")
    return redirect(url_for("matches.match", match_id=item.id))


@bp.app_template_global("unread_notifications")
def unread_notifications() -> int:
    if not getattr(current_user, "is_authenticated", False):
        return 0
    return notify.unread_count(current_user)


# --- acting on a recommendation ------------------------------------------------------------


@bp.route("/act", methods=["POST"])
@login_required
def act() -> Response:
    """「この課題に関心あり」(company) / 「この企業に声をかける」(municipality, coordinator)."""
    form = ActForm()
    if not form.validate_on_submit():
        abort(400)
    challenge = db.get_or_404(Challenge, form.challenge_id.data)
    solution = db.get_or_404(Solution, form.solution_id.data)
    if not challenge.can_view(current_user) or not solution.can_view(current_user):
        abort(404)
    features = {"rank": form.rank.data, "score": form.score.data, "direction": form.direction.data,
                "ranker": form.features.data}
    try:
        if current_user.is_company:
            match, created = match_service.express_interest(challenge, solution, acting_user(), features)
            message = _("関心を表明しました。自治体に通知されます。")
        elif current_user.is_municipal or current_user.is_staff:
            match, created = match_service.invite_company(challenge, solution, acting_user(), features)
            message = _("企業に声をかけました。企業に通知されます。")
        else:
            abort(403)
    except match_service.MoveRefused:
        db.session.rollback()
        abort(403)
    db.session.commit()
    flash(message if created else _("この組み合わせは既にやり取りが始まっています。"), "success" if created else "info")
    return redirect(url_for("matches.match", match_id=match.id))


# --- my matches ----------------------------------------------------------------------------


@bp.route("/mine")
@login_required
def mine() -> str | Response:
    if current_user.is_staff:
        return redirect(url_for("coordinator.dashboard"))
    matches = my_matches(current_user)
    groups = dashboard_groups(matches, current_user.organisation_id)
    my_proposals = (proposals.proposals_of_company(current_user.organisation_id) if current_user.is_company else [])
    return render_template("matches/mine.html", groups=groups, total=len(matches), proposals=my_proposals,
                           today=local_today())


# --- the match page ------------------------------------------------------------------------


@bp.route("/<int:match_id>")
@login_required
def match(match_id: int) -> str:
    item = load_match(match_id)
    user = current_user
    roles = item.actor_roles(user)
    open_proposals = match_service.open_proposals_of(item)
    bookings = list(db.session.scalars(select(SoundingBooking).where(SoundingBooking.match_id == item.id)))
    can_propose = ("company" in roles and item.stage in proposals.PROPOSABLE_STAGES and not open_proposals
                   and item.challenge.accepts_proposals(local_today()))
    return render_template(
        "matches/match.html", match=item, roles=roles, items=timeline(item, user),
        proposals=db.session.scalars(select(Proposal).where(Proposal.match_id == item.id)
                                     .order_by(Proposal.submitted_at)).all(),
        bookings=[b for b in bookings if b.can_view(user)], can_propose=can_propose,
        can_close=item.can_advance(user, M.CLOSED.value), can_adopt=item.can_advance(user, M.ADOPTED.value),
        can_plan=pilots.can_plan(item, user), can_update=pilots.can_update(item, user),
        can_manage_pilot=pilots.can_manage(item, user), close_form=CloseForm(), update_form=UpdateForm(),
        is_case=match_service.is_case(item), money=None if user.is_company else procurement.money_check_of(item),
        route_options=procurement.ROUTE_OPTIONS, can_budget_pack=pilots.can_view_budget_pack(item, user),
        selection_pack=selection.visible_record(item.challenge, user),
    )


@bp.route("/<int:match_id>/close", methods=["GET", "POST"])
@login_required
def close(match_id: int) -> str | Response:
    item = load_match(match_id)
    moved_on = already_moved_on(item, item.is_final, _("このマッチは既に「%(stage)s」になっています。",
                                                       stage=STAGE_LABELS[item.stage]))
    if moved_on is not None:
        return moved_on
    if not item.can_advance(current_user, M.CLOSED.value):
        abort(403)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            match_service.close(item, acting_user(), form.reason.data or "", form.note.data)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("このマッチを終了しました。"), "success")
            return redirect(url_for("matches.match", match_id=item.id))
    return render_template("matches/close.html", match=item, form=form)


@bp.route("/<int:match_id>/adopt", methods=["GET", "POST"])
@login_required
def adopt(match_id: int) -> str | Response:
    item = load_match(match_id)
    moved_on = already_moved_on(item, item.is_final, _("このマッチは既に「%(stage)s」になっています。",
                                                       stage=STAGE_LABELS[item.stage]))
    if moved_on is not None:
        return moved_on
    if not item.can_advance(current_user, M.ADOPTED.value):
        abort(403)
    form = AdoptForm(today=local_today())
    if request.method == "GET" and item.challenge.fiscal_year:
        form.fiscal_year.data = item.challenge.fiscal_year
    if request.method == "GET" and item.contract_kind:
        form.contract_kind.data = item.contract_kind  # recorded with the pilot's budget request
    if form.validate_on_submit():
        try:
            match_service.adopt(item, acting_user(), fiscal_year=int(form.fiscal_year.data),
                                route=form.procurement_route.data or "", amount=int(form.amount.data or 0),
                                adopted_on=form.adopted_on.data, note=form.note.data,
                                contract_kind=form.contract_kind.data or "other",
                                negotiated_ground=form.negotiated_ground.data or None)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("導入を記録しました。事例集に掲載されます。"), "success")
            return redirect(url_for("matches.match", match_id=item.id))
    organisation = item.challenge.organisation
    return render_template("matches/adopt.html", match=item, form=form,
                           limits=procurement.limits_for(organisation), route_options=procurement.ROUTE_OPTIONS,
                           limits_url=url_for("auth.contract_limits", organisation_id=organisation.id))


# --- notifications -------------------------------------------------------------------------


@bp.route("/notifications")
@login_required
def notifications() -> str:
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(200)
    ).all()
    return render_template("matches/notifications.html", rows=rows, unread=sum(1 for r in rows if not r.is_read))


@bp.route("/notifications/<int:notification_id>")
@login_required
@writes()  # marks it read
def open_notification(notification_id: int) -> Response:
    row = db.get_or_404(Notification, notification_id)
    if row.user_id != current_user.id:
        abort(404)
    notify.mark_read(acting_user(), [row.id])
    db.session.commit()
    target = row.url if row.url and row.url.startswith("/") and not row.url.startswith("//") else None
    return redirect(target or url_for("matches.notifications"))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_notifications_read() -> Response:
    ids: Any = [i for raw in request.form.getlist("id") if (i := number(raw))] or None
    count = notify.mark_read(acting_user(), ids)
    db.session.commit()
    flash(_("%(n)d件を既読にしました。", n=count), "success")
    return redirect(url_for("matches.notifications"))


from matchmaker.matches import (  # noqa: F401  (registers the other pipeline pages)
    case_views,
    pilot_views,
    proposal_views,
    qa_views,
    sounding_views,
)
