"""Open data (オープンデータ): the published challenge list and the case library as whole files,
CSV and JSON, under CC BY 4.0, for anyone (no login).

The rows are those of the public API (``challenge_detail``, ``case_data`` in views.py) and so of
the public pages: challenges the search page lists (``search.VISIBLE``: published and closed, which
``Challenge.can_view`` shows to anyone), cases the case library lists. The CSV is written by
``services.exports.to_csv`` (UTF-8 with BOM so that Excel opens Japanese, CRLF, ``safe_cell`` on
every cell against formula injection); its columns are the tuples below, documented in
docs/api.md. A column is only ever added at the end, never renamed or removed within /api/v1.
Caching (ETag, Cache-Control: public) is the API blueprint's (``views._public_and_cacheable``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from matchmaker.api.schemas import OpenDataCases, OpenDataChallenges
from matchmaker.api.views import blp, case_data, challenge_detail
from matchmaker.i18n import local_time
from matchmaker.services import exports
from matchmaker.services import matches as match_service
from matchmaker.services.search import VISIBLE
from models import Challenge, db

LICENSE = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "matchmaker（官民共創）および各レコードの自治体・企業"
CSV_TYPE = "text/csv; charset=utf-8; header=present"

CHALLENGE_COLUMNS: tuple[str, ...] = (
    "id", "title", "status", "state", "organisation_id", "organisation", "prefecture", "domains",
    "collaboration_forms", "sdgs", "background", "problem", "causes", "affected", "target_state", "kpis",
    "constraints", "offerings", "budget_min", "budget_max", "fiscal_year", "deadline", "contact_department",
    "published_at", "closed_at", "url",
)
CASE_COLUMNS: tuple[str, ...] = (
    "id", "stage", "challenge_id", "challenge_title", "organisation_id", "organisation", "prefecture", "domains",
    "collaboration_forms", "problem", "solution_title", "solution_summary", "company", "pilot_starts_on",
    "pilot_ends_on", "pilot_summary", "pilot_verdict", "pilot_report_summary", "kpis", "kpis_achieved",
    "adoption_fiscal_year", "procurement_route", "adoption_amount", "close_reason", "close_note", "url",
)
LICENSE_HEADERS = {
    "Link": {"description": f'<{LICENSE_URL}>; rel="license": the licence of the data ({LICENSE}).',
             "schema": {"type": "string"}},
    "Content-Disposition": {"description": "attachment, with the file name.", "schema": {"type": "string"}},
}
CSV_SCHEMA = {"type": "string", "description": "CSV (RFC 4180), UTF-8 with BOM, CRLF; columns in docs/api.md."}


def published_challenges() -> list[Challenge]:
    """The challenges of the public list, oldest id first (a stable order for a file)."""
    return list(db.session.scalars(select(Challenge).options(selectinload(Challenge.organisation))
                                   .where(Challenge.status.in_(VISIBLE)).order_by(Challenge.id)))


def published_count() -> int:
    """How many rows challenges.csv has (the オープンデータ page's figure), counted by the database."""
    return db.session.scalar(select(func.count(Challenge.id)).where(Challenge.status.in_(VISIBLE))) or 0


def _instant(moment: datetime | None) -> str | None:
    """ISO 8601 in Japan time with its offset, to the second."""
    return None if moment is None else local_time(moment).replace(microsecond=0).isoformat()


def _codes(values: Iterable[Any]) -> str:
    return ";".join(str(v) for v in values)


def challenge_row(data: dict[str, Any]) -> list[Any]:
    org = data["organisation"]
    flat = {**data, "organisation_id": org["id"], "organisation": org["name"], "prefecture": org["prefecture"],
            "domains": _codes(data["domains"]), "collaboration_forms": _codes(data["collaboration_forms"]),
            "sdgs": _codes(data["sdgs"]), "published_at": _instant(data["published_at"]),
            "closed_at": _instant(data["closed_at"])}
    return [flat[name] for name in CHALLENGE_COLUMNS]


def _kpi_line(kpi: dict[str, Any]) -> str:
    achieved = {True: "yes", False: "no", None: "-"}[kpi["achieved"]]
    return (f"{kpi['name']} [{kpi['unit']}]: baseline={_number(kpi['baseline'])}, target={_number(kpi['target'])}, "
            f"actual={_number(kpi['actual'])}, achieved={achieved}")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def case_row(data: dict[str, Any]) -> list[Any]:
    challenge, solution = data["challenge"], data["solution"]
    pilot, adoption = data["pilot"] or {}, data["adoption"] or {}
    kpis = pilot.get("kpis", [])
    flat = {
        **data, "challenge_id": challenge["id"], "challenge_title": challenge["title"],
        "organisation_id": challenge["organisation"]["id"], "organisation": challenge["organisation"]["name"],
        "prefecture": challenge["organisation"]["prefecture"], "domains": _codes(challenge["domains"]),
        "collaboration_forms": _codes(challenge["collaboration_forms"]), "problem": challenge["problem"],
        "solution_title": solution["title"], "solution_summary": solution["summary"], "company": solution["company"],
        "pilot_starts_on": pilot.get("starts_on"), "pilot_ends_on": pilot.get("ends_on"),
        "pilot_summary": pilot.get("summary"), "pilot_verdict": pilot.get("verdict"),
        "pilot_report_summary": pilot.get("report_summary"), "kpis": "\n".join(_kpi_line(k) for k in kpis),
        "kpis_achieved": sum(1 for k in kpis if k["achieved"]) if kpis else None,
        "adoption_fiscal_year": adoption.get("fiscal_year"), "procurement_route": adoption.get("procurement_route"),
        "adoption_amount": adoption.get("amount"),
    }
    return [flat[name] for name in CASE_COLUMNS]


def _envelope(dataset: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"dataset": dataset, "license": LICENSE, "license_url": LICENSE_URL, "attribution": ATTRIBUTION,
            "columns_documented_at": "docs/api.md#open-data", "count": len(items), "items": items}


def _file_headers(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Link": f'<{LICENSE_URL}>; rel="license"'}


def _csv_file(table: exports.Table, filename: str) -> Response:
    return Response(exports.to_csv(table), content_type=CSV_TYPE, headers=_file_headers(filename))


@blp.route("/open-data/challenges.csv")
@blp.response(200, CSV_SCHEMA, content_type="text/csv", headers=LICENSE_HEADERS)
def open_challenges_csv() -> Response:
    """Every published (or closed) challenge as CSV, one row each (CC BY 4.0; columns in docs/api.md)."""
    rows = [challenge_row(challenge_detail(c)) for c in published_challenges()]
    return _csv_file(exports.Table("challenges", CHALLENGE_COLUMNS, rows), "matchmaker-challenges.csv")


@blp.route("/open-data/challenges.json")
@blp.response(200, OpenDataChallenges, headers=LICENSE_HEADERS)
def open_challenges_json() -> Any:
    """Every published (or closed) challenge as JSON, each as GET /challenges/{id} answers (CC BY 4.0)."""
    items = [challenge_detail(c) for c in published_challenges()]
    return _envelope("challenges", items), _file_headers("matchmaker-challenges.json")


@blp.route("/open-data/cases.csv")
@blp.response(200, CSV_SCHEMA, content_type="text/csv", headers=LICENSE_HEADERS)
def open_cases_csv() -> Response:
    """The whole case library as CSV, newest first as on /matches/cases (CC BY 4.0; columns in docs/api.md)."""
    rows = [case_row(case_data(m)) for m in match_service.cases(with_kpis=True)]
    return _csv_file(exports.Table("cases", CASE_COLUMNS, rows), "matchmaker-cases.csv")


@blp.route("/open-data/cases.json")
@blp.response(200, OpenDataCases, headers=LICENSE_HEADERS)
def open_cases_json() -> Any:
    """The whole case library as JSON, each case as GET /cases/{id} answers (CC BY 4.0)."""
    items = [case_data(m) for m in match_service.cases(with_kpis=True)]
    return _envelope("cases", items), _file_headers("matchmaker-cases.json")
