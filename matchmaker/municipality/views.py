"""Municipal staff: write challenges, check their clarity, send them to review, publish and close."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from matchmaker.args import number
from matchmaker.auth import MUNICIPAL_ROLES, require_roles, viewable_or_404
from matchmaker.municipality.forms import (
    ChallengeForm,
    CriterionForm,
    MoveForm,
    ScoreSheetForm,
    SelectionForm,
)
from matchmaker.services import challenges as challenge_service
from matchmaker.services import clarity, evaluation, selection, todo
from matchmaker.services.errors import FieldError, put_on_form
from models import Challenge, Proposal, User, db
from models.codes import ChallengeStatus

bp = Blueprint("municipality", __name__)
bp.before_request(require_roles(*MUNICIPAL_ROLES))

S = ChallengeStatus
STATUS_ORDER = (S.DRAFT.value, S.IN_REVIEW.value, S.PUBLISHED.value, S.CLOSED.value)


def acting_user() -> User:
    """The logged-in user behind the proxy: services store it on rows and audit events."""
    user: User = current_user._get_current_object()  # type: ignore[attr-defined]
    return user


@dataclass(frozen=True)
class DashboardRow:
    challenge: Challenge
    score: int | None
    blockers: int


@dataclass(frozen=True)
class StatusGroup:
    status: str
    rows: list[DashboardRow]


@bp.route("/")
def dashboard() -> str:
    items = challenge_service.challenges_of(current_user.organisation_id)
    today = challenge_service.local_today()
    groups = []
    for status in STATUS_ORDER:
        rows = []
        for item in items:
            if item.status != status:
                continue
            report = clarity.check(clarity.values_of(item), today) if status in (S.DRAFT.value, S.IN_REVIEW.value) else None
            rows.append(DashboardRow(item, report.score if report else None, len(report.blockers) if report else 0))
        groups.append(StatusGroup(status, rows))
    return render_template("municipality/dashboard.html", groups=groups, total=len(items),
                           coordinators_exist=challenge_service.coordinators_exist(),
                           todo_items=todo.for_municipality(current_user.organisation_id, today))


@bp.route("/challenges/new", methods=["GET", "POST"])
def new_challenge() -> str | Response:
    today = challenge_service.local_today()
    form = ChallengeForm(today=today)
    if form.validate_on_submit():
        try:
            item = challenge_service.create_challenge(
                organisation=current_user.organisation, author=acting_user(), values=form.values()
            )
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("課題を下書きとして保存しました。右側のチェックを見ながら仕上げてください。"), "success")
            return redirect(url_for("municipality.edit_challenge", challenge_id=item.id))
    return render_challenge_form(
        form, challenge=None, action=url_for("municipality.new_challenge"),
        clarity_url=url_for("municipality.clarity_check"), cancel=url_for("municipality.dashboard"),
    )


def load_editable(challenge_id: int, user: User | None = None) -> Challenge:
    """The challenge, or 404 if the user (the current one unless given) may not see it, or 403 if
    they may see but not edit it."""
    item = viewable_or_404(Challenge, challenge_id, user)
    if not item.can_edit(current_user if user is None else user):
        abort(403)
    return item


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
def edit_challenge(challenge_id: int) -> str | Response:
    item = load_editable(challenge_id)
    return edit_page(item, action=url_for("municipality.edit_challenge", challenge_id=item.id),
                     clarity_url=url_for("municipality.clarity_check"),
                     cancel=url_for("public.challenge", challenge_id=item.id))


def edit_page(item: Challenge, *, action: str, clarity_url: str, cancel: str) -> str | Response:
    """The edit form for ``item`` (shared with the coordinator's brush-up page)."""
    form = ChallengeForm(obj=item, today=challenge_service.local_today())
    if form.validate_on_submit():
        try:
            changed = challenge_service.update_challenge(item, actor=acting_user(), values=form.values())
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("保存しました。") if changed else _("変更はありませんでした。"), "success")
            return redirect(action)
    return render_challenge_form(form, challenge=item, action=action, clarity_url=clarity_url, cancel=cancel)


def render_challenge_form(form: ChallengeForm, *, challenge: Challenge | None, action: str,
                          clarity_url: str, cancel: str) -> str:
    report = clarity.check(form.values(), challenge_service.local_today())
    return render_template("municipality/challenge_form.html", form=form, challenge=challenge, report=report,
                           action=action, clarity_url=clarity_url, cancel=cancel)


def clarity_response() -> Response:
    """The clarity check of the posted (unsaved) form, as JSON for the live panel."""
    form = ChallengeForm(meta={"csrf": False}, today=challenge_service.local_today())
    report = clarity.check(form.values(), challenge_service.local_today())
    return jsonify(report.as_dict())


@bp.route("/challenges/clarity", methods=["POST"])
def clarity_check() -> Response:
    return clarity_response()


@bp.route("/challenges/<int:challenge_id>/status", methods=["POST"])
def move_challenge(challenge_id: int) -> Response:
    item = viewable_or_404(Challenge, challenge_id)
    return apply_move(item, url_for("public.challenge", challenge_id=item.id))


def apply_move(item: Challenge, back: str) -> Response:
    """Validate the move form, ask the model, call the service, commit, flash, redirect."""
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    to = form.to.data or ""
    if to not in STATUS_ORDER:
        abort(400)
    have_coordinators = challenge_service.coordinators_exist()
    if not item.can_move(current_user, to, coordinators_exist=have_coordinators):
        abort(403)
    try:
        challenge_service.move(item, to, actor=acting_user(), reason=form.reason.data)
    except challenge_service.TransitionRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
        for problem in refused.problems:
            flash(problem, "warning")
        return redirect(back)
    db.session.commit()
    flash(_moved_message(to), "success")
    return redirect(back)


def _moved_message(to: str) -> str:
    return {
        S.IN_REVIEW.value: _("コーディネーターに確認を依頼しました。"),
        S.DRAFT.value: _("下書きに戻しました。"),
        S.PUBLISHED.value: _("課題を公開しました。"),
        S.CLOSED.value: _("課題の募集を終了しました。"),
    }.get(to) or _("状態を変更しました。")


def load_evaluable(challenge_id: int) -> Challenge:
    """The challenge, or 404 unless the user is staff of its own municipality (評価者)."""
    item = viewable_or_404(Challenge, challenge_id)
    if not evaluation.can_evaluate(item, current_user):
        abort(404)
    return item


@bp.route("/challenges/<int:challenge_id>/evaluation")
def evaluation_sheet(challenge_id: int) -> str:
    item = load_evaluable(challenge_id)
    return render_evaluation(item, CriterionForm())


def selection_form(proposals: list[Proposal]) -> SelectionForm:
    """The choices are the proposals not withdrawn (``validate_choice`` refuses any other id)."""
    form = SelectionForm()
    form.proposal_id.choices = [("", "—")] + [(str(p.id), f"{p.organisation.name}：{p.title}") for p in proposals]
    return form


def render_evaluation(item: Challenge, form: CriterionForm, select_form: SelectionForm | None = None) -> str:
    criteria, rows = evaluation.sheet(item)
    return render_template("municipality/evaluation.html", challenge=item, form=form, criteria=criteria, rows=rows,
                           mine=evaluation.my_scores(item, acting_user()), score_form=ScoreSheetForm(),
                           total_weight=sum(c.weight for c in criteria), pack=selection.record_of(item),
                           select_form=select_form or selection_form([r.proposal for r in rows]))


@bp.route("/challenges/<int:challenge_id>/evaluation/select", methods=["POST"])
def select_proposal(challenge_id: int) -> str | Response:
    """Select one proposal with the reason: the challenge's selection evidence pack freezes."""
    item = load_evaluable(challenge_id)
    proposals = evaluation.proposals_of(item)
    form = selection_form(proposals)
    if form.validate_on_submit():
        proposal = next(p for p in proposals if str(p.id) == form.proposal_id.data)
        try:
            selection.select_proposal(proposal, acting_user(), form.reason.data or "")
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("提案を選定し、選定の記録を確定しました。"), "success")
            return redirect(url_for("records.record", kind="selection", ident=item.id))
    return render_evaluation(item, CriterionForm(formdata=None), form)


@bp.route("/challenges/<int:challenge_id>/evaluation/criteria", methods=["POST"])
def add_criterion(challenge_id: int) -> str | Response:
    item = load_evaluable(challenge_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            evaluation.add_criterion(item, acting_user(), form.name.data or "", int(form.weight.data or 0))
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("評価項目を追加しました。"), "success")
            return redirect(url_for("municipality.evaluation_sheet", challenge_id=item.id))
    return render_evaluation(item, form)


@bp.route("/challenges/<int:challenge_id>/evaluation/scores", methods=["POST"])
def score_proposal(challenge_id: int) -> Response:
    item = load_evaluable(challenge_id)
    back = url_for("municipality.evaluation_sheet", challenge_id=item.id)
    if not ScoreSheetForm().validate_on_submit():
        abort(400)
    proposal = db.session.get(Proposal, number(request.form.get("proposal_id")) or 0)
    if proposal is None or proposal.challenge_id != item.id:
        flash(_("採点する提案が見つかりません。"), "error")
        return redirect(back)
    try:
        for criterion in evaluation.criteria_of(item):
            value = request.form.get(f"score-{criterion.id}", type=int)
            if value is not None:
                evaluation.set_score(proposal, criterion, acting_user(), value)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    flash(_("採点を保存しました。"), "success")
    return redirect(back)
