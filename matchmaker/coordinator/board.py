"""The pipeline board: matches by stage, stalled items, the funnel with a chart, and exports.

Also provides, to every template, ``budget_warnings_for(user)`` and ``upcoming_deadlines_for(user)``
for the dashboard includes ``_partials/budget_warnings.html`` and ``_partials/deadlines.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from matchmaker.args import id_arg
from matchmaker.coordinator import bp
from matchmaker.services import board as board_service
from matchmaker.services import deadlines, exports, handover
from matchmaker.services.challenges import local_today
from matchmaker.transactions import writes
from models import db
from models.codes import DOMAINS
from models.match import STAGE_LABELS

CHART_LABEL_WIDTH = 130
CHART_BAR_MAX = 380
CHART_ROW = 34
CHART_BAR_HEIGHT = 24
EXPORT_MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ChartBar:
    stage: str
    label: str
    reached: int
    y: int
    width: int
    text_x: int
    caption: str  # e.g. "12件 → 次へ 58%"


@dataclass(frozen=True)
class Chart:
    bars: tuple[ChartBar, ...]
    width: int
    height: int
    label_width: int = CHART_LABEL_WIDTH
    bar_height: int = CHART_BAR_HEIGHT


@dataclass(frozen=True)
class Column:
    stage: str
    label: str
    items: list[board_service.BoardItem]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def funnel_chart(result: board_service.Funnel) -> Chart:
    """Horizontal bars of how many matches reached each stage, sized for an inline SVG."""
    top = max((s.reached for s in result.stages), default=0) or 1
    bars = []
    for i, stage in enumerate(result.stages):
        width = round(CHART_BAR_MAX * stage.reached / top)
        caption = _("%(n)d件", n=stage.reached)
        if stage.conversion is not None:
            caption = _("%(n)d件 → 次へ %(rate)s", n=stage.reached, rate=percent(stage.conversion))
        bars.append(ChartBar(stage.stage, str(STAGE_LABELS[stage.stage]), stage.reached, i * CHART_ROW, width,
                             CHART_LABEL_WIDTH + width + 6, caption))
    return Chart(tuple(bars), width=CHART_LABEL_WIDTH + CHART_BAR_MAX + 170, height=len(bars) * CHART_ROW)


def read_filters() -> board_service.BoardFilters:
    domain = request.args.get("domain", "")
    return board_service.BoardFilters(
        municipality_id=id_arg("municipality"),
        domain=domain if domain in DOMAINS else None,
        stalled_only=request.args.get("stalled") == "1",
    )


def _stalled_after() -> int:
    return int(current_app.config["STALLED_AFTER_DAYS"])


@bp.route("/board")
def board() -> str:
    filters = read_filters()
    items = board_service.board_items(filters, datetime.now(UTC), _stalled_after())
    columns = [Column(stage, str(STAGE_LABELS[stage]), [i for i in items if i.match.stage == stage])
               for stage in board_service.BOARD_COLUMNS]
    stalled = sorted((i for i in items if i.stalled), key=lambda i: -i.idle_days)
    result = board_service.funnel_for(filters)
    # Only running pilots need a budget request; an adopted or closed match is past that point.
    running = [i.match for i in items if i.match.pilot is not None and i.match.stage == "pilot"]
    warnings = deadlines.budget_warnings(running, local_today())
    return render_template(
        "coordinator/board.html", filters=filters, columns=columns, stalled=stalled, funnel=result,
        chart=funnel_chart(result), percent=percent, budget_warnings=warnings, stalled_after=_stalled_after(),
        municipalities=board_service.municipalities_with_matches(), total=len(items), stage_labels=STAGE_LABELS,
        stalled_handovers=handover.stalled_since_handover(datetime.now(UTC), municipality_id=filters.municipality_id),
        handover_days=handover.STALLED_AFTER_HANDOVER_DAYS,
    )


@bp.route("/exports/<kind>.<fmt>")
@writes()  # the export is audited
def export(kind: str, fmt: str) -> Response:
    if kind not in exports.KINDS or fmt not in exports.FORMATS:
        abort(404)
    filters = read_filters()
    if kind == "challenges":
        table = exports.challenges_table(filters)
    elif kind == "matches":
        table = exports.matches_table(filters, datetime.now(UTC), _stalled_after(), local_today())
    else:
        table = exports.funnel_table(filters)
    data = exports.render(table, fmt)
    exports.record_export(current_user, table, fmt, filters)
    db.session.commit()
    filename = f"{table.name}-{local_today().isoformat()}.{fmt}"
    return Response(data, mimetype=EXPORT_MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.app_context_processor
def _dashboard_helpers() -> dict[str, Any]:
    """Lazy helpers for the dashboard includes: nothing is queried unless a template calls them."""
    return {
        "budget_warnings_for": deadlines.budget_warnings_for,
        "upcoming_deadlines_for": deadlines.upcoming_deadlines,
        "budget_status_label": lambda status: str(deadlines.BUDGET_STATUS_LABELS.get(status, status)),
        "deadline_label": lambda kind: str(deadlines.DEADLINE_LABELS.get(kind, kind)),
        "deadline_window_days": deadlines.DEADLINE_WINDOW_DAYS,
    }
