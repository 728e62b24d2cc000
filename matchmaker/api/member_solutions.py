"""With a token: a company's solution profiles and their ranked challenges (matchmaker/api/member_views.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, url_for

from matchmaker.api import bearer
from matchmaker.api.forms import checked_form, json_body, refuse_field
from matchmaker.api.member_views import (
    _gate,
    _id,
    blp,
    read_operation,
    write_operation,
)
from matchmaker.api.schemas import (
    SolutionCreate,
    SolutionInput,
    SolutionList,
    SolutionRecommendations,
    SolutionSchema,
    TopQuery,
)
from matchmaker.auth import (
    COMPANY_AREA_ROLES,
    keeps_solution_profiles,
    viewable_or_404,
)
from matchmaker.company.forms import SolutionForm
from matchmaker.matches.recommendations import (
    ranked_as_json,
    solution_for_recommendations,
)
from matchmaker.services import recommend, solutions
from matchmaker.services.errors import FieldError
from matchmaker.services.solutions import INPUT_FIELDS as SOLUTION_FIELDS
from models import Solution, db

# --- a company's solution profiles ------------------------------------------------------------


def solution_record(item: Solution) -> dict[str, Any]:
    org = item.organisation
    data = {name: getattr(item, name) for name in SOLUTION_FIELDS}
    data.update({"id": item.id, "active": item.active, "updated_at": item.updated_at,
                 "organisation": {"id": org.id, "name": org.name, "prefecture": org.prefecture},
                 "url": url_for("company.solution", solution_id=item.id, _external=True)})
    return data


@blp.route("/me/solutions")
@read_operation(SolutionList, 403)
def my_solutions() -> Any:
    """The company's profiles, active first, as its dashboard lists them (company staff)."""
    user = bearer.token_user()
    if not keeps_solution_profiles(user):
        abort(403)
    return {"items": [solution_record(s) for s in solutions.solutions_of(user.organisation_id or 0)]}


@blp.route("/solutions", methods=["POST"])
@write_operation(SolutionCreate, 201, SolutionSchema, names_an_object=False)
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
@read_operation(SolutionSchema, 404)
def solution(solution_id: int) -> Any:
    """One profile, as its page (any signed-in user; a withdrawn one only to its company and administrators)."""
    user = bearer.token_user()
    _gate(user, COMPANY_AREA_ROLES)
    return solution_record(viewable_or_404(Solution, _id(solution_id), user))


@blp.route("/solutions/<int:solution_id>", methods=["PATCH"])
@write_operation(SolutionInput, 200, SolutionSchema, names_an_object=True)
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
@blp.arguments(TopQuery, location="query", as_kwargs=True)
@read_operation(SolutionRecommendations, 403, 404, 422)
def solution_recommendations(solution_id: int, top: int) -> Any:
    """Published challenges ranked for the profile, with the reasons, in the order of its page
    (/matches/solutions/{id}/challenges): its company's staff, coordinators, administrators."""
    item = solution_for_recommendations(_id(solution_id), bearer.token_user())
    return ranked_as_json(recommend.challenges_for_solution(item, top), solution_id=item.id)
