"""Reading import files: CSV (UTF-8 with or without BOM, or cp932 as Excel saves it) and JSONL.

Both give ``SourceRow``s that carry the line number where the row starts in the file, so that a
rejection can say ``行 N``. A CSV cell that is empty and a JSON ``null`` or ``""`` both mean
"not given". A problem with the whole file (unknown column, unreadable encoding) raises
``ImportFileError`` before anything is written.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flask_babel import gettext as _

from models.challenge import TEXT_FIELDS as CHALLENGE_TEXT_FIELDS

Kind = Literal["organisations", "challenges", "solutions"]
KINDS: tuple[Kind, ...] = ("organisations", "challenges", "solutions")

ORGANISATION_COLUMNS: tuple[str, ...] = (
    "name", "kind", "lg_code", "prefecture", "population", "corporate_number", "size",
)
CHALLENGE_COLUMNS: tuple[str, ...] = (
    "organisation", *CHALLENGE_TEXT_FIELDS, "budget_min", "budget_max", "fiscal_year",
    "collaboration_forms", "domains", "sdgs", "deadline", "contact_department", "status",
)
SOLUTION_COLUMNS: tuple[str, ...] = (
    "organisation", "title", "summary", "target_users", "track_record", "evidence", "price_min",
    "price_max", "lead_time_weeks", "regions", "maturity", "collaboration_forms", "domains",
)
# Read only when --create-orgs creates the row's organisation (and checked against it otherwise).
NEW_MUNICIPALITY_COLUMNS: tuple[str, ...] = (
    "organisation_prefecture", "organisation_lg_code", "organisation_population",
)
NEW_COMPANY_COLUMNS: tuple[str, ...] = (
    "organisation_prefecture", "organisation_size", "organisation_corporate_number",
)
COLUMNS: dict[Kind, tuple[str, ...]] = {
    "organisations": ORGANISATION_COLUMNS,
    "challenges": CHALLENGE_COLUMNS + NEW_MUNICIPALITY_COLUMNS,
    "solutions": SOLUTION_COLUMNS + NEW_COMPANY_COLUMNS,
}
# Without these columns no row of a CSV file could be imported.
KEY_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "organisations": ("name", "kind", "prefecture"),
    "challenges": ("organisation", "title"),
    "solutions": ("organisation", "title"),
}
CSV_ENCODINGS: tuple[str, ...] = ("utf-8", "cp932")  # cp932: Shift_JIS as Windows and Excel write it


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` says why, in Japanese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SourceRow:
    line: int  # where the row starts in the file (the CSV header is line 1)
    values: dict[str, Any]
    problem: str | None = None  # the line could not be read as a row at all


def read_file(path: str | Path, kind: Kind) -> list[SourceRow]:
    """The rows of a ``.csv`` or ``.jsonl`` file, chosen by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise ImportFileError(_("拡張子が .csv または .jsonl のファイルを指定してください: %(name)s", name=path.name))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFileError(_("ファイルを読み込めません: %(error)s", error=error.strerror or str(error))) from error
    return read_csv(data, kind) if suffix == ".csv" else read_jsonl(data, kind)


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp932 — what Excel writes for 「CSV（コンマ区切り）」."""
    data = data.removeprefix(codecs.BOM_UTF8)
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("文字コードを判別できません。UTF-8 または Shift_JIS（cp932）で保存してください。"))


def read_csv(data: bytes, kind: Kind) -> list[SourceRow]:
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ImportFileError(_("ファイルが空です。")) from None
    except csv.Error as error:
        raise ImportFileError(_("1行目（見出し）を CSV として読み取れません: %(error)s", error=str(error))) from error
    _check_header(header, kind)
    rows: list[SourceRow] = []
    end_of_previous = reader.line_num
    while True:
        start = end_of_previous + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ImportFileError(_("%(line)d行目以降を CSV として読み取れません: %(error)s",
                                    line=start, error=str(error))) from error
        end_of_previous = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            rows.append(SourceRow(start, {}, _("列の数が見出し（%(n)d列）より多くなっています。", n=len(header))))
            continue
        rows.append(SourceRow(start, {name: cell for name, cell in zip(header, cells) if name and cell.strip()}))
    return rows


def _check_header(header: list[str], kind: Kind) -> None:
    allowed = COLUMNS[kind]
    unknown = [name for name in header if name and name not in allowed]
    if unknown:
        raise ImportFileError(_("不明な列があります: %(columns)s（使える列名は docs/import.md を参照してください）",
                                columns=", ".join(unknown)))
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise ImportFileError(_("同じ列名が複数あります: %(columns)s", columns=", ".join(duplicated)))
    missing = [name for name in KEY_COLUMNS[kind] if name not in header]
    if missing:
        raise ImportFileError(_("必須の列がありません: %(columns)s", columns=", ".join(missing)))


def read_jsonl(data: bytes, kind: Kind) -> list[SourceRow]:
    """One JSON object per line; lists are JSON arrays. Blank lines are skipped."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFileError(_("JSONL ファイルは UTF-8 で保存してください。")) from None
    rows: list[SourceRow] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append(SourceRow(number, {}, _("JSON として読み取れません（%(error)s）。", error=error.msg)))
            continue
        if not isinstance(value, dict):
            rows.append(SourceRow(number, {}, _("1行に1つの JSON オブジェクト（{…}）を書いてください。")))
            continue
        rows.append(SourceRow(number, {k: v for k, v in value.items() if v is not None and v != ""}))
    return rows
