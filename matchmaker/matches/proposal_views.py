"""Proposals: the proposal form, the proposal page, the municipality's list and decisions, and
audited attachment downloads."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from matchmaker.auth import viewable_or_404
from matchmaker.matches import bp
from matchmaker.matches.forms import DecisionForm, ProposalForm
from matchmaker.matches.views import acting_user
from matchmaker.security import DOWNLOAD_CONTENT_SECURITY_POLICY
from matchmaker.services import attachments, conflicts, evaluation
from matchmaker.services import matches as match_service
from matchmaker.services import proposals as proposal_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError, put_on_form
from matchmaker.transactions import writes
from models import Challenge, Proposal, ProposalAttachment, Solution, db
from models.proposal import PROPOSAL_STATUSES


def _published_challenge(challenge_id: int) -> Challenge:
    return viewable_or_404(Challenge, challenge_id)


def _own_solutions() -> list[Solution]:
    return list(db.session.scalars(
        select(Solution).where(Solution.organisation_id == current_user.organisation_id, Solution.active.is_(True))
        .order_by(Solution.id)
    ))


@bp.route("/challenges/<int:challenge_id>/propose", methods=["GET", "POST"])
@login_required
def propose(challenge_id: int) -> str | Response:
    challenge = _published_challenge(challenge_id)
    if not current_user.is_company:
        abort(403)
    solutions = _own_solutions()
    form = ProposalForm()
    form.solution_id.choices = [SelectChoice(s.id, s.title) for s in solutions]
    refusal = None
    try:
        proposal_service.check_can_propose(challenge, current_user.organisation_id)
    except FieldError as error:
        refusal = error.message
    if refusal is None and solutions and form.validate_on_submit():
        solution = next(s for s in solutions if s.id == form.solution_id.data)
        uploads = [attachments.Upload(f.filename or "", f.stream) for f in (form.attachments.data or ())
                   if getattr(f, "filename", "")]
        try:
            proposal = proposal_service.submit(challenge, solution, acting_user(), {
                "title": form.title.data, "approach": form.approach.data, "schedule": form.schedule.data,
                "cost_estimate": form.cost_estimate.data,
                "needs_from_municipality": form.needs_from_municipality.data,
            }, uploads)
        except FieldError as error:
            db.session.rollback()
            put_on_form(form, error)
        else:
            db.session.commit()
            flash(_("提案を提出しました。自治体に通知されます。"), "success")
            return redirect(url_for("matches.proposal", proposal_id=proposal.id))
    return render_template("matches/proposal_form.html", challenge=challenge, form=form, refusal=refusal,
                           solutions=solutions, max_mb=attachments.max_bytes() // (1024 * 1024))


def _load(proposal_id: int) -> Proposal:
    return viewable_or_404(Proposal, proposal_id)


@bp.route("/proposals/<int:proposal_id>")
@login_required
def proposal(proposal_id: int) -> str:
    item = _load(proposal_id)
    return render_template("matches/proposal.html", proposal=item, form=DecisionForm(),
                           can_decide=proposal_service._decidable(item, current_user),
                           can_withdraw=item.can_withdraw(current_user))


def _decide(proposal_id: int, action: str) -> Response:
    item = _load(proposal_id)
    conflicts.lock(item.match)  # the match first, as every change of a match does: no deadlock
    conflicts.lock(item)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if not item.is_open and item.can_view(current_user):  # a colleague decided a moment ago
        flash(_("この提案は既に「%(status)s」になっています。", status=PROPOSAL_STATUSES[item.status]), "info")
        return redirect(url_for("matches.proposal", proposal_id=item.id))
    try:
        if action == "withdraw":
            proposal_service.withdraw(item, acting_user(), form.reason.data)
            message = _("提案を取り下げました。締切までは改めて提案できます。")
        elif action == "shortlist":
            proposal_service.shortlist(item, acting_user())
            message = _("提案を候補に選びました。")
        elif action == "decline":
            proposal_service.decline(item, acting_user(), form.reason.data or "")
            message = _("提案を見送りにしました。理由は企業に伝えられます。")
        else:
            proposal_service.invite_to_sounding(item, acting_user(), form.reason.data)
            message = _("サウンディングに招待しました。")
    except match_service.MoveRefused:
        db.session.rollback()
        abort(403)
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("matches.proposal", proposal_id=item.id))
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("matches.proposal", proposal_id=item.id))


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw_proposal(proposal_id: int) -> Response:
    return _decide(proposal_id, "withdraw")


@bp.route("/proposals/<int:proposal_id>/shortlist", methods=["POST"])
@login_required
def shortlist_proposal(proposal_id: int) -> Response:
    return _decide(proposal_id, "shortlist")


@bp.route("/proposals/<int:proposal_id>/decline", methods=["POST"])
@login_required
def decline_proposal(proposal_id: int) -> Response:
    return _decide(proposal_id, "decline")


@bp.route("/proposals/<int:proposal_id>/invite", methods=["POST"])
@login_required
def invite_proposal(proposal_id: int) -> Response:
    return _decide(proposal_id, "invite")


@bp.route("/challenges/<int:challenge_id>/proposals")
@login_required
def challenge_proposals(challenge_id: int) -> str:
    """The owning municipality's (and coordinators') list of proposals on a challenge."""
    challenge = _published_challenge(challenge_id)
    if not challenge.is_owner_side(current_user):
        abort(403)
    return render_template("matches/challenge_proposals.html", challenge=challenge,
                           proposals=proposal_service.proposals_for_challenge(challenge), today=local_today(),
                           can_evaluate=evaluation.can_evaluate(challenge, current_user))


@bp.route("/attachments/<int:attachment_id>")
@login_required
@writes()  # the download is audited
def attachment(attachment_id: int) -> Response:
    """Served only to the company, the owning municipality and coordinators; every download is audited."""
    item = db.get_or_404(ProposalAttachment, attachment_id)
    if not item.can_download(current_user):
        abort(404)
    path = attachments.path_of(item)
    if not path.is_file():
        abort(404)
    attachments.record_download(item, acting_user())
    db.session.commit()
    response = send_file(path, mimetype=item.content_type, as_attachment=True, download_name=item.original_name,
                         max_age=0)
    # Even if a browser were made to render it (a file that is two formats at once), it runs no
    # script, in an origin of its own, and no other site may embed it.
    response.headers["Content-Security-Policy"] = DOWNLOAD_CONTENT_SECURITY_POLICY
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response  # nosniff and no-store: matchmaker/security.py, as on every response
