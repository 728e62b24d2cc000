"""Coordinators: challenge review and publication (views.py), the pipeline board (board.py)."""

from flask import Blueprint

from matchmaker.auth import COORDINATION_ROLES, require_roles

bp = Blueprint("coordinator", __name__)
bp.before_request(require_roles(*COORDINATION_ROLES))

from matchmaker.coordinator import board, views  # noqa: F401  (registers routes)
