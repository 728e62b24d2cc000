"""The completeness and clarity check for a challenge draft (課題の言語化チェック).

Pure functions over field values: ``check(values, today)`` returns a score from 0 to 100 and one
finding per rule, each naming a field, a level (ok / warn / missing) and a Japanese message that
tells the officer what to write. Findings at the ``missing`` level block submission and publication.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

Level = Literal["ok", "warn", "missing"]
Values = Mapping[str, Any]
Rule = Callable[[Mapping[str, Any], date], "Finding"]

FIELD_LABELS: dict[str, Any] = {
    "title": _l("課題名"),
    "background": _l("背景・現状"),
    "problem": _l("課題"),
    "causes": _l("原因"),
    "affected": _l("対象者"),
    "target_state": _l("目指す姿"),
    "kpis": _l("成果指標（KPI）"),
    "constraints": _l("制約"),
    "offerings": _l("自治体が提供できるもの"),
    "budget_min": _l("予算（下限）"),
    "budget_max": _l("予算（上限）"),
    "fiscal_year": _l("予算年度"),
    "collaboration_forms": _l("連携手法"),
    "domains": _l("分野"),
    "sdgs": _l("SDGs"),
    "deadline": _l("提案締切"),
    "contact_department": _l("担当課"),
}

# A deadline closer than this leaves companies too little time to prepare a proposal.
MIN_LEAD_DAYS = 14
PROBLEM_MIN_CHARS = 40
_ARROW = re.compile(r"→|->|⇒|➡|=>")
_DIGIT = re.compile(r"\d")
# Phrases that name a means (a tool to buy) rather than the harm to remove.
_SOLUTION_PHRASES = re.compile(
    r"導入(したい|して|し、|する|を(検討|進め)|が進)|活用したい|を活用(する|して|し)|構築したい|システムを構築|"
    r"(システム|アプリ|ツール|プラットフォーム)(を|の)(導入|構築|開発)|開発したい|作りたい|DX(を|の)推進|AI(を|の)?活用|"
    r"(AI|IoT|ICT|ドローン|アプリ|システム|ツール|RPA|チャットボット|センサー?)を(使い|入れ)たい|"
    r"(AI|IoT|ICT|DX|アプリ|システム|ツール|技術)(が|は)(ない|無い|なく)"
)
# Words that describe a harm, a shortfall or its size.
_HARM_WORDS = re.compile(
    r"困っ|困難|できない|できず|できていない|不足|負担|減少|増加|増え|減っ|遅れ|低下|悪化|支障|苦慮|"
    r"時間がかか|手間|追いつかない|リスク|被害|不安|孤立|離職|滞|足りな|届かな|長い|多い|少ない|"
    r"\d+\s*(件|人|名|時間|分|日|%|割|円|世帯|か所|箇所)"
)

WEIGHTS: dict[Level, float] = {"ok": 1.0, "warn": 0.5, "missing": 0.0}


@dataclass(frozen=True)
class Finding:
    field: str
    level: Level
    message: str
    weight: int = 1

    @property
    def label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "level": self.level, "label": self.label, "message": self.message}


@dataclass(frozen=True)
class ClarityReport:
    score: int
    findings: tuple[Finding, ...]

    @property
    def blockers(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "missing")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warn")

    @property
    def ready(self) -> bool:
        """Nothing blocks submission or publication."""
        return not self.blockers

    def for_field(self, field: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.field == field)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "ready": self.ready,
            "counts": {level: sum(f.level == level for f in self.findings) for level in WEIGHTS},
            "summary": summary(self),
            "findings": [f.as_dict() for f in self.findings if f.level != "ok"]
            + [f.as_dict() for f in self.findings if f.level == "ok"],
        }


@dataclass(frozen=True)
class Kpi:
    raw: str
    indicator: str
    baseline: str
    target: str

    @property
    def measurable(self) -> bool:
        return bool(self.target and _DIGIT.search(self.target))


def normalise(text: Any) -> str:
    """NFKC (full-width digits and arrows become ASCII) and trimmed."""
    return unicodedata.normalize("NFKC", str(text or "")).strip()


def parse_kpis(text: str | None) -> list[Kpi]:
    """One KPI per line in the form ``指標: 現状値 → 目標値``; lines that do not fit keep only ``raw``."""
    kpis: list[Kpi] = []
    for line in (text or "").splitlines():
        raw = line.strip().lstrip("・-*• ").strip()
        if not raw:
            continue
        flat = normalise(raw)
        indicator, sep, rest = flat.partition(":")
        if not sep:
            indicator, rest = "", flat
        parts = _ARROW.split(rest, maxsplit=1)
        if len(parts) == 2:
            kpis.append(Kpi(raw, indicator.strip(), parts[0].strip(), parts[1].strip()))
        else:
            kpis.append(Kpi(raw, indicator.strip(), "", ""))
    return kpis


# --- the rules ------------------------------------------------------------------------------


def _text(values: Values, field: str) -> str:
    return normalise(values.get(field))


def _filled(field: str, level_if_empty: Level, ask: Any, ok: Any) -> Rule:
    """A rule that only asks for ``field`` to be filled in (text, or at least one choice)."""
    def rule(values: Values, today: date) -> Finding:
        if normalise(values.get(field)):  # empty text and an empty list both normalise to ""
            return Finding(field, "ok", str(ok))
        return Finding(field, level_if_empty, str(ask))

    rule.__name__ = f"check_{field}"
    return rule


def check_title(values: Values, today: date) -> Finding:
    title = _text(values, "title")
    if not title:
        return Finding("title", "missing", _("課題名を入力してください。「誰の・何の課題か」が一目で分かる名前にします。"))
    if len(title) < 8:
        return Finding("title", "warn", _("課題名が短すぎます。対象と困りごとを入れてください（例：高齢者のフレイル予防に向けた通いの場の参加促進）。"))
    if len(title) > 60:
        return Finding("title", "warn", _("課題名が長すぎます。60文字以内に絞り、詳しい内容は「課題」に書いてください。"))
    return Finding("title", "ok", _("課題名は具体的です。"))


def check_background(values: Values, today: date) -> Finding:
    text = _text(values, "background")
    if not text:
        return Finding("background", "missing", _("背景・現状を書いてください。今どうなっているかを、数字（件数・人数・割合）を交えて書くと伝わります。"))
    if len(text) < 30:
        return Finding("background", "warn", _("背景・現状が短すぎます。これまでの経緯と、今どうなっているかを書いてください。"))
    if not _DIGIT.search(text):
        return Finding("background", "warn", _("現状を数字で示してください（例：問い合わせは年間1,200件、職員は3名）。"))
    return Finding("background", "ok", _("背景・現状が数字で示されています。"))


def check_problem(values: Values, today: date) -> Finding:
    text = _text(values, "problem")
    if not text:
        return Finding("problem", "missing", _("課題を書いてください。誰が・何に困っているか・どの程度かを書きます。"))
    if _SOLUTION_PHRASES.search(text) and not _HARM_WORDS.search(text):
        return Finding("problem", "warn", _("課題が解決策（「〜を導入したい」「AIを活用したい」など）として書かれています。手段ではなく、誰がどんな不便や損失を受けているかを書いてください。手段を決めないほうが、企業から幅広い提案が集まります。"))
    if len(text) < PROBLEM_MIN_CHARS:
        return Finding("problem", "warn", _("課題の説明が短く、企業が提案を考えるには情報が足りません。%(n)d文字以上を目安に、困っている場面・頻度・影響を書いてください。", n=PROBLEM_MIN_CHARS))
    return Finding("problem", "ok", _("課題が困りごととして具体的に書かれています。"))


def check_target_state(values: Values, today: date) -> Finding:
    text = _text(values, "target_state")
    if not text:
        return Finding("target_state", "missing", _("目指す姿を書いてください。解決したとき、誰がどうなっているかを書きます。"))
    if len(text) < 20:
        return Finding("target_state", "warn", _("目指す姿が短すぎます。解決後に誰が何をできるようになるかを書いてください。"))
    return Finding("target_state", "ok", _("目指す姿が書かれています。"))


def check_kpis(values: Values, today: date) -> Finding:
    kpis = parse_kpis(values.get("kpis"))
    if not kpis:
        return Finding("kpis", "missing", _("成果指標（KPI）を書いてください。1行に1つ、「指標: 現状値 → 目標値」の形で書きます（例：通いの場の参加率: 8% → 12%）。"))
    if not any(_DIGIT.search(normalise(k.raw)) for k in kpis):
        return Finding("kpis", "warn", _("KPIに数値がなく、測定できません。現状値と目標値を数字で書いてください（例：窓口の平均待ち時間: 45分 → 15分）。"))
    unclear = [i for i, k in enumerate(kpis, start=1) if not k.measurable]
    if unclear:
        lines = "、".join(str(i) for i in unclear)
        return Finding("kpis", "warn", _("%(lines)s行目のKPIに「現状値 → 目標値」がありません。「→」で現状値と目標値を区切り、目標を数字で書いてください。", lines=lines))
    return Finding("kpis", "ok", _("KPIが「現状値 → 目標値」の形で測定できます。"))


def check_offerings(values: Values, today: date) -> Finding:
    text = _text(values, "offerings")
    if not text:
        return Finding("offerings", "missing", _("自治体が提供できるものを書いてください（実証フィールド、データ、職員の関与、予算など）。企業が参加を判断する大事な材料です。"))
    if len(text) < 10:
        return Finding("offerings", "warn", _("提供できるものをもう少し具体的に書いてください（例：実証フィールドとして公民館3か所、匿名化した利用データ、担当職員の週1回の打合せ）。"))
    return Finding("offerings", "ok", _("提供できるものが書かれています。"))


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_budget(values: Values, today: date) -> Finding:
    low, high = _as_int(values.get("budget_min")), _as_int(values.get("budget_max"))
    year = _as_int(values.get("fiscal_year"))
    if low is not None and high is not None and low > high:
        return Finding("budget_max", "missing", _("予算の下限が上限を上回っています。金額を確認してください。"))
    if year is None and low is None and high is None:
        return Finding("fiscal_year", "warn", _("予算と年度がありません。いつ・どの程度の予算で進めるのか（未定なら予算化の見込み時期）を書くと、実証後の導入につながります。"))
    if year is None:
        return Finding("fiscal_year", "warn", _("予算年度を選んでください。予算を執行する年度が分からないと、企業は導入までの道筋を描けません。"))
    if low is None and high is None:
        return Finding("budget_max", "warn", _("予算の規模を書いてください。未定の場合でも上限の目安があると提案が絞れます。"))
    current = today.year if today.month >= 4 else today.year - 1
    if year < current:
        return Finding("fiscal_year", "warn", _("予算年度が過去の年度になっています。今年度以降の年度を選んでください。"))
    return Finding("fiscal_year", "ok", _("予算の規模と年度が示されています。"))


def check_deadline(values: Values, today: date) -> Finding:
    deadline = values.get("deadline")
    if not isinstance(deadline, date):
        return Finding("deadline", "missing", _("提案締切を入力してください。"))
    if deadline < today:
        return Finding("deadline", "missing", _("提案締切が過去の日付です。今日以降の日付にしてください。"))
    if (deadline - today).days < MIN_LEAD_DAYS:
        return Finding("deadline", "warn", _("提案締切まで%(days)d日しかありません。企業が提案を準備できるよう、少なくとも%(min)d日以上先にしてください。", days=(deadline - today).days, min=MIN_LEAD_DAYS))
    return Finding("deadline", "ok", _("提案締切まで十分な期間があります。"))


# Each rule with its weight in the score.
RULES: tuple[tuple[Rule, int], ...] = (
    (check_title, 5),
    (check_background, 10),
    (check_problem, 20),
    (_filled("causes", "warn", _l("原因を書いてください。分かっている範囲で構いません（例：紙の名簿で管理しており、欠席者を把握できない）。"),
             _l("原因が書かれています。")), 5),
    (_filled("affected", "missing", _l("対象者を書いてください。困っている住民・職員・事業者は誰か、おおよその人数も添えます。"),
             _l("対象者が書かれています。")), 5),
    (check_target_state, 10),
    (check_kpis, 15),
    (_filled("constraints", "warn", _l("制約（法令・条例、データの扱い、職員体制など）を書いてください。特にない場合は「特になし」と書きます。"),
             _l("制約が書かれています。")), 5),
    (check_offerings, 10),
    (check_budget, 10),
    (_filled("collaboration_forms", "missing", _l("受け入れる連携手法（実証実験、業務委託など）を1つ以上選んでください。"),
             _l("連携手法が選ばれています。")), 5),
    (_filled("domains", "missing", _l("分野を1つ以上選んでください。企業が課題を探すときの手がかりになります。"),
             _l("分野が選ばれています。")), 5),
    (_filled("sdgs", "warn", _l("関連するSDGsを選ぶと、企業がCSRやESGの観点から参加を検討しやすくなります。"),
             _l("SDGsが選ばれています。")), 2),
    (check_deadline, 10),
    (_filled("contact_department", "missing", _l("担当課を入力してください（例：保健福祉局 高齢福祉課）。"),
             _l("担当課が書かれています。")), 3),
)


def score_of(findings: tuple[Finding, ...]) -> int:
    total = sum(f.weight for f in findings)
    if not total:
        return 0
    earned = sum(f.weight * WEIGHTS[f.level] for f in findings)
    return round(100 * earned / total)


def check(values: Values, today: date) -> ClarityReport:
    """Run every rule over ``values`` (a challenge's field values by name)."""
    findings = tuple(replace(rule(values, today), weight=weight) for rule, weight in RULES)
    return ClarityReport(score=score_of(findings), findings=findings)


def values_of(challenge: Any) -> dict[str, Any]:
    """The field values of a saved challenge, as ``check`` reads them."""
    return {field: getattr(challenge, field) for field in FIELD_LABELS}


def summary(report: ClarityReport) -> str:
    if report.blockers:
        return _("未入力・要修正の項目が%(n)d件あります。これらを直すと確認依頼・公開ができます。", n=len(report.blockers))
    if report.warnings:
        return _("公開できる状態です。改善できる項目が%(n)d件あります。", n=len(report.warnings))
    return _("企業に伝わる課題になっています。")
