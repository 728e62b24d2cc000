"""/api/v1 with a personal API token: what the token's user may read and write on the pages.

Each view asks the same questions as its page, with the token's user instead of the session's:
the blueprints' role gates (``matchmaker.auth``: MUNICIPAL_ROLES, COMPANY_AREA_ROLES,
COORDINATION_ROLES), the loaders that answer 404 or 403 (``viewable_or_404``,
``municipality.views.load_editable``, ``matches.recommendations.challenge_for_recommendations``),
the models' ``can_*`` methods and the services the pages call. Bodies are checked by the pages'
forms (matchmaker/api/forms.py). Answers are private (never cached); every request is audited
(matchmaker/api/bearer.py); writes need a write token and are rate-limited per user.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, url_for
from flask_smorest import Blueprint

from matchmaker.api import bearer
from matchmaker.api.forms import checked_form, json_body, refuse_field
from matchmaker.api.problems import PROBLEM_JSON, ApiRefusal
from matchmaker.api.schemas import (
    BoardQuery,
    BoardSchema,
    ChallengeCreate,
    ChallengeInput,
    ChallengeList,
    ChallengeRecommendations,
    ChallengeSchema,
    MatchSchema,
    MeSchema,
    ProblemSchema,
    SolutionCreate,
    SolutionInput,
    SolutionList,
    SolutionRecommendations,
    SolutionSchema,
    TopQuery,
)
from matchmaker.api.views import MAX_ID, challenge_record
from matchmaker.auth import (
    COMPANY_AREA_ROLES,
    COORDINATION_ROLES,
    MUNICIPAL_ROLES,
    has_role,
    keeps_solution_profiles,
    viewable_or_404,
)
from matchmaker.company.forms import SolutionForm
from matchmaker.extensions import limiter
from matchmaker.matches.recommendations import (
    challenge_for_recommendations,
    ranked_as_json,
    solution_for_recommendations,
)
from matchmaker.municipality.forms import ChallengeForm
from matchmaker.municipality.views import load_editable
from matchmaker.services import board as board_service
from matchmaker.services import challenges as challenge_service
from matchmaker.services import recommend, solutions
from matchmaker.services.clarity import FIELD_LABELS
from matchmaker.services.errors import FieldError
from matchmaker.services.solutions import INPUT_FIELDS as SOLUTION_FIELDS
from models import Challenge, Match, Solution, User, db
from models.codes import ChallengeStatus

blp = Blueprint("api_v1_token", __name__,
                description="With a personal API token (Authorization: Bearer): the token's user's own work.")



def write_limit() -> str:
    """API_WRITE_LIMIT: writes per user, whichever of their tokens is used (reads cost what pages cost)."""
    return str(current_app.config["API_WRITE_LIMIT"])


CHALLENGE_FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)  # the challenge form's fields (ChallengeForm.values)

SECURED: dict[str, Any] = {"security": [{bearer.SECURITY_SCHEME: []}]}
UNAUTHORISED = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
                "description": "No token, or a token that is unknown, revoked, expired or of a deactivated user.",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
FORBIDDEN = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
             "description": "The token's user may not do this (the page refuses them too), or a read token on a "
                            "write endpoint."}
NOT_FOUND = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
             "description": "No such id, or one the token's user may not know of (the page answers 404 too)."}
INVALID = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
           "description": "Field messages of the page's form, in the language of Accept-Language."}
TOO_MANY = {"schema": ProblemSchema, "content_type": PROBLEM_JSON,
            "description": "More writes by this user than API_WRITE_LIMIT allows (30 a minute, 1,000 a day).",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}}}


def _body_doc(schema: type) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _id(ident: int) -> int:
    if ident > MAX_ID:
        abort(404)
    return ident


def _gate(user: User, roles: tuple[str, ...]) -> None:
    """The page blueprint's role gate: another role gets 403 there, so here."""
    if not has_role(user, roles):
        abort(403)


def organisation_of(user: User) -> dict[str, Any] | None:
    org = user.organisation
    return None if org is None else {"id": org.id, "name": org.name, "kind": org.kind, "prefecture": org.prefecture}


# --- who ------------------------------------------------------------------------------------


@blp.route("/me")
@blp.doc(**SECURED)
@blp.response(200, MeSchema)
@blp.alt_response(401, **UNAUTHORISED)
@bearer.scope("read")
def me() -> Any:
    """Who the token speaks for: the user, their role and organisation, and the token's scope and expiry."""
    user, token = bearer.token_user(), bearer.current_token()
    assert token is not None
    return {"id": user.id, "name": user.name, "role": user.role, "organisation": organisation_of(user),
            "token": {"name": token.name, "scope": token.scope, "expires_at": token.expires_at}}


# --- a municipality's challenges --------------------------------------------------------------


@blp.route("/me/challenges")
@blp.doc(**SECURED)
@blp.response(200, ChallengeList)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@bearer.scope("read")
def my_challenges() -> Any:
    """The municipality's challenges in every status, as its dashboard lists them (municipal staff)."""
    user = bearer.token_user()
    _gate(user, MUNICIPAL_ROLES)
    return {"items": [challenge_record(c, user) for c in challenge_service.challenges_of(user.organisation_id or 0)]}


@blp.route("/challenges", methods=["POST"])
@blp.doc(**SECURED, **_body_doc(ChallengeCreate))
@blp.response(201, ChallengeSchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(422, **INVALID)
@blp.alt_response(429, **TOO_MANY)
@bearer.scope("write")
@limiter.limit(write_limit, key_func=bearer.limit_key)
def create_challenge() -> Any:
    """A new draft of the token's municipality, as the 'new challenge' form (municipal staff)."""
    user = bearer.token_user()
    _gate(user, MUNICIPAL_ROLES)
    form = checked_form(ChallengeForm, json_body(), CHALLENGE_FIELDS, today=challenge_service.local_today())
    assert user.organisation is not None  # a municipal account has one (member_has_organisation)
    try:
        item = challenge_service.create_challenge(organisation=user.organisation, author=user, values=form.values())
    except FieldError as error:
        db.session.rollback()
        raise refuse_field(error) from error
    db.session.commit()
    return challenge_record(item, user), 201, {"Location": url_for("api_v1.challenge", challenge_id=item.id,
                                                                   _external=True)}


def _stored_challenge_values(item: Challenge) -> dict[str, Any]:
    return {name: getattr(item, name) for name in CHALLENGE_FIELDS}


@blp.route("/challenges/<int:challenge_id>", methods=["PATCH"])
@blp.doc(**SECURED, **_body_doc(ChallengeInput))
@blp.response(200, ChallengeSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(404, **NOT_FOUND)
@blp.alt_response(422, **INVALID)
@blp.alt_response(429, **TOO_MANY)
@bearer.scope("write")
@limiter.limit(write_limit, key_func=bearer.limit_key)
def update_challenge(challenge_id: int) -> Any:
    """Change some fields of a draft or a challenge in review, as its edit form (municipal staff)."""
    user = bearer.token_user()
    _gate(user, MUNICIPAL_ROLES)
    item = load_editable(_id(challenge_id), user)
    form = checked_form(ChallengeForm, json_body(), CHALLENGE_FIELDS, _stored_challenge_values(item),
                        today=challenge_service.local_today())
    try:
        challenge_service.update_challenge(item, actor=user, values=form.values())
    except FieldError as error:
        db.session.rollback()
        raise refuse_field(error) from error
    db.session.commit()
    return challenge_record(item, user)


@blp.route("/challenges/<int:challenge_id>/submit", methods=["POST"])
@blp.doc(**SECURED)
@blp.response(200, ChallengeSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(404, **NOT_FOUND)
@blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM_JSON,
                  description="Not ready yet: errors names each field the clarity check still needs.")
@blp.alt_response(429, **TOO_MANY)
@bearer.scope("write")
@limiter.limit(write_limit, key_func=bearer.limit_key)
def submit_challenge(challenge_id: int) -> Any:
    """Send a draft to the coordinators for review (draft → in_review), as the page's button.
    Where the site has no coordinator the owner publishes on the page instead."""
    user = bearer.token_user()
    _gate(user, MUNICIPAL_ROLES)
    item = viewable_or_404(Challenge, _id(challenge_id), user)
    to = ChallengeStatus.IN_REVIEW.value
    if not item.can_move(user, to, coordinators_exist=challenge_service.coordinators_exist()):
        abort(403)
    try:
        challenge_service.move(item, to, actor=user)
    except challenge_service.TransitionRefused as refused:
        db.session.rollback()
        raise ApiRefusal(409, str(refused.message), errors=refused.fields or None) from refused
    db.session.commit()
    return challenge_record(item, user)


@blp.route("/challenges/<int:challenge_id>/recommendations")
@blp.doc(**SECURED)
@blp.arguments(TopQuery, location="query", as_kwargs=True)
@blp.response(200, ChallengeRecommendations)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(404, **NOT_FOUND)
@blp.alt_response(422, **INVALID)
@bearer.scope("read")
def challenge_recommendations(challenge_id: int, top: int) -> Any:
    """Solution profiles ranked for the challenge, with the reasons, in the order of its page
    (/matches/challenges/{id}/solutions): its municipality's staff and coordinators."""
    challenge = challenge_for_recommendations(_id(challenge_id), bearer.token_user())
    ranked = recommend.solutions_for_challenge(challenge, top)
    db.session.commit()  # the exposure counts, as the page
    return ranked_as_json(ranked, challenge_id=challenge.id)


# --- a company's solution profiles ------------------------------------------------------------


def solution_record(item: Solution) -> dict[str, Any]:
    org = item.organisation
    data = {name: getattr(item, name) for name in SOLUTION_FIELDS}
    data.update({"id": item.id, "active": item.active, "updated_at": item.updated_at,
                 "organisation": {"id": org.id, "name": org.name, "prefecture": org.prefecture},
                 "url": url_for("company.solution", solution_id=item.id, _external=True)})
    return data


@blp.route("/me/solutions")
@blp.doc(**SECURED)
@blp.response(200, SolutionList)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@bearer.scope("read")
def my_solutions() -> Any:
    """The company's profiles, active first, as its dashboard lists them (company staff)."""
    user = bearer.token_user()
    if not keeps_solution_profiles(user):
        abort(403)
    return {"items": [solution_record(s) for s in solutions.solutions_of(user.organisation_id or 0)]}


@blp.route("/solutions", methods=["POST"])
@blp.doc(**SECURED, **_body_doc(SolutionCreate))
@blp.response(201, SolutionSchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(422, **INVALID)
@blp.alt_response(429, **TOO_MANY)
@bearer.scope("write")
@limiter.limit(write_limit, key_func=bearer.limit_key)
def create_solution() -> Any:
    """A new profile of the token's company, as the 'new solution' form (company staff)."""
    user = bearer.token_user()
    if not keeps_solution_profiles(user):
        abort(403)
    form = checked_form(SolutionForm, json_body(), SOLUTION_FIELDS)
    try:
        item = solutions.create_solution(user, user.organisation, form.to_input())  # type: ignore[arg-type]  # checked above
    except FieldError as error:
        db.session.rollback()
        raise refuse_field(error) from error
    db.session.commit()
    return solution_record(item), 201, {"Location": url_for("api_v1_token.solution", solution_id=item.id,
                                                            _external=True)}


@blp.route("/solutions/<int:solution_id>")
@blp.doc(**SECURED)
@blp.response(200, SolutionSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(404, **NOT_FOUND)
@bearer.scope("read")
def solution(solution_id: int) -> Any:
    """One profile, as its page (any signed-in user; a withdrawn one only to its company and administrators)."""
    user = bearer.token_user()
    _gate(user, COMPANY_AREA_ROLES)
    return solution_record(viewable_or_404(Solution, _id(solution_id), user))


@blp.route("/solutions/<int:solution_id>", methods=["PATCH"])
@blp.doc(**SECURED, **_body_doc(SolutionInput))
@blp.response(200, SolutionSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(404, **NOT_FOUND)
@blp.alt_response(422, **INVALID)
@blp.alt_response(429, **TOO_MANY)
@bearer.scope("write")
@limiter.limit(write_limit, key_func=bearer.limit_key)
def update_solution(solution_id: int) -> Any:
    """Change some fields of a profile, as its edit form (its company's staff; administrators)."""
    user = bearer.token_user()
    _gate(user, COMPANY_AREA_ROLES)
    item = viewable_or_404(Solution, _id(solution_id), user)
    if not item.can_edit(user):
        abort(403)
    stored = {name: getattr(item, name) for name in SOLUTION_FIELDS}
    form = checked_form(SolutionForm, json_body(), SOLUTION_FIELDS, stored)
    try:
        solutions.update_solution(user, item, form.to_input())
    except FieldError as error:
        db.session.rollback()
        raise refuse_field(error) from error
    db.session.commit()
    return solution_record(item)


@blp.route("/solutions/<int:solution_id>/recommendations")
@blp.doc(**SECURED)
@blp.arguments(TopQuery, location="query", as_kwargs=True)
@blp.response(200, SolutionRecommendations)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(404, **NOT_FOUND)
@blp.alt_response(422, **INVALID)
@bearer.scope("read")
def solution_recommendations(solution_id: int, top: int) -> Any:
    """Published challenges ranked for the profile, with the reasons, in the order of its page
    (/matches/solutions/{id}/challenges): its company's staff, coordinators, administrators."""
    item = solution_for_recommendations(_id(solution_id), bearer.token_user())
    return ranked_as_json(recommend.challenges_for_solution(item, top), solution_id=item.id)


# --- coordination: the board and matches ------------------------------------------------------


def match_record(match: Match, user: User, *, events: bool = False) -> dict[str, Any]:
    challenge, solution_ = match.challenge, match.solution
    data: dict[str, Any] = {
        "id": match.id, "stage": match.stage, "origin": match.origin, "created_at": match.created_at,
        "stage_changed_at": match.stage_changed_at,
        "challenge": {"id": challenge.id, "title": challenge.title,
                      "organisation": {"id": challenge.organisation.id, "name": challenge.organisation.name,
                                       "prefecture": challenge.organisation.prefecture}},
        "solution": {"id": solution_.id, "title": solution_.title, "company": solution_.organisation.name},
        "allowed_moves": match.allowed_moves(user),
        "url": url_for("matches.match", match_id=match.id, _external=True),
    }
    if events:
        data["events"] = [{"at": e.at, "kind": e.kind, "from_stage": e.from_stage, "to_stage": e.to_stage}
                          for e in match.events]
    return data


@blp.route("/board")
@blp.doc(**SECURED)
@blp.arguments(BoardQuery, location="query", as_kwargs=False)
@blp.response(200, BoardSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(403, **FORBIDDEN)
@blp.alt_response(422, **INVALID)
@bearer.scope("read")
def board(args: dict[str, Any]) -> Any:
    """The pipeline board: every match the filters select, idle days, stalled, and the funnel
    (coordinators and administrators, as /coordinator/board)."""
    user = bearer.token_user()
    _gate(user, COORDINATION_ROLES)
    filters = board_service.BoardFilters(municipality_id=args.get("municipality"), domain=args.get("domain"),
                                         stalled_only=bool(args.get("stalled")))
    items = board_service.board_items(filters, datetime.now(UTC), int(current_app.config["STALLED_AFTER_DAYS"]))
    funnel = board_service.funnel_for(filters)
    return {
        "items": [{"match": match_record(i.match, user), "last_activity": i.last_activity, "idle_days": i.idle_days,
                   "stalled": i.stalled} for i in items],
        "funnel": {"stages": [{"stage": s.stage, "current": s.current, "reached": s.reached,
                               "conversion": s.conversion, "median_days": s.median_days} for s in funnel.stages],
                   "total": funnel.total, "closed": funnel.closed, "pilot_adoption_rate": funnel.pilot_adoption_rate},
    }


@blp.route("/matches/<int:match_id>")
@blp.doc(**SECURED)
@blp.response(200, MatchSchema)
@blp.alt_response(401, **UNAUTHORISED)
@blp.alt_response(404, **NOT_FOUND)
@bearer.scope("read")
def match(match_id: int) -> Any:
    """One match with its timeline: its two parties and the coordinators (as /matches/{id})."""
    user = bearer.token_user()
    return match_record(viewable_or_404(Match, _id(match_id), user), user, events=True)
