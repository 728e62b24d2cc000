"""With a token: a municipality's challenges (draft → submit) and their ranked profiles (matchmaker/api/member_views.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, url_for

from matchmaker.api import bearer
from matchmaker.api.forms import checked_form, json_body, refuse_field
from matchmaker.api.member_views import (
    FORBIDDEN,
    NOT_FOUND,
    SECURED,
    TOO_MANY,
    UNAUTHORISED,
    _gate,
    _id,
    blp,
    read_operation,
    write_limit,
    write_operation,
)
from matchmaker.api.problems import PROBLEM_JSON, ApiRefusal
from matchmaker.api.schemas import (
    ChallengeCreate,
    ChallengeInput,
    ChallengeList,
    ChallengeRecommendations,
    ChallengeSchema,
    ProblemSchema,
    TopQuery,
)
from matchmaker.api.views import challenge_record
from matchmaker.auth import (
    MUNICIPAL_ROLES,
    viewable_or_404,
)
from matchmaker.extensions import limiter
from matchmaker.matches.recommendations import (
    challenge_for_recommendations,
    ranked_as_json,
)
from matchmaker.municipality.forms import ChallengeForm
from matchmaker.municipality.views import load_editable
from matchmaker.services import challenges as challenge_service
from matchmaker.services import recommend
from matchmaker.services.clarity import FIELD_LABELS
from matchmaker.services.errors import FieldError
from models import Challenge, db
from models.codes import ChallengeStatus

# --- a municipality's challenges --------------------------------------------------------------


CHALLENGE_FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)  # the challenge form's fields (ChallengeForm.values)


@blp.route("/me/challenges")
@read_operation(ChallengeList, 403)
def my_challenges() -> Any:
    """The municipality's challenges in every status, as its dashboard lists them (municipal staff)."""
    user = bearer.token_user()
    _gate(user, MUNICIPAL_ROLES)
    return {"items": [challenge_record(c, user) for c in challenge_service.challenges_of(user.organisation_id or 0)]}


@blp.route("/challenges", methods=["POST"])
@write_operation(ChallengeCreate, 201, ChallengeSchema, names_an_object=False)
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
@write_operation(ChallengeInput, 200, ChallengeSchema, names_an_object=True)
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
@blp.arguments(TopQuery, location="query", as_kwargs=True)
@read_operation(ChallengeRecommendations, 403, 404, 422)
def challenge_recommendations(challenge_id: int, top: int) -> Any:
    """Solution profiles ranked for the challenge, with the reasons, in the order of its page
    (/matches/challenges/{id}/solutions): its municipality's staff and coordinators."""
    challenge = challenge_for_recommendations(_id(challenge_id), bearer.token_user())
    ranked = recommend.solutions_for_challenge(challenge, top)
    db.session.commit()  # the exposure counts, as the page
    return ranked_as_json(ranked, challenge_id=challenge.id)
