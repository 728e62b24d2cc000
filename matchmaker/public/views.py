"""Pages anyone can read: the landing page, published challenges, language choice."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from matchmaker import REPO_ROOT
from matchmaker.api import open_data as files
from matchmaker.args import page_arg, text_arg
from matchmaker.auth import viewable_or_404
from matchmaker.page_cache import public_page
from matchmaker.public import accessibility as accessibility_results
from matchmaker.public.presenters import challenge_actions, challenge_sections, edit_url
from matchmaker.services import challenges as challenge_service
from matchmaker.services import clarity, search
from matchmaker.services import matches as match_service
from matchmaker.transactions import signed_in, writes
from models import Challenge, Organisation, Solution, db
from models.codes import COLLABORATION_FORMS, DOMAINS, PREFECTURES, ROLE_LABELS, ChallengeStatus, OrgKind

bp = Blueprint("public", __name__)

S = ChallengeStatus
LATEST_ON_LANDING = 6
STATE_LABELS: dict[str, Any] = {"open": _l("受付中"), "closed": _l("受付終了")}
FACET_TITLES: dict[str, Any] = {
    "state": _l("募集状況"), "domain": _l("分野"), "prefecture": _l("都道府県"), "form": _l("連携手法"),
}


@bp.route("/")
@public_page
def index() -> str:
    published = db.session.scalar(select(func.count(Challenge.id)).where(Challenge.status == S.PUBLISHED.value))
    municipalities = db.session.scalar(
        select(func.count(Organisation.id)).where(Organisation.kind == OrgKind.MUNICIPALITY.value)
    )
    solutions = db.session.scalar(select(func.count(Solution.id)).where(Solution.active.is_(True)))
    latest = db.session.scalars(
        select(Challenge).options(selectinload(Challenge.organisation))
        .where(Challenge.status == S.PUBLISHED.value)
        .order_by(Challenge.published_at.desc(), Challenge.id.desc()).limit(LATEST_ON_LANDING)
    ).all()
    return render_template(
        "public/index.html",
        counts={"challenges": published or 0, "municipalities": municipalities or 0, "solutions": solutions or 0},
        latest=latest,
        demo_accounts=demo_accounts() if current_app.config.get("DEMO_MODE") else [],
    )


def demo_accounts() -> list[dict[str, str]]:
    """The demo accounts from matchmaker.demo.accounts, or none when that module is not there."""
    try:
        module = importlib.import_module("matchmaker.demo.accounts")
    except ImportError:
        return []
    accounts = []
    for account in getattr(module, "DEMO_ACCOUNTS", None) or ():
        accounts.append({
            "role": str(account.get("role", "")),
            "email": str(account.get("email", "")),
            "password": str(account.get("password", "")),
            "name": str(account.get("name", "")),
            "organisation": str(account.get("organisation") or account.get("organisation_name") or ""),
        })
    return accounts


def _choice(name: str, allowed: Any) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None


@bp.route("/challenges")
@public_page
def challenges() -> str:
    page = page_arg()
    params = search.SearchParams(
        q=text_arg("q"),
        domain=_choice("domain", DOMAINS),
        prefecture=_choice("prefecture", PREFECTURES),
        form=_choice("form", COLLABORATION_FORMS),
        state=_choice("state", STATE_LABELS),
        page=page,
        page_size=int(current_app.config["PAGE_SIZE"]),
    )
    result = search.search(params, challenge_service.local_today(), state_labels=STATE_LABELS,
                           prefectures=PREFECTURES)
    items = search.challenges_in_order(result.ids)
    facets = [(name, FACET_TITLES[name], result.facets[name]) for name in ("state", "domain", "prefecture", "form")]
    filtered = any((params.q, params.domain, params.prefecture, params.form, params.state))
    return render_template("public/challenges.html", params=params, result=result, items=items, page=result,
                           facets=facets, filtered=filtered)


@bp.route("/challenges/<int:challenge_id>")
@public_page
@writes(when=signed_in)  # members' views count the exposure of the recommendations shown
def challenge(challenge_id: int) -> str:
    item = viewable_or_404(Challenge, challenge_id)
    today = challenge_service.local_today()
    manage = item.can_see_recommendations(current_user)  # the owner and coordinators
    report = clarity.check(clarity.values_of(item), today) if manage else None
    return render_template(
        "public/challenge.html",
        challenge=item,
        sections=challenge_sections(item),
        kpis=clarity.parse_kpis(item.kpis),
        accepts_proposals=item.accepts_proposals(today),
        manage=manage,
        report=report,
        actions=challenge_actions(item, current_user) if manage else None,
        edit_url=edit_url(item, current_user) if manage else None,
        review_url=url_for("coordinator.review", challenge_id=item.id) if current_user.is_authenticated
        and current_user.is_staff else None,
    )


# The roles the accessibility test visits: the site's roles, and the visitor who is not signed in.
TESTED_ROLE_LABELS: dict[str, Any] = {"anonymous": _l("ログインしていない利用者"), **ROLE_LABELS}
RESULTS_FILE = REPO_ROOT / "data" / "accessibility" / "axe-results.json"


@bp.route("/accessibility")
def accessibility() -> str:
    """The accessibility statement (ウェブアクセシビリティ方針) with the latest axe-core results."""
    path = current_app.config.get("ACCESSIBILITY_RESULTS") or RESULTS_FILE
    return render_template("public/accessibility.html", results=accessibility_results.load(Path(path)),
                           role_labels=TESTED_ROLE_LABELS)


@bp.route("/open-data")
def open_data() -> str:
    """The オープンデータ page: the licence and the links to the downloads of matchmaker/api/open_data.py."""
    datasets = [
        {"title": _l("公開中の課題"), "count": files.published_count(),
         "csv": url_for("api_v1.open_challenges_csv"), "csv_name": "challenges.csv",
         "json": url_for("api_v1.open_challenges_json"), "json_name": "challenges.json"},
        {"title": _l("事例集"), "count": match_service.case_count(),
         "csv": url_for("api_v1.open_cases_csv"), "csv_name": "cases.csv",
         "json": url_for("api_v1.open_cases_json"), "json_name": "cases.json"},
    ]
    return render_template("public/open_data.html", datasets=datasets, license_url=files.LICENSE_URL)


@bp.route("/api/docs")
def api_docs() -> str:
    """Interactive API documentation: Swagger UI from static/vendor/swagger-ui (no CDN, for LGWAN)."""
    return render_template("public/api_docs.html")


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    target = request.form.get("next") or url_for("public.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        target = url_for("public.index")
    return redirect(target)
