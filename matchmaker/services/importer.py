"""Importing organisations, challenges and solution profiles from CSV or JSONL files.

Columns are the field names of docs/fields.md (the format is described in docs/import.md). Each
row is checked completely, so that one line names every problem of the row, and is written inside
its own SAVEPOINT: a row lands whole (with the organisation it creates and its audit row) or not at
all, while good rows still land. The caller commits once, or rolls back for a dry run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchmaker.services import audit
from matchmaker.services.accounts import create_organisation
from matchmaker.services.errors import FieldError
from matchmaker.services.import_cells import ORG_KIND_LABELS, Cells, RowRejected
from matchmaker.services.import_files import COLUMNS, ImportFileError, Kind, SourceRow, read_file
from matchmaker.services.solutions import INPUT_FIELDS as SOLUTION_INPUT_FIELDS
from matchmaker.services.solutions import SolutionInput
from matchmaker.services.solutions import check as check_solution
from models import Challenge, Organisation, Solution, db
from models.challenge import TEXT_FIELDS as CHALLENGE_TEXT_FIELDS
from models.codes import (
    CHALLENGE_STATUS_LABELS,
    COLLABORATION_FORMS,
    COMPANY_SIZES,
    DOMAINS,
    MATURITY,
    ChallengeStatus,
    OrgKind,
)

RowStatus = Literal["imported", "skipped", "rejected"]

__all__ = [
    "ImportFileError", "ImportReport", "Kind", "RowResult", "SourceRow", "import_file", "import_rows", "read_file",
]


@dataclass(frozen=True)
class RowResult:
    line: int
    status: RowStatus
    message: str = ""
    object_id: int | None = None


@dataclass
class ImportReport:
    kind: Kind
    results: list[RowResult] = field(default_factory=list)
    created: list[Any] = field(default_factory=list)  # the rows written, in file order
    created_organisations: list[str] = field(default_factory=list)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.results if r.status == "rejected"]


@dataclass
class _Context:
    create_orgs: bool
    actor: Any
    now: datetime
    source: str
    report: ImportReport


def import_file(path: str | Path, kind: Kind, **options: Any) -> ImportReport:
    """Read ``path`` (CSV or JSONL) and import its rows; see ``import_rows`` for the options."""
    return import_rows(kind, read_file(path, kind), source=Path(path).name, **options)


def import_rows(
    kind: Kind, rows: Iterable[SourceRow], *, create_orgs: bool = False, actor: Any = None,
    schedule_vectors: bool = True, source: str = "", now: datetime | None = None,
) -> ImportReport:
    """Import ``rows``, each in its own SAVEPOINT. The caller commits or rolls back.

    Args:
        create_orgs: create a missing organisation by name (from the ``organisation_*`` columns).
        actor: the user the audit rows name; None for the system.
        schedule_vectors: embed the imported rows after commit (the demo loader leaves it to the
            background sync that starts with the site).
    """
    report = ImportReport(kind)
    context = _Context(create_orgs, actor, now or datetime.now(UTC), source, report)
    write = _WRITERS[kind]
    _open_real_transaction()
    for row in rows:
        if row.problem:
            report.results.append(RowResult(row.line, "rejected", row.problem))
            continue
        created_orgs = len(report.created_organisations)
        try:
            with db.session.begin_nested():
                result = write(row, context)
        except RowRejected as rejected:
            result = RowResult(row.line, "rejected", rejected.message)
        except IntegrityError as error:
            result = RowResult(row.line, "rejected", _("データベースの制約に反するため登録できません（%(detail)s）。",
                                                        detail=str(error.orig).splitlines()[0]))
        if result.status == "rejected":
            del report.created_organisations[created_orgs:]
        report.results.append(result)
    if schedule_vectors and kind != "organisations":
        from matchmaker.services.vectors import schedule_reembed  # loads the ranking stack

        for entity in report.created:  # after the loop: a rolled-back savepoint drops queued jobs
            schedule_reembed(entity)
    return report


def _open_real_transaction() -> None:
    """pysqlite opens its transaction only at the first write, so a SAVEPOINT before that starts a
    transaction of its own and RELEASE commits it. Open the real one first so savepoints nest."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            connection.exec_driver_sql("BEGIN")


# --- organisations ---------------------------------------------------------------------------


def _organisation_row(row: SourceRow, context: _Context) -> RowResult:
    cells = Cells(row.values, COLUMNS["organisations"])
    name = cells.text("name", required=True, limit=200)
    kind = cells.code("kind", ORG_KIND_LABELS, required=True)
    prefecture = cells.prefecture("prefecture", required=True)
    values: dict[str, Any] = {}
    if kind == OrgKind.MUNICIPALITY.value:
        values["lg_code"] = cells.lg_code("lg_code", required=True)
        values["population"] = cells.integer("population")
        cells.refuse("corporate_number", "size", because=_("自治体には指定できません。"))
    elif kind == OrgKind.COMPANY.value:
        values["size"] = cells.code("size", COMPANY_SIZES)
        values["corporate_number"] = cells.corporate_number("corporate_number")
        cells.refuse("lg_code", "population", because=_("企業・団体には指定できません。"))
    existing = _organisation_named(name) if name else None
    if existing is not None and kind and existing.kind != kind:
        cells.fail("kind", _("同じ名前の組織が別の種類で登録されています。"))
    cells.raise_if_problems()
    if existing is not None:
        return RowResult(row.line, "skipped", _("「%(name)s」は登録済みです。", name=name), existing.id)
    organisation = _create_organisation(cells, "", name=name, kind=str(kind), prefecture=str(prefecture), **values)
    audit.record(context.actor, "organisation.imported", organisation, to_state=organisation.kind,
                 source=context.source, line=row.line)
    context.report.created.append(organisation)
    return RowResult(row.line, "imported", object_id=organisation.id)


def _organisation_named(name: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _create_organisation(cells: Cells, prefix: str, **values: Any) -> Organisation:
    try:
        return create_organisation(**values)
    except FieldError as error:
        cells.fail(prefix + error.field, str(error.message))
        cells.raise_if_problems()
        raise  # unreachable: raise_if_problems raised


def _organisation_for(cells: Cells, kind: OrgKind, context: _Context) -> Callable[[], Organisation] | None:
    """The row's organisation (or, with --create-orgs, a way to create it once the row is valid)."""
    name = cells.text("organisation", required=True, limit=200)
    if not name:
        return None
    existing = _organisation_named(name)
    wanted = _("自治体") if kind == OrgKind.MUNICIPALITY else _("企業・団体")
    if existing is not None:
        if existing.kind != kind.value:
            cells.fail("organisation", _("「%(name)s」は%(kind)sとして登録されていません。", name=name, kind=wanted))
        elif kind == OrgKind.MUNICIPALITY:
            lg_code = cells.lg_code("organisation_lg_code")
            if lg_code and lg_code != existing.lg_code:
                cells.fail("organisation_lg_code", _("登録済みの「%(name)s」の団体コード（%(code)s）と一致しません。",
                                                     name=name, code=existing.lg_code or ""))
        return lambda: existing
    if not context.create_orgs:
        cells.fail("organisation", _("組織「%(name)s」が登録されていません（--create-orgs で作成できます）。",
                                     name=name))
        return None
    prefecture = cells.prefecture("organisation_prefecture", required=True)
    values: dict[str, Any] = {"name": name, "kind": kind.value, "prefecture": prefecture}
    if kind == OrgKind.MUNICIPALITY:
        values["lg_code"] = cells.lg_code("organisation_lg_code", required=True)
        values["population"] = cells.integer("organisation_population")
    else:
        values["size"] = cells.code("organisation_size", COMPANY_SIZES)
        values["corporate_number"] = cells.corporate_number("organisation_corporate_number")

    def create() -> Organisation:
        organisation = _create_organisation(cells, "organisation_", **values)
        audit.record(context.actor, "organisation.imported", organisation, to_state=organisation.kind,
                     source=context.source, line=cells.line)
        context.report.created_organisations.append(name)
        return organisation

    return create


def _already_there(model: type[Challenge | Solution], organisation: Organisation, title: str) -> int | None:
    if organisation.id is None:
        return None
    return db.session.scalar(
        select(model.id).where(model.organisation_id == organisation.id, model.title == title).limit(1)
    )


# --- challenges ------------------------------------------------------------------------------


def _challenge_row(row: SourceRow, context: _Context) -> RowResult:
    cells = Cells(row.values, COLUMNS["challenges"], line=row.line)
    organisation = _organisation_for(cells, OrgKind.MUNICIPALITY, context)
    values: dict[str, Any] = {"title": cells.text("title", required=True, limit=200)}
    for name in CHALLENGE_TEXT_FIELDS:
        if name != "title":
            values[name] = cells.text(name)
    values.update(
        budget_min=cells.integer("budget_min"),
        budget_max=cells.integer("budget_max"),
        fiscal_year=cells.fiscal_year("fiscal_year"),
        collaboration_forms=cells.codes("collaboration_forms", COLLABORATION_FORMS),
        domains=cells.codes("domains", DOMAINS),
        sdgs=cells.numbers("sdgs", low=1, high=17),
        deadline=cells.day("deadline"),
        contact_department=cells.text("contact_department", limit=200),
        status=cells.code("status", CHALLENGE_STATUS_LABELS) or ChallengeStatus.DRAFT.value,
    )
    if values["budget_min"] is not None and values["budget_max"] is not None \
            and values["budget_min"] > values["budget_max"]:
        cells.fail("budget_max", _("予算の上限は下限（budget_min）以上の金額にしてください。"))
    cells.raise_if_problems()
    assert organisation is not None  # raise_if_problems refused a row without one
    owner = organisation()
    duplicate = _already_there(Challenge, owner, values["title"])
    if duplicate is not None:
        return RowResult(row.line, "skipped", _("同じ課題名の課題が「%(name)s」に登録済みです。", name=owner.name),
                         duplicate)
    challenge = Challenge(organisation=owner, author=None, **values)
    if challenge.status in (ChallengeStatus.PUBLISHED.value, ChallengeStatus.CLOSED.value):
        challenge.published_at = context.now
    if challenge.status == ChallengeStatus.CLOSED.value:
        challenge.closed_at = context.now
    db.session.add(challenge)
    db.session.flush()
    audit.record(context.actor, "challenge.imported", challenge, to_state=challenge.status,
                 source=context.source, line=row.line)
    context.report.created.append(challenge)
    return RowResult(row.line, "imported", object_id=challenge.id)


# --- solution profiles -----------------------------------------------------------------------


def _solution_row(row: SourceRow, context: _Context) -> RowResult:
    cells = Cells(row.values, COLUMNS["solutions"], line=row.line)
    organisation = _organisation_for(cells, OrgKind.COMPANY, context)
    data = SolutionInput(
        title=cells.text("title", required=True, limit=200),
        summary=cells.text("summary"),
        target_users=cells.text("target_users"),
        track_record=cells.text("track_record"),
        evidence=cells.text("evidence"),
        price_min=cells.integer("price_min"),
        price_max=cells.integer("price_max"),
        lead_time_weeks=cells.integer("lead_time_weeks", high=520),
        regions=cells.prefectures("regions"),
        maturity=cells.code("maturity", MATURITY, required=True) or "",
        collaboration_forms=cells.codes("collaboration_forms", COLLABORATION_FORMS),
        domains=cells.codes("domains", DOMAINS, required=True),
    )
    if data.price_min is not None and data.price_max is not None and data.price_min > data.price_max:
        cells.fail("price_max", _("価格の上限は下限（price_min）以上の金額にしてください。"))
    cells.raise_if_problems()
    try:
        data = check_solution(data)
    except FieldError as error:  # a rule of the profile service the cells did not already check
        cells.fail(error.field, str(error.message))
        cells.raise_if_problems()
    assert organisation is not None
    owner = organisation()
    duplicate = _already_there(Solution, owner, data.title)
    if duplicate is not None:
        return RowResult(row.line, "skipped", _("同じ名前のソリューションが「%(name)s」に登録済みです。",
                                                name=owner.name), duplicate)
    solution = Solution(organisation=owner, active=True, **{n: getattr(data, n) for n in SOLUTION_INPUT_FIELDS})
    db.session.add(solution)
    db.session.flush()
    audit.record(context.actor, "solution.imported", solution, to_state="active",
                 source=context.source, line=row.line)
    context.report.created.append(solution)
    return RowResult(row.line, "imported", object_id=solution.id)


_WRITERS: dict[Kind, Callable[[SourceRow, _Context], RowResult]] = {
    "organisations": _organisation_row,
    "challenges": _challenge_row,
    "solutions": _solution_row,
}
