"""Exports of challenges, matches and the funnel as CSV (UTF-8 with BOM, so Excel reads Japanese)
and Excel (.xlsx). Coordinators and administrators only; every download is audited.

Column names are the field names of ``docs/fields.md`` where one exists (a challenge export can be
imported again), otherwise plain snake_case; code lists are ``;``-separated codes. Text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return, their
full-width forms, also after leading spaces) is prefixed with ``'`` by ``safe_cell``, the one
function every spreadsheet this site writes goes through (tests/test_exports.py holds every
writer of CSV or Excel in matchmaker/ to this module).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import selectinload

from matchmaker.i18n import local_time
from matchmaker.services import audit, board, deadlines
from models import Challenge, Match, db
from models.match import STAGE_LABELS

KINDS: tuple[str, ...] = ("challenges", "matches", "funnel")
FORMATS: tuple[str, ...] = ("csv", "xlsx")
# OWASP CSV injection: = + - @ tab CR; Japanese input methods also type the full-width ＝＋－＠,
# which spreadsheets may read as the same operators.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

CHALLENGE_COLUMNS: tuple[str, ...] = (
    "id", "organisation", "prefecture", "title", "background", "problem", "causes", "affected", "target_state",
    "kpis", "constraints", "offerings", "budget_min", "budget_max", "fiscal_year", "collaboration_forms",
    "domains", "sdgs", "deadline", "contact_department", "status", "published_at", "matches",
)
MATCH_COLUMNS: tuple[str, ...] = (
    "id", "challenge_id", "challenge_title", "municipality", "prefecture", "solution_id", "solution_title",
    "company", "stage", "stage_label", "origin", "created_at", "stage_changed_at", "last_activity_at",
    "idle_days", "stalled", "pilot_starts_on", "pilot_ends_on", "budget_request_recorded_on",
    "budget_request_deadline", "budget_status", "adopted_fiscal_year", "procurement_route", "adoption_amount",
    "close_reason", "closed_from",
)
FUNNEL_COLUMNS: tuple[str, ...] = ("stage", "stage_label", "current", "reached", "conversion", "median_days")


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: list[list[Any]]


def _jst(moment: datetime | None) -> datetime | None:
    """Spreadsheets keep no time zone: write Japan time, naive."""
    if moment is None:
        return None
    return local_time(moment).replace(tzinfo=None, microsecond=0)


def _join(values: Sequence[Any] | None) -> str:
    return ";".join(str(v) for v in values or ())


# --- the tables ------------------------------------------------------------------------------


def challenges_table(filters: board.BoardFilters) -> Table:
    query = select(Challenge).options(selectinload(Challenge.organisation)).order_by(Challenge.id)
    if filters.municipality_id:
        query = query.where(Challenge.organisation_id == filters.municipality_id)
    if filters.domain:
        query = query.where(cast(Challenge.domains, String).like(f'%"{filters.domain}"%'))
    counts: dict[int, int] = {challenge_id: n for challenge_id, n in db.session.execute(
        select(Match.challenge_id, func.count(Match.id)).group_by(Match.challenge_id))}
    rows = []
    for c in db.session.scalars(query):
        rows.append([c.id, c.organisation.name, c.organisation.prefecture, c.title, c.background, c.problem,
                     c.causes, c.affected, c.target_state, c.kpis, c.constraints, c.offerings, c.budget_min,
                     c.budget_max, c.fiscal_year, _join(c.collaboration_forms), _join(c.domains), _join(c.sdgs),
                     c.deadline, c.contact_department, c.status, _jst(c.published_at), counts.get(c.id, 0)])
    return Table("challenges", CHALLENGE_COLUMNS, rows)


def matches_table(filters: board.BoardFilters, now: datetime, stalled_after: int, today: date) -> Table:
    items = board.board_items(filters, now, stalled_after)
    checks = {w.match_id: w.check for w in deadlines.budget_warnings(
        [i.match for i in items if i.match.pilot is not None], today, only_flagged=False)}
    rows = []
    for item in items:
        m, pilot, check = item.match, item.match.pilot, checks.get(item.match.id)
        rows.append([
            m.id, m.challenge_id, m.challenge.title, m.challenge.organisation.name, m.challenge.organisation.prefecture,
            m.solution_id, m.solution.title, m.solution.organisation.name, m.stage, str(STAGE_LABELS[m.stage]),
            m.origin, _jst(m.created_at), _jst(m.stage_changed_at), _jst(item.last_activity), item.idle_days,
            item.stalled, pilot.starts_on if pilot else None, pilot.ends_on if pilot else None,
            pilot.budget_request_recorded_on if pilot else None, check.deadline if check else None,
            check.status if check else None, m.adopted_fiscal_year, m.procurement_route, m.adoption_amount,
            m.close_reason, m.closed_from,
        ])
    return Table("matches", MATCH_COLUMNS, rows)


def funnel_table(filters: board.BoardFilters) -> Table:
    result = board.funnel_for(filters)
    rows: list[list[Any]] = [
        [s.stage, str(STAGE_LABELS[s.stage]), s.current, s.reached,
         None if s.conversion is None else round(s.conversion, 4),
         None if s.median_days is None else round(s.median_days, 1)]
        for s in result.stages
    ]
    rows.append([board.M.CLOSED.value, str(STAGE_LABELS[board.M.CLOSED.value]), result.closed, None, None, None])
    rate = result.pilot_adoption_rate
    rows.append(["pilot_to_adoption", _("実証実験→導入率"), result.pilots_adopted, result.pilots_decided,
                 None if rate is None else round(rate, 4), None])
    return Table("funnel", FUNNEL_COLUMNS, rows)


# --- writing files ---------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV/formula injection)."""
    if isinstance(value, str) and value.lstrip(" \u3000").startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(safe_cell(value))


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    return tables_to_xlsx([table])


def tables_to_xlsx(tables: Sequence[Table]) -> bytes:
    """One sheet per table (named by it), bold frozen header, columns as wide as their text."""
    workbook = Workbook()
    default = workbook.active
    assert default is not None
    workbook.remove(default)
    for table in tables:
        sheet = workbook.create_sheet(table.name[:31])
        sheet.append([safe_cell(v) for v in table.header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([safe_cell(v) for v in row])
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            letter = column[0].column_letter
            width = max((len(str(c.value)) for c in column[:50] if c.value is not None), default=8)
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(table: Table, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


def record_export(actor: Any, table: Table, fmt: str, filters: board.BoardFilters) -> None:
    """Audit the download: who took which table, in which format, with how many rows."""
    target = SimpleNamespace(__tablename__="export", id=None)
    audit.record(actor, f"export.{table.name}", target, to_state=fmt, rows=len(table.rows),
                 filters=filters.as_dict())
