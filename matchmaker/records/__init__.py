"""Records a municipality files (challenge, proposal, dialogue record, pilot plan and report,
adoption): an A4 print view and the same document as a PDF."""

from flask import Blueprint

bp = Blueprint("records", __name__)

from matchmaker.records import inquiry_views, views  # noqa: F401  (registers routes)
