"""Questions and answers, and the panel the public challenge page includes
(``matches/_qa_panel.html``: public Q&A, sounding results, the ask form and the propose button)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from matchmaker.auth import viewable_or_404
from matchmaker.matches import bp
from matchmaker.matches.forms import AnswerForm, QuestionForm
from matchmaker.matches.views import acting_user
from matchmaker.page_cache import public_memo
from matchmaker.services import matches as match_service
from matchmaker.services import proposals as proposal_service
from matchmaker.services import qa
from matchmaker.services import sounding as sounding_service
from matchmaker.services.challenges import local_today
from matchmaker.services.errors import FieldError
from models import Challenge, Match, Proposal, Question, Sounding, db


@dataclass(frozen=True)
class ChallengePipelinePanel:
    """What the public challenge page shows of the pipeline to the current reader."""

    questions: list[qa.PublicQuestion]
    results: list[Sounding]
    open_soundings: list[Sounding]
    can_ask: bool
    ask_form: QuestionForm | None
    can_propose: bool
    open_proposal: Proposal | None
    manage: bool  # the owner or a coordinator: links to the questions and proposals lists
    related_cases: list[Match]  # finished pilots and adoptions in the same domains (ヨコ展開)


@bp.app_template_global("pipeline_panel")
def pipeline_panel(challenge: Challenge) -> ChallengePipelinePanel:
    """What the challenge page's pipeline parts show (two templates ask: it is built once per request)."""
    built: dict[int, ChallengePipelinePanel] = g.setdefault("pipeline_panels", {})
    if challenge.id not in built:
        built[challenge.id] = _pipeline_panel(challenge)
    return built[challenge.id]


def _pipeline_panel(challenge: Challenge) -> ChallengePipelinePanel:
    user = current_user
    is_company = bool(getattr(user, "is_authenticated", False) and user.is_company)
    manage = challenge.is_owner_side(user)
    open_proposal = proposal_service.open_proposal_of(challenge.id, user.organisation_id) if is_company else None
    soundings = sounding_service.soundings_of(challenge) if challenge.status in ("published", "closed") else []
    can_ask = is_company and qa.accepts_questions(challenge)
    return ChallengePipelinePanel(
        questions=qa.public_questions(challenge),
        results=[s for s in soundings if s.results_published_at is not None],
        open_soundings=[s for s in soundings if s.accepts_entries(local_today())],
        can_ask=can_ask, ask_form=QuestionForm() if can_ask else None,
        can_propose=is_company and challenge.accepts_proposals(local_today()) and open_proposal is None,
        open_proposal=open_proposal, manage=manage, related_cases=related_cases(challenge),
    )


RELATED_CASES = 3


def related_cases(challenge: Challenge) -> list[Match]:
    """Cases of other challenges that share a domain with this one, newest first. Picked from the
    case library's plain rows, which this process keeps while the public data is unchanged."""
    wanted = set(challenge.domains or ())
    if not wanted:
        return []
    picked = [match_id for match_id, challenge_id, domains in public_memo("case-domains", match_service.case_domains)
              if challenge_id != challenge.id and wanted & domains][:RELATED_CASES]
    return match_service.cases_by_id(picked)


def _challenge(challenge_id: int) -> Challenge:
    return viewable_or_404(Challenge, challenge_id)


@bp.route("/challenges/<int:challenge_id>/questions", methods=["GET", "POST"])
@login_required
def questions(challenge_id: int) -> str | Response:
    """Owner/coordinator: every question with its asker and an answer form.
    Company: its own questions and the ask form (POST asks)."""
    challenge = _challenge(challenge_id)
    manage = challenge.is_owner_side(current_user)
    if not (manage or current_user.is_company):
        abort(403)
    form = QuestionForm()
    if current_user.is_company and form.validate_on_submit():
        try:
            qa.ask(challenge, acting_user(), form.body.data or "")
        except FieldError as error:
            db.session.rollback()
            form.body.errors = [error.message]
        except match_service.MoveRefused:
            db.session.rollback()
            abort(403)
        else:
            db.session.commit()
            flash(_("質問を送りました。回答は質問者の名前を伏せて課題のページに公開されます。"), "success")
            return redirect(url_for("matches.questions", challenge_id=challenge.id))
    rows = qa.questions_for_owner(challenge) if manage else qa.own_questions(challenge, current_user.organisation_id)
    return render_template("matches/questions.html", challenge=challenge, rows=rows, manage=manage,
                           form=form if current_user.is_company and qa.accepts_questions(challenge) else None,
                           answer_forms={q.id: AnswerForm(prefix=f"q{q.id}", answer=q.answer) for q in rows})


@bp.route("/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def answer_question(question_id: int) -> Response:
    question = db.get_or_404(Question, question_id)
    if not question.can_answer(current_user):
        abort(403)
    form = AnswerForm(prefix=f"q{question.id}")
    back = redirect(url_for("matches.questions", challenge_id=question.challenge_id, _anchor=f"q-{question.id}"))
    if not form.validate_on_submit():
        flash(_("回答を入力してください。"), "error")
        return back
    try:
        qa.answer(question, acting_user(), form.answer.data or "")
    except FieldError as error:
        db.session.rollback()
        flash(error.message, "error")
        return back
    db.session.commit()
    flash(_("回答を公開しました。関心のある企業に通知されます。"), "success")
    return back
