"""The selection evidence pack as a document: the facts, the reason and the tables, read only from the
frozen snapshot (``SelectionRecord.data``), so the print view, the PDF, the Word draft and the Excel
workbook show the same thing, and nothing that changed after the decision.

The Word file is a 選定理由書 / 随意契約理由書 draft: the municipality edits it into its own form.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from matchmaker import i18n
from matchmaker.services import exports
from matchmaker.services.challenges import local_today
from models.match import NEGOTIATED_GROUNDS, ORIGINS, PROCUREMENT_ROUTES, STAGE_LABELS
from models.proposal import PROPOSAL_STATUSES
from models.selection import DECISIONS, SelectionRecord

INVITED_HOW: dict[str, Any] = {"match": _l("自治体から声をかけた"), "sounding": _l("サウンディングに招待")}


@dataclass(frozen=True)
class PackTable:
    key: str  # the element id and the Excel sheet's name
    heading: str
    columns: tuple[str, ...]
    rows: list[list[Any]]
    empty: str


def _label(table: dict[str, Any], code: str | None) -> str:
    return "" if code is None else str(table.get(code, code))


def _date(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return i18n.format_era_date(moment)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def title(record: SelectionRecord) -> str:
    decision = record.data["decision"]
    if decision.get("route") == "negotiated":
        return _("随意契約理由書（案）")
    return _("選定理由書（案）")


def facts(record: SelectionRecord) -> list[tuple[str, str]]:
    data, decision = record.data, record.data["decision"]
    rows = [
        (_("件名（課題）"), data["challenge"]["title"]),
        (_("自治体"), data["challenge"]["municipality"]),
        (_("担当課"), data["challenge"].get("department") or ""),
        (_("決定"), _label(DECISIONS, decision["kind"])),
        (_("選定した事業者"), decision["company"]),
        (_("ソリューション"), decision["solution"]),
        (_("提案"), decision.get("proposal") or ""),
    ]
    if decision.get("route"):
        rows.append((_("調達方法"), _label(PROCUREMENT_ROUTES, decision["route"])))
    if decision.get("negotiated_ground"):
        rows.append((_("随意契約の根拠（地方自治法施行令第167条の2第1項）"),
                     _label(NEGOTIATED_GROUNDS, decision["negotiated_ground"])))
    if decision.get("amount") is not None:
        rows.append((_("金額"), i18n.format_yen(decision["amount"])))
    if decision.get("fiscal_year"):
        rows.append((_("予算年度"), i18n.format_fiscal_year(decision["fiscal_year"])))
    rows += [(_("記録の確定日"), i18n.format_era_date(record.frozen_at)), (_("確定した職員"), decision["by"])]
    return rows


def tables(record: SelectionRecord) -> list[PackTable]:
    data = record.data
    names = {p["id"]: f'{p["company"]}：{p["title"]}' for p in data["proposals"]}
    criteria = data["evaluation"]["criteria"]
    criterion_names = {c["id"]: c["name"] for c in criteria}
    return [
        PackTable("recommended", _("推薦・表示された事業者（記録の確定時点の推薦一覧）"),
                  (_("順位"), _("事業者"), _("ソリューション"), _("スコア"), _("上位3位以内"), _("推薦の理由")),
                  [[r["rank"], r["company"], r["solution"], round(r["score"], 3), _("はい") if r["shown_top"] else "",
                    " / ".join(r["reasons"])] for r in data["recommended"]],
                  _("推薦一覧を計算できませんでした（索引の準備中）。") if not data["ranking_available"]
                  else _("推薦された事業者はありません。")),
        PackTable("matches", _("やり取りのあった事業者（接点ができた時点の順位とスコア）"),
                  (_("事業者"), _("ソリューション"), _("きっかけ"), _("段階（確定時点）"), _("順位"), _("スコア"), _("開始日")),
                  [[m["company"], m["solution"], _label(ORIGINS, m["origin"]), _label(STAGE_LABELS, m["stage"]),
                    m["rank"] if m["rank"] is not None else "", m["score"] if m["score"] is not None else "",
                    _date(m["opened_at"])] for m in data["matches"]],
                  _("やり取りのあった事業者はありません。")),
        PackTable("invited", _("声をかけた事業者"), (_("事業者"), _("ソリューション"), _("方法"), _("日付")),
                  [[i["company"], i["solution"], _label(INVITED_HOW, i["how"]), _date(i["at"])] for i in data["invited"]],
                  _("声をかけた事業者はありません。")),
        PackTable("proposals", _("提案した事業者"), (_("事業者"), _("提案"), _("状態（確定時点）"), _("概算費用"), _("提出日")),
                  [[p["company"], p["title"], _label(PROPOSAL_STATUSES, p["status"]),
                    i18n.format_yen(p["cost_estimate"]), _date(p["submitted_at"])] for p in data["proposals"]],
                  _("提案はありません。")),
        PackTable("criteria", _("評価項目と重み"), (_("評価項目"), _("重み（配点）")),
                  [[c["name"], c["weight"]] for c in criteria], _("評価項目はありません。")),
        PackTable("averages", _("評価の結果（評価者の平均と加重平均）"),
                  (_("提案"), *[c["name"] for c in criteria], _("評価者数"), _("加重平均")),
                  [[names.get(a["proposal_id"], str(a["proposal_id"])), *[_number(m) for m in a["means"]],
                    a["evaluators"], _number(a["weighted"])] for a in data["evaluation"]["averages"]],
                  _("評価はありません。")),
        PackTable("scores", _("各評価者の採点（1〜5点）"), (_("提案"), _("評価者"), _("評価項目"), _("点数")),
                  [[names.get(s["proposal_id"], str(s["proposal_id"])), s["evaluator"],
                    criterion_names.get(s["criterion_id"], ""), s["score"]] for s in data["evaluation"]["scores"]],
                  _("採点はありません。")),
    ]


def to_xlsx(record: SelectionRecord) -> bytes:
    summary = exports.Table(_("概要"), (_("項目"), _("内容")),
                            [list(row) for row in facts(record)] + [[_("選定の理由"), record.reason]])
    sheets = [summary] + [exports.Table(t.key, t.columns, t.rows) for t in tables(record)]
    return exports.tables_to_xlsx(sheets)


def to_docx(record: SelectionRecord) -> bytes:
    """The 選定理由書 / 随意契約理由書 draft: facts, the reason, then every table of the pack."""
    from docx import Document  # python-docx; imported here as only this download needs it

    document = Document()
    document.add_heading(title(record), level=0)
    document.add_paragraph(_("作成日") + " " + i18n.format_era_date(local_today()))
    grid = document.add_table(rows=0, cols=2)
    grid.style = "Table Grid"
    for label, value in facts(record):
        cells = grid.add_row().cells
        cells[0].text, cells[1].text = label, value
    document.add_heading(_("選定の理由"), level=1)
    document.add_paragraph(record.reason)
    for table in tables(record):
        document.add_heading(table.heading, level=1)
        if not table.rows:
            document.add_paragraph(table.empty)
            continue
        body = document.add_table(rows=1, cols=len(table.columns))
        body.style = "Table Grid"
        for cell, name in zip(body.rows[0].cells, table.columns, strict=True):
            cell.text = name
        for row in table.rows:
            for cell, value in zip(body.add_row().cells, row, strict=True):
                cell.text = str(value)
    document.add_paragraph(_("この文書は官民共創マッチングの選定の記録（確定済み）から作成した下書きです。"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
