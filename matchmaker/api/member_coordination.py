"""With a token: the coordinators' board and one match for its parties (matchmaker/api/member_views.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, url_for

from matchmaker.api import bearer
from matchmaker.api.member_views import (
    _gate,
    _id,
    blp,
    read_operation,
)
from matchmaker.api.schemas import (
    BoardQuery,
    BoardSchema,
    MatchSchema,
)
from matchmaker.auth import (
    COORDINATION_ROLES,
    viewable_or_404,
)
from matchmaker.services import board as board_service
from models import Match, User

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
@blp.arguments(BoardQuery, location="query", as_kwargs=False)
@read_operation(BoardSchema, 403, 422)
def board(args: dict[str, Any]) -> Any:
    """The pipeline board: every match the filters select, idle days, stalled, and the funnel
    (coordinators and administrators, as /coordinator/board)."""
    user = bearer.token_user()
    _gate(user, COORDINATION_ROLES)
    filters = board_service.BoardFilters(municipality_id=args.get("municipality"), domain=args.get("domain"),
                                         stalled_only=bool(args.get("stalled")))
    items = board_service.board_items(filters, datetime.now(UTC), int(current_app.config["STALLED_AFTER_DAYS"]))
    return {
        "items": [{"match": match_record(i.match, user), "last_activity": i.last_activity, "idle_days": i.idle_days,
                   "stalled": i.stalled} for i in items],
        "funnel": board_service.funnel_for(filters),  # FunnelSchema reads the Funnel as it is
    }


@blp.route("/matches/<int:match_id>")
@read_operation(MatchSchema, 404)
def match(match_id: int) -> Any:
    """One match with its timeline: its two parties and the coordinators (as /matches/{id})."""
    user = bearer.token_user()
    return match_record(viewable_or_404(Match, _id(match_id), user), user, events=True)
