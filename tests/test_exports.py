"""Exports of challenges, matches and the funnel: they parse back with the csv module and openpyxl,
carry the right rows, neutralise formulas, are audited, and only coordinators and admins get them."""

from __future__ import annotations

import csv
import io

import pytest
from flask import url_for
from openpyxl import load_workbook
from sqlalchemy import select

from matchmaker.services import exports
from models import AuditEvent
from tests.pipeline_factories import make_challenge, make_match, make_pair, make_solution

KINDS = ("challenges", "matches", "funnel")


def _csv_rows(response) -> list[dict[str, str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel reads Japanese"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    return [dict(zip(header, row)) for row in values[1:]]


@pytest.fixture()
def pipeline(db):
    pair = make_pair(title="=HYPERLINK(\"http://evil\")公共交通の課題", domains=["transport"])
    proposal = make_match(pair.challenge, pair.solution, stage="proposal")
    pilot = make_match(pair.challenge, make_solution(title="見守りセンサー"), stage="pilot")
    other = make_match(make_challenge(title="防災の課題", domains=["disaster"]), make_solution(), stage="adopted")
    db.session.commit()
    return {"pair": pair, "proposal": proposal, "pilot": pilot, "other": other}


def test_matches_csv_parses_back_with_one_row_per_match(client, login_as, pipeline):
    login_as("coordinator")
    response = client.get(url_for("coordinator.export", kind="matches", fmt="csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response)
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == {pipeline["proposal"].id, pipeline["pilot"].id, pipeline["other"].id}
    assert by_id[pipeline["pilot"].id]["stage"] == "pilot"
    assert by_id[pipeline["pilot"].id]["stage_label"] == "実証実験"
    assert by_id[pipeline["pilot"].id]["solution_title"] == "見守りセンサー"
    assert by_id[pipeline["pilot"].id]["pilot_ends_on"] == pipeline["pilot"].pilot.ends_on.isoformat()
    assert by_id[pipeline["other"].id]["adoption_amount"] == "2400000"
    # A title that a spreadsheet would run as a formula is written as text.
    assert by_id[pipeline["proposal"].id]["challenge_title"].startswith("'=HYPERLINK")


def test_matches_xlsx_parses_back_with_the_same_rows(client, login_as, pipeline):
    login_as("admin")
    response = client.get(url_for("coordinator.export", kind="matches", fmt="xlsx"))
    assert response.status_code == 200
    rows = _xlsx_rows(response)
    assert sorted(r["id"] for r in rows) == sorted(m.id for k, m in pipeline.items() if k != "pair")
    pilot_row = next(r for r in rows if r["id"] == pipeline["pilot"].id)
    assert pilot_row["municipality"] == pipeline["pair"].municipality.name
    assert pilot_row["adoption_amount"] is None
    assert str(next(r for r in rows if r["id"] == pipeline["proposal"].id)["challenge_title"]).startswith("'=")


def test_filters_apply_to_the_export(client, login_as, pipeline):
    login_as("coordinator")
    response = client.get(url_for("coordinator.export", kind="matches", fmt="csv", domain="disaster"))
    assert [int(r["id"]) for r in _csv_rows(response)] == [pipeline["other"].id]
    response = client.get(url_for("coordinator.export", kind="challenges", fmt="csv", domain="transport"))
    rows = _csv_rows(response)
    assert len(rows) == 1 and rows[0]["domains"] == "transport" and rows[0]["matches"] == "2"


def test_challenges_export_uses_the_field_names_of_the_import_format(client, login_as, pipeline):
    login_as("coordinator")
    rows = _xlsx_rows(client.get(url_for("coordinator.export", kind="challenges", fmt="xlsx")))
    assert {"organisation", "title", "background", "kpis", "budget_min", "fiscal_year", "collaboration_forms",
            "domains", "deadline", "status"} <= set(rows[0])
    disaster = next(r for r in rows if r["title"] == "防災の課題")
    assert disaster["collaboration_forms"] == "pilot;outsourcing" and disaster["fiscal_year"] == 2027


def test_funnel_export_has_each_stage_and_the_pilot_adoption_rate(client, login_as, pipeline):
    login_as("coordinator")
    rows = {r["stage"]: r for r in _csv_rows(client.get(url_for("coordinator.export", kind="funnel", fmt="csv")))}
    assert [rows[s]["reached"] for s in ("recommended", "proposal", "sounding", "pilot", "adopted")] == [
        "3", "3", "2", "2", "1"]
    assert rows["closed"]["current"] == "0"
    # One adopted match went through a pilot (the factory gives adopted matches a pilot) and none closed.
    assert rows["pilot_to_adoption"]["conversion"] == "1.0"
    xlsx = {r["stage"]: r for r in _xlsx_rows(client.get(url_for("coordinator.export", kind="funnel", fmt="xlsx")))}
    assert xlsx["pilot"]["current"] == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_is_audited(client, login_as, pipeline, db, fmt):
    user = login_as("coordinator")
    for kind in KINDS:
        assert client.get(url_for("coordinator.export", kind=kind, fmt=fmt, domain="transport")).status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("export.%"))
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == [f"export.{k}" for k in KINDS]
    assert all(e.actor_id == user.id and e.to_state == fmt for e in events)
    assert events[1].details["rows"] == 2 and events[1].details["filters"] == {"domain": "transport"}


def test_unknown_kind_or_format_is_not_found(client, login_as, db):
    login_as("coordinator")
    assert client.get("/coordinator/exports/users.csv").status_code == 404
    assert client.get("/coordinator/exports/matches.pdf").status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_anonymous_cannot_export(client, db, kind):
    response = client.get(url_for("coordinator.export", kind=kind, fmt="csv"))
    assert response.status_code == 302 and "/auth/login" in response.location


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ["municipal", "company"])
def test_members_cannot_export(client, login_as, db, kind, role):
    login_as(role)
    assert client.get(url_for("coordinator.export", kind=kind, fmt="xlsx")).status_code == 403
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("export.%"))) is None


@pytest.mark.parametrize("text", [
    "=HYPERLINK(\"http://evil.example\",\"詳細\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB=1", "\rCR=1",
    "＝１＋１", "  =1+1", "\u3000=1+1", "-",
])
def test_every_formula_start_is_neutralised(text):
    assert exports.safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["課題名", "a=b", "1-2", "", None, -5, 3.5, "メール user@example.jp"])
def test_plain_values_are_left_as_they_are(value):
    assert exports.safe_cell(value) == value


def test_every_spreadsheet_writer_goes_through_the_exports_module():
    """A CSV or Excel writer elsewhere would skip safe_cell: new exporters call exports.render."""
    from matchmaker import REPO_ROOT

    writers = []
    for path in sorted((REPO_ROOT / "matchmaker").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "exports.py" and ("csv.writer" in text or "csv.DictWriter" in text or "Workbook(" in text):
            writers.append(str(path.relative_to(REPO_ROOT)))
    assert writers == []


def test_xlsx_cells_are_text_not_formulas(app):
    table = exports.Table("t", ("a",), [["=1+1"], ["+cmd|' /C calc'!A0"]])
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(table))).active
    assert [cell.data_type for cell in sheet["A"][1:]] == ["s", "s"]
