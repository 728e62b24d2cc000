"""The public case library (事例集): finished pilots and adoptions, for anyone to read and copy
(ヨコ展開). No login: only outcomes are shown, never dialogue notes, proposals or attachments."""

from __future__ import annotations

from flask import abort, render_template, request

from matchmaker.args import text_arg
from matchmaker.matches import bp
from matchmaker.page_cache import public_page
from matchmaker.services import matches as match_service
from models import Match, db
from models.codes import DOMAINS


@bp.route("/cases")
@public_page
def cases() -> str:
    text = text_arg("q", limit=100)
    domain = request.args.get("domain") or ""
    if domain not in DOMAINS:
        domain = ""
    found = match_service.cases(match_service.CaseFilter(text=text, domain=domain))
    return render_template("matches/cases.html", cases=found, q=text, domain=domain, domains=DOMAINS)


@bp.route("/cases/<int:match_id>")
@public_page
def case(match_id: int) -> str:
    item = db.get_or_404(Match, match_id)
    if not match_service.is_case(item):
        abort(404)
    return render_template("matches/case.html", match=item, pilot=item.pilot)
