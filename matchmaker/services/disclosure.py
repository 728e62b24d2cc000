"""Disclosure versions (情報公開請求への開示版) of records: what may be released, what is withheld and why.

Two layers, both chosen to be safe when staff get them wrong:

* **Field classes.** Every text field of a record has a disclosure class — 公開 (released), 部分公開
  (released except marked passages) or 非公開 (withheld whole) — with the reason category of a typical
  情報公開条例 (``FIELD_DEFAULTS``). A 公開 field differs from a 部分公開 one only in what staff expect
  to find in it: marked passages are withheld in both.
* **Marked passages.** Staff mark a passage inside a text as withheld with plain-text markup that
  survives editing, copying and export::

      〔非公開:法人等情報〕単価は1台当たり12万円〔/非公開〕

  The reason is one of ``REASONS`` (Japanese label or code). An unknown reason still withholds the
  passage ("理由未記載", for staff to correct); a passage left unclosed withholds everything after it.
  The markup is text, never HTML: the templates escape every segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import lazy_gettext as _l

DisclosureClass = Literal["public", "partial", "withheld"]

CLASSES: dict[str, Any] = {"public": _l("公開"), "partial": _l("部分公開"), "withheld": _l("非公開")}
REASONS: dict[str, Any] = {
    "corporate": _l("法人等情報"),  # 競争上の地位その他正当な利益を害するおそれ
    "personal": _l("個人情報"),
    "deliberative": _l("審議・検討情報"),  # 率直な意見の交換・意思決定の中立性を損なうおそれ
    "administrative": _l("事務事業情報"),  # 契約・交渉の事務の適正な遂行に支障
    "unspecified": _l("理由未記載"),
}
_REASON_BY_NAME = {"法人等情報": "corporate", "個人情報": "personal", "審議・検討情報": "deliberative",
                   "審議検討情報": "deliberative", "事務事業情報": "administrative"}

OPEN_TAG = "〔非公開"
CLOSE_TAG = "〔/非公開〕"
_OPEN = re.compile(r"〔非公開(?:[:：]([^〕]*))?〕")


@dataclass(frozen=True)
class FieldRule:
    disclosure: DisclosureClass
    reason: str | None = None  # for partial (the usual reason of marked passages) and withheld


# Sensible defaults, as a 情報公開担当 would set them: what a municipality published is 公開; what a
# company wrote about its own business is 法人等情報; staff's deliberation before a decision (a review
# comment, a budget request not yet passed) is 審議・検討情報; names of staff and citizens are 個人情報;
# the amount a company offered is withheld until a contract is made. Any field not listed here is
# 部分公開 with "理由未記載": nothing is released whole unless someone decided so.
FIELD_DEFAULTS: dict[tuple[str, str], FieldRule] = {
    **{("challenge", name): FieldRule("public") for name in (
        "title", "background", "problem", "causes", "affected", "target_state", "kpis", "constraints",
        "offerings", "contact_department", "budget")},
    ("challenge", "review_comment"): FieldRule("withheld", "deliberative"),
    ("challenge", "author"): FieldRule("withheld", "personal"),
    ("pilot", "summary"): FieldRule("public"),
    ("pilot", "kpis"): FieldRule("public"),
    ("pilot", "responsibilities"): FieldRule("public"),
    ("pilot", "cost_sharing"): FieldRule("partial", "corporate"),
    ("pilot", "update"): FieldRule("partial", "corporate"),
    ("pilot", "budget_request"): FieldRule("withheld", "deliberative"),
    ("pilot", "report_summary"): FieldRule("partial", "corporate"),
    ("pilot", "author"): FieldRule("withheld", "personal"),
    ("qa", "question"): FieldRule("partial", "corporate"),
    ("qa", "asker_organisation"): FieldRule("withheld", "corporate"),
    ("qa", "asker"): FieldRule("withheld", "personal"),
    ("qa", "answer"): FieldRule("public"),
    ("proposal", "approach"): FieldRule("partial", "corporate"),
    ("proposal", "schedule"): FieldRule("public"),
    ("proposal", "needs_from_municipality"): FieldRule("public"),
    ("proposal", "cost_estimate"): FieldRule("withheld", "corporate"),
    ("proposal", "decision_reason"): FieldRule("partial", "deliberative"),
    ("dialogue", "note"): FieldRule("partial", "corporate"),
}


@dataclass(frozen=True)
class Segment:
    text: str
    withheld: bool = False
    reason: str | None = None  # a key of REASONS when withheld


def reason_code(name: str | None) -> str:
    name = (name or "").strip()
    if name in REASONS and name != "unspecified":
        return name
    return _REASON_BY_NAME.get(name, "unspecified")


def segments(text: str | None) -> list[Segment]:
    """Split a text into released and withheld segments by its 〔非公開:理由〕…〔/非公開〕 markup."""
    text = text or ""
    out: list[Segment] = []
    position = 0
    while (opening := _OPEN.search(text, position)) is not None:
        if opening.start() > position:
            out.append(Segment(text[position:opening.start()]))
        closing = text.find(CLOSE_TAG, opening.end())
        end = len(text) if closing < 0 else closing
        out.append(Segment(text[opening.end():end], withheld=True, reason=reason_code(opening.group(1))))
        position = len(text) if closing < 0 else closing + len(CLOSE_TAG)
    if position < len(text):
        out.append(Segment(text[position:]))
    return [s for s in out if s.text or s.withheld]


def released(text: str | None) -> str:
    """The text without its withheld passages (for drafting what is published, e.g. 実施結果概要)."""
    return "".join(s.text for s in segments(text) if not s.withheld)


def plain(text: str | None) -> str:
    """The full text for those entitled to it, the markup removed."""
    return "".join(s.text for s in segments(text))


@dataclass(frozen=True)
class DisclosedField:
    label: Any
    disclosure: DisclosureClass
    segments: list[Segment]

    @property
    def reasons(self) -> list[str]:
        return sorted({s.reason for s in self.segments if s.withheld and s.reason})


def disclose(record: str, field: str, label: Any, value: Any) -> DisclosedField:
    """One field of a record as its disclosure version shows it."""
    rule = FIELD_DEFAULTS.get((record, field), FieldRule("partial", "unspecified"))
    text = "" if value is None else str(value)
    if rule.disclosure == "withheld":
        return DisclosedField(label, "withheld", [Segment("", withheld=True, reason=rule.reason or "unspecified")])
    return DisclosedField(label, rule.disclosure, segments(text))
