"""Recommendation pages: ranked solutions for a challenge, ranked challenges for a profile.

Also the panel that the public challenge page includes (``matches/_challenge_panel.html``): it
calls the ``challenge_panel`` template global, which decides what the current reader may see.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, after_this_request, jsonify, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from matchmaker.auth import viewable_or_404
from matchmaker.matches import bp
from matchmaker.services import recommend
from matchmaker.transactions import writes
from models import Challenge, Solution, db

log = logging.getLogger(__name__)

PAGE_TOP = 10
MAX_TOP = 50


def _top() -> int:
    return max(1, min(MAX_TOP, request.args.get("top", PAGE_TOP, type=int) or PAGE_TOP))


def challenge_for_recommendations(challenge_id: int, reader: Any = None) -> Challenge:
    """The challenge whose ranked profiles ``reader`` (the current user unless given) asks for: 404
    when they may not know it exists, 403 when they may see it but not its recommendations."""
    reader = current_user if reader is None else reader
    challenge = viewable_or_404(Challenge, challenge_id, reader)
    if not challenge.can_see_recommendations(reader):
        abort(403)
    return challenge


def solution_for_recommendations(solution_id: int, reader: Any = None) -> Solution:
    reader = current_user if reader is None else reader
    solution = viewable_or_404(Solution, solution_id, reader)
    if not solution.can_see_recommendations(reader):
        abort(403)
    return solution


@bp.route("/challenges/<int:challenge_id>/solutions")
@login_required
@writes()  # the exposure counts
def for_challenge(challenge_id: int) -> str:
    challenge = challenge_for_recommendations(challenge_id)
    ranked = recommend.solutions_for_challenge(challenge, _top())
    similar = recommend.similar_challenges(challenge, 5, reader=current_user)
    page = render_template("matches/recommend_solutions.html", challenge=challenge, ranked=ranked, similar=similar)
    # The exposure counts, after rendering: a commit expires every loaded row, which the template
    # would then read again one by one (12 statements more, a third of the page's time).
    db.session.commit()
    return page


@bp.route("/solutions/<int:solution_id>/challenges")
@login_required
def for_solution(solution_id: int) -> str:
    solution = solution_for_recommendations(solution_id)
    ranked = recommend.challenges_for_solution(solution, _top())
    return render_template("matches/recommend_challenges.html", solution=solution, ranked=ranked)


@bp.route("/challenges/<int:challenge_id>/solutions.json")
@login_required
@writes()
def for_challenge_json(challenge_id: int) -> Response:
    challenge = challenge_for_recommendations(challenge_id)
    ranked = recommend.solutions_for_challenge(challenge, _top())
    db.session.commit()
    return jsonify(ranked_as_json(ranked, challenge_id=challenge.id))


@bp.route("/solutions/<int:solution_id>/challenges.json")
@login_required
def for_solution_json(solution_id: int) -> Response:
    solution = solution_for_recommendations(solution_id)
    return jsonify(ranked_as_json(recommend.challenges_for_solution(solution, _top()), solution_id=solution.id))


def ranked_as_json(ranked: recommend.RankedList, **query: int) -> dict[str, Any]:
    return {
        **query,
        "vectors_pending": ranked.vectors_pending,
        "results": [
            {"rank": c.rank, "id": c.id, "kind": c.kind, "score": round(c.score, 4), "title": c.title,
             "organisation": c.organisation, "prefecture": c.prefecture, "domains": list(c.domains),
             "collaboration_forms": list(c.forms), "reasons": [r.striptags() for r in c.reasons]}
            for c in ranked.cards
        ],
    }


@bp.app_template_global("challenge_panel")
def challenge_panel(challenge: Challenge) -> recommend.ChallengePanel | None:
    """The panel's content for the current reader; ``None`` if ranking fails (the page still renders)."""
    try:
        panel = recommend.challenge_panel(challenge, current_user)
    except Exception:  # a broken ranker must not take the challenge page down with it
        log.exception("recommendation panel failed for challenge %s", challenge.id)
        db.session.rollback()
        return None
    if panel.recommendations:
        # The exposure counted while rendering someone else's page is committed once it is sent.
        @after_this_request
        def _commit_exposure(response: Response) -> Response:
            if response.status_code < 400:
                db.session.commit()
            return response

    return panel
