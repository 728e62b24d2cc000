"""Matches: recommendations (recommendations.py) and the co-creation pipeline (views.py)."""

from flask import Blueprint

bp = Blueprint("matches", __name__)

from matchmaker.matches import recommendations, views  # noqa: F401  (registers routes)
