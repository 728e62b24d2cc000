"""The audit log viewer: every recorded action, filtered and paginated. Read-only by design —
there are no routes that change it, and the model refuses updates and deletes.

Administrators and coordinators may read it (``COORDINATOR_ENDPOINTS`` in admin/views.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from matchmaker.admin.views import bp
from matchmaker.args import number, page_arg, text_arg, within_calendar
from matchmaker.i18n import local_time
from models import AuditEvent, User, db

# Object types whose pages coordinators and administrators can open, by endpoint and argument.
OBJECT_PAGES: dict[str, tuple[str, str]] = {
    "challenge": ("public.challenge", "challenge_id"),
    "match": ("matches.match", "match_id"),
    "user_account": ("admin.user", "user_id"),
    "organisation": ("admin.edit_organisation", "organisation_id"),
}


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    actor: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _date_arg(name: str, errors: dict[str, str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = _("日付は「2026-04-01」の形で入力してください。")
        return None
    if not within_calendar(day):
        errors[name] = _("日付は1900年から2999年までの間で入力してください。")
        return None
    return day


def read_filters() -> tuple[AuditFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    raw_object_id = request.args.get("object_id", "").strip()
    object_id = number(raw_object_id)
    if raw_object_id and object_id is None:
        errors["object_id"] = _("対象IDは数字で入力してください。")
    filters = AuditFilters(
        action=text_arg("action"),
        object_type=text_arg("object_type"),
        object_id=object_id,
        actor=text_arg("actor"),
        date_from=_date_arg("date_from", errors),
        date_to=_date_arg("date_to", errors),
    )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        errors["date_to"] = _("終了日は開始日以降にしてください。")
    return filters, errors


def _start_of(day: date) -> datetime:
    """Days are Japanese calendar days; the log stores UTC (and SQLite compares the text as stored)."""
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    return local.astimezone(UTC)


def audit_query(filters: AuditFilters) -> Select[tuple[AuditEvent]]:
    query = (select(AuditEvent).options(selectinload(AuditEvent.actor))
             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.actor == "system":
        query = query.where(AuditEvent.actor_id.is_(None))
    elif (actor_id := number(filters.actor)) is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    elif filters.actor:
        pattern = f"%{filters.actor.lower()}%"
        people = select(User.id).where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
        query = query.where(AuditEvent.actor_id.in_(people))
    if filters.date_from:
        query = query.where(AuditEvent.at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.at < _start_of(filters.date_to + timedelta(days=1)))
    return query


def object_url(event: AuditEvent) -> str | None:
    page = OBJECT_PAGES.get(event.object_type)
    if page is None or event.object_id is None:
        return None
    try:
        values: dict[str, Any] = {page[1]: event.object_id}
        return url_for(page[0], **values)
    except BuildError:  # the area that shows this object is not installed
        return None


def details_text(event: AuditEvent) -> str:
    """The event's details as JSON that keeps Japanese readable."""
    return json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True, default=str)


def _distinct(column: Any) -> list[str]:
    return [v for v in db.session.scalars(select(column).distinct().order_by(column)) if v]


@bp.route("/audit")
def audit() -> str:
    filters, errors = read_filters()
    page = db.paginate(audit_query(filters), page=page_arg(),
                       per_page=int(current_app.config["PAGE_SIZE"]), error_out=False)
    return render_template(
        "admin/audit.html", page=page, filters=filters, errors=errors, object_url=object_url, local_time=local_time,
        details_text=details_text,
        actions=_distinct(AuditEvent.action), object_types=_distinct(AuditEvent.object_type),
    )
