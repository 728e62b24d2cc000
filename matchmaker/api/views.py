"""/api/v1: the public pages' data as JSON, for anyone (no login), read-only.

Every view answers as the anonymous reader would see the matching page: it asks the model's
``can_view`` with an anonymous user and calls the same services as the pages (search, Q&A, case
library), so the visibility rules live in one place. Successful GETs are public and cacheable
(ETag, Cache-Control: public), which matchmaker.security allows only for a response that says so.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request, url_for
from flask_login import AnonymousUserMixin
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from matchmaker.api import bearer
from matchmaker.api.problems import PROBLEM_JSON
from matchmaker.api.schemas import (
    CasePage,
    CaseQuery,
    CaseSchema,
    ChallengePage,
    ChallengeQuery,
    ChallengeSchema,
    FunnelSchema,
    ProblemSchema,
    QuestionList,
    SoundingList,
    page_meta,
)
from matchmaker.services import board as board_service
from matchmaker.services import challenges as challenge_service
from matchmaker.services import matches as match_service
from matchmaker.services import qa, search, sounding
from models import Challenge, Match, db
from models.codes import PREFECTURES

CACHE_SECONDS = 60
API_CSP = "default-src 'none'; frame-ancestors 'none'"
MAX_ID = 2**31 - 1  # larger ids exist nowhere and would overflow SQLite's integer
ANONYMOUS = AnonymousUserMixin()


class Api(SmorestApi):
    """flask-smorest without its JSON error handler for the whole app: matchmaker.errors answers
    errors under /api/v1 with problem details and every other path with the HTML error pages."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        pass


blp = Blueprint("api_v1", __name__, description="Open data: published challenges, their Q&A and sounding results, "
                                                "the case library, the pipeline's figures, whole files (CSV, JSON).")

NOT_FOUND = {"schema": ProblemSchema, "content_type": PROBLEM_JSON, "description": "Not published or no such id."}
INVALID = {"schema": ProblemSchema, "content_type": PROBLEM_JSON, "description": "A filter or page out of range."}
LINK_HEADERS = {
    "Link": {"description": "RFC 8288 links: first, prev, next, last.", "schema": {"type": "string"}},
    "X-Total-Count": {"description": "Items matching the filters.", "schema": {"type": "integer"}},
}


@blp.after_request
def _public_and_cacheable(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", API_CSP)
    response.vary.add("Authorization")
    if request.method in ("GET", "HEAD") and response.status_code == 200 and bearer.optional_token_user() is None:
        response.cache_control.public = True
        response.cache_control.max_age = CACHE_SECONDS
        response.add_etag()
        response.make_conditional(request)
    return response


# --- challenges -----------------------------------------------------------------------------


def _published_challenge(challenge_id: int, reader: Any = ANONYMOUS) -> Challenge:
    item = db.session.get(Challenge, challenge_id) if challenge_id <= MAX_ID else None
    if item is None or not item.can_view(reader):
        abort(404)
    return item


def challenge_summary(item: Challenge) -> dict[str, Any]:
    today = challenge_service.local_today()
    return {
        "id": item.id, "title": item.title, "status": item.status,
        "state": "open" if item.accepts_proposals(today) else "closed",
        "organisation": {"id": item.organisation.id, "name": item.organisation.name,
                         "prefecture": item.organisation.prefecture},
        "domains": list(item.domains or ()), "collaboration_forms": list(item.collaboration_forms or ()),
        "deadline": item.deadline, "published_at": item.published_at,
        "url": url_for("public.challenge", challenge_id=item.id, _external=True),
    }


def challenge_detail(item: Challenge) -> dict[str, Any]:
    data = challenge_summary(item)
    for name in ("background", "problem", "causes", "affected", "target_state", "kpis", "constraints",
                 "offerings", "budget_min", "budget_max", "fiscal_year", "contact_department", "closed_at"):
        data[name] = getattr(item, name)
    data["sdgs"] = list(item.sdgs or ())
    return data


@blp.route("/challenges")
@blp.arguments(ChallengeQuery, location="query", as_kwargs=False)
@blp.response(200, ChallengePage, headers=LINK_HEADERS)
@blp.alt_response(422, **INVALID)
def challenges(args: dict[str, Any]) -> Any:
    """Published challenges, filtered and ordered as on the public search page (/challenges)."""
    per_page = args.get("per_page") or int(current_app.config["PAGE_SIZE"])
    params = search.SearchParams(
        q=args["q"].strip(), domain=args.get("domain"), prefecture=args.get("prefecture"),
        form=args.get("form"), state=args.get("state"), page=args["page"], page_size=per_page,
    )
    result = search.search(params, challenge_service.local_today(), prefectures=PREFECTURES)
    # search clamps a page past the end to the last one; the API answers that page as empty
    ids = result.ids if result.page == args["page"] else []
    items = [challenge_summary(c) for c in search.challenges_in_order(ids)]
    return _paged(items, args["page"], per_page, result.total)


def challenge_record(item: Challenge, user: Any) -> dict[str, Any]:
    """A challenge as ``user`` (a token's) reads it: every field and the moves the page offers them."""
    return {**challenge_detail(item), "allowed_moves": challenge_service.allowed_moves(item, user)}


@blp.route("/challenges/<int:challenge_id>")
@blp.doc(security=[{}, {bearer.SECURITY_SCHEME: []}])
@blp.response(200, ChallengeSchema)
@blp.alt_response(401, schema=ProblemSchema, content_type=PROBLEM_JSON,
                  description="A token was sent and is unknown, revoked, expired or of a deactivated user.")
@blp.alt_response(404, **NOT_FOUND)
@bearer.scope("read", optional=True)
def challenge(challenge_id: int) -> Any:
    """One published (or closed) challenge, as its public page shows it. With a token, as the
    page shows it to the token's user: its municipality's staff and coordinators also read drafts
    and challenges in review (and get ``allowed_moves``); such answers are private, not cached."""
    reader = bearer.optional_token_user()
    if reader is None:
        return challenge_detail(_published_challenge(challenge_id))
    return challenge_record(_published_challenge(challenge_id, reader), reader)


@blp.route("/challenges/<int:challenge_id>/questions")
@blp.response(200, QuestionList)
@blp.alt_response(404, **NOT_FOUND)
def questions(challenge_id: int) -> Any:
    """The answered questions of a published challenge, without who asked (the page's Q&A panel)."""
    return {"items": qa.public_questions(_published_challenge(challenge_id))}


@blp.route("/challenges/<int:challenge_id>/soundings")
@blp.response(200, SoundingList)
@blp.alt_response(404, **NOT_FOUND)
def soundings(challenge_id: int) -> Any:
    """The published results summaries (実施結果概要) of a published challenge's soundings, as the
    challenge page shows them: title, period, number of participating companies (not which), summary."""
    return {"items": [{"id": s.id, "title": s.title, "starts_on": s.starts_on, "ends_on": s.ends_on,
                       "participants": len(s.bookings), "summary": s.results_summary,
                       "published_at": s.results_published_at}
                      for s in sounding.published_results(_published_challenge(challenge_id))]}


# --- the pipeline's figures -----------------------------------------------------------------


@blp.route("/funnel")
@blp.response(200, FunnelSchema)
def funnel() -> Any:
    """How many matches are at each stage of the workflow and how many got that far, conversion
    between stages, median days per stage, and the pilot → adoption rate, over the whole site.
    Counts only: no challenge, municipality or company is named (the board's funnel without its items)."""
    return board_service.funnel_for(board_service.BoardFilters())  # FunnelSchema reads the Funnel as it is


# --- the case library -----------------------------------------------------------------------


def case_data(match: Match) -> dict[str, Any]:
    challenge, solution, pilot = match.challenge, match.solution, match.pilot
    return {
        "id": match.id, "stage": match.stage,
        "challenge": {
            "id": challenge.id, "title": challenge.title, "problem": challenge.problem,
            "organisation": {"id": challenge.organisation.id, "name": challenge.organisation.name,
                             "prefecture": challenge.organisation.prefecture},
            "domains": list(challenge.domains or ()),
            "collaboration_forms": list(challenge.collaboration_forms or ()),
        },
        "solution": {"title": solution.title, "summary": solution.summary, "company": solution.organisation.name},
        "pilot": None if pilot is None else {
            "starts_on": pilot.starts_on, "ends_on": pilot.ends_on, "summary": pilot.summary,
            "verdict": pilot.verdict, "report_summary": pilot.report_summary,
            "kpis": [{"name": k.name, "unit": k.unit, "baseline": k.baseline, "target": k.target,
                      "actual": k.actual, "achieved": k.achieved} for k in pilot.kpis],
        },
        "adoption": None if match.stage != "adopted" else {
            "fiscal_year": match.adopted_fiscal_year, "procurement_route": match.procurement_route,
            "amount": match.adoption_amount,
        },
        "close_reason": match.close_reason if match.stage == "closed" else None,
        "close_note": match.close_note if match.stage == "closed" else None,
        "url": url_for("matches.case", match_id=match.id, _external=True),
    }


@blp.route("/cases")
@blp.arguments(CaseQuery, location="query", as_kwargs=False)
@blp.response(200, CasePage, headers=LINK_HEADERS)
@blp.alt_response(422, **INVALID)
def cases(args: dict[str, Any]) -> Any:
    """The case library (事例集): finished pilots and adoptions, newest first, as on /matches/cases."""
    per_page = args.get("per_page") or int(current_app.config["PAGE_SIZE"])
    found = match_service.cases(match_service.CaseFilter(text=args["q"].strip(), domain=args.get("domain") or ""),
                                with_kpis=True)
    start = (args["page"] - 1) * per_page
    return _paged([case_data(m) for m in found[start:start + per_page]], args["page"], per_page, len(found))


@blp.route("/cases/<int:match_id>")
@blp.response(200, CaseSchema)
@blp.alt_response(404, **NOT_FOUND)
def case(match_id: int) -> Any:
    """One case of the library (/matches/cases/<id>)."""
    match = db.session.get(Match, match_id) if match_id <= MAX_ID else None
    if match is None or not match_service.is_case(match):
        abort(404)
    return case_data(match)


# --- pagination -----------------------------------------------------------------------------


def _paged(items: list[dict[str, Any]], page: int, per_page: int, total: int) -> tuple[dict[str, Any], dict[str, str]]:
    meta = page_meta(page, per_page, total)
    return {"items": items, "pagination": meta}, {"Link": link_header(page, meta["pages"]),
                                                  "X-Total-Count": str(total)}


def link_header(page: int, pages: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages, keeping the other query arguments."""
    values: dict[str, Any] = {**(request.view_args or {}), **request.args.to_dict()}

    def link(number: int, rel: str) -> str:
        url = url_for(str(request.endpoint), **{**values, "page": number}, _external=True)
        return f'<{url}>; rel="{rel}"'

    links = [link(1, "first")]
    if page > 1:
        links.append(link(min(page - 1, pages), "prev"))
    if page < pages:
        links.append(link(page + 1, "next"))
    links.append(link(pages, "last"))
    return ", ".join(links)
