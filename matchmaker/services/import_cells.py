"""Reading the cells of one import row into typed values, collecting every problem of the row.

A cell may be a string (CSV) or a JSON value (JSONL). Numbers, dates and codes are read after
NFKC normalisation, so full-width digits (２０２７) and separators (；) typed in Excel are fine.
Problems are kept as ``"<column>: <message>"``; ``raise_if_problems`` turns them into one
``RowRejected`` whose message is the whole line the importer prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models.codes import PREFECTURES, code_from_label, is_valid_lg_code, lg_code_check_digit

LONG_TEXT_LIMIT = 10_000
ORG_KIND_LABELS: dict[str, Any] = {"municipality": _l("自治体"), "company": _l("企業・団体")}
_ORG_KIND_ALIASES = {"企業": "company", "団体": "company"}
_LIST_SEPARATOR = re.compile(r"[;；]")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
_REIWA = re.compile(r"^(?:令和|R)(\d{1,2}|元)$", re.IGNORECASE)
_REIWA_YEAR_ONE = 2019


class RowRejected(Exception):
    """A row that cannot be imported; ``message`` names every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        self.message = " / ".join(problems)
        super().__init__(self.message)


def nfkc(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def corporate_number_is_valid(number: str) -> bool:
    """法人番号: 13 digits whose first digit is 9 − (Σ digit × (1, 2, 1, 2 … from the right)) mod 9."""
    if len(number) != 13 or not number.isdigit():
        return False
    total = sum(int(d) * (1 if i % 2 else 2) for i, d in enumerate(reversed(number[1:]), start=1))
    return int(number[0]) == 9 - total % 9


class Cells:
    """The cells of one row, read field by field. Reading never raises; problems are collected."""

    def __init__(self, values: Mapping[str, Any], allowed: Iterable[str], line: int = 0) -> None:
        self.values = values
        self.line = line
        self.problems: list[str] = []
        known = set(allowed)
        for name in values:
            if name not in known:
                self.fail(name, _("不明な項目です（使える項目名は docs/import.md を参照してください）。"))

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{name}: {message}")

    def raise_if_problems(self) -> None:
        if self.problems:
            raise RowRejected(self.problems)

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value

    def _missing(self, name: str, required: bool) -> None:
        if required:
            self.fail(name, _("必須項目です。値を入力してください。"))

    def refuse(self, *names: str, because: str) -> None:
        for name in names:
            if self.raw(name) is not None:
                self.fail(name, because)

    # --- scalars ------------------------------------------------------------------------------

    def text(self, name: str, *, required: bool = False, limit: int = LONG_TEXT_LIMIT) -> str:
        value = self.raw(name)
        if value is None:
            self._missing(name, required)
            return ""
        if not isinstance(value, str):
            self.fail(name, _("文字列で指定してください。"))
            return ""
        value = value.strip().replace("\r\n", "\n")
        if len(value) > limit:
            self.fail(name, _("%(n)d文字以内にしてください（%(length)d文字あります）。", n=limit, length=len(value)))
        return value

    def integer(self, name: str, *, low: int = 0, high: int | None = None, required: bool = False) -> int | None:
        value = self.raw(name)
        if value is None:
            self._missing(name, required)
            return None
        number = _as_int(value)
        if number is None:
            self.fail(name, _("整数で指定してください（値: %(value)s）。", value=value))
            return None
        if number < low or (high is not None and number > high):
            if high is None:
                self.fail(name, _("%(low)d以上の整数で指定してください。", low=low))
            else:
                self.fail(name, _("%(low)d〜%(high)dの整数で指定してください。", low=low, high=high))
            return None
        return number

    def fiscal_year(self, name: str) -> int | None:
        """年度 as the western year it starts in; ``令和9年度`` / ``R9`` / ``2027年度`` are read too."""
        value = self.raw(name)
        if value is None:
            return None
        text = nfkc(str(value)).removesuffix("年度")
        era = _REIWA.match(text)
        year = (_REIWA_YEAR_ONE - 1 + (1 if era.group(1) == "元" else int(era.group(1)))) if era else _as_int(text)
        if year is None or not 2000 <= year <= 2100:
            self.fail(name, _("年度は西暦の開始年（例: 2027）か「令和9年度」の形で指定してください（値: %(value)s）。",
                              value=value))
            return None
        return year

    def day(self, name: str) -> date | None:
        value = self.raw(name)
        if value is None:
            return None
        match = _DATE.match(nfkc(str(value)))
        try:
            if match is None:
                raise ValueError(value)
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            self.fail(name, _("日付は YYYY-MM-DD の形で指定してください（値: %(value)s）。", value=value))
            return None

    def code(self, name: str, table: Mapping[str, Any], *, required: bool = False) -> str | None:
        """A code or its Japanese label."""
        value = self.raw(name)
        if value is None:
            self._missing(name, required)
            return None
        code = self._code_of(str(value), table)
        if code is None:
            self.fail(name, _("選択肢にない値です: %(value)s（使える値: %(codes)s）",
                              value=value, codes=", ".join(table)))
        return code

    def lg_code(self, name: str, *, required: bool = False) -> str | None:
        """全国地方公共団体コード: 6 digits with a correct check digit (5 digits get theirs added)."""
        value = self.raw(name)
        if value is None:
            self._missing(name, required)
            return None
        code = nfkc(str(value))
        if len(code) == 5 and code.isdigit():
            code += str(lg_code_check_digit(code))
        if not is_valid_lg_code(code):
            self.fail(name, _("全国地方公共団体コード（6桁・検査数字つき）が正しくありません（値: %(value)s）。",
                              value=value))
            return None
        return code

    def corporate_number(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        number = nfkc(str(value)).replace("-", "")
        if not corporate_number_is_valid(number):
            self.fail(name, _("法人番号（13桁・検査数字つき）が正しくありません（値: %(value)s）。", value=value))
            return None
        return number

    def prefecture(self, name: str, *, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            self._missing(name, required)
            return None
        prefecture = _prefecture_of(str(value))
        if prefecture is None:
            self.fail(name, _("都道府県名が正しくありません（値: %(value)s）。", value=value))
        return prefecture

    # --- lists --------------------------------------------------------------------------------

    def items(self, name: str) -> list[Any]:
        """A list cell: ``;``-separated in CSV, a JSON array in JSONL."""
        value = self.raw(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in _LIST_SEPARATOR.split(value) if part.strip()]
        if isinstance(value, list):
            return [item.strip() if isinstance(item, str) else item for item in value if item not in (None, "")]
        self.fail(name, _("一覧は CSV では ; 区切り、JSONL では配列で指定してください。"))
        return []

    def codes(self, name: str, table: Mapping[str, Any], *, required: bool = False) -> list[str]:
        found: list[str] = []
        unknown: list[str] = []
        for item in self.items(name):
            code = self._code_of(str(item), table)
            (found if code is not None else unknown).append(code if code is not None else str(item))
        if unknown:
            self.fail(name, _("選択肢にない値です: %(values)s（使える値: %(codes)s）",
                              values="、".join(unknown), codes=", ".join(table)))
        elif required and not found:
            self.fail(name, _("1つ以上指定してください。"))
        return list(dict.fromkeys(found))

    def numbers(self, name: str, *, low: int, high: int) -> list[int]:
        found: list[int] = []
        for item in self.items(name):
            number = _as_int(item)
            if number is None or not low <= number <= high:
                self.fail(name, _("%(low)d〜%(high)dの番号で指定してください（値: %(value)s）。",
                                  low=low, high=high, value=item))
                return []
            found.append(number)
        return list(dict.fromkeys(found))

    def prefectures(self, name: str) -> list[str]:
        """Prefectures served; an empty cell or 「全国」 means nationwide (an empty list)."""
        items = self.items(name)
        if [nfkc(str(item)) for item in items] == ["全国"]:
            return []
        found = [_prefecture_of(str(item)) for item in items]
        unknown = [str(item) for item, prefecture in zip(items, found) if prefecture is None]
        if unknown:
            self.fail(name, _("都道府県名が正しくありません: %(values)s", values="、".join(unknown)))
        return [p for p in found if p is not None]

    def _code_of(self, value: str, table: Mapping[str, Any]) -> str | None:
        plain = {code: str(label) for code, label in table.items()}
        code = code_from_label(value, plain) or code_from_label(nfkc(value), plain)
        if code is None and table is ORG_KIND_LABELS:
            code = _ORG_KIND_ALIASES.get(nfkc(value))
        return code


def _as_int(value: Any) -> int | None:
    """A whole number: a JSON number, or text such as ``1,200,000``, ``１２００００`` or ``1200000円``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = nfkc(str(value)).replace(",", "").removeprefix("¥").removesuffix("円").strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d+\.0+", text):  # Excel sometimes writes 2027.0
        return int(float(text))
    return None


def _prefecture_of(value: str) -> str | None:
    """A prefecture by its full name, or without 都/道/府/県 (東京 → 東京都)."""
    name = nfkc(value)
    if name in PREFECTURES:
        return name
    matches = [p for p in PREFECTURES if p[:-1] == name]
    return matches[0] if len(matches) == 1 else None
