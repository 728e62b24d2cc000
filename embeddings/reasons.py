"""Why a document matched: shared key phrases per field pair, and structured matches.

Key phrases need no dictionary: maximal runs of kanji, katakana or Latin letters are words or
compounds in Japanese text, and sub-strings of kanji compounds catch partial matches
(介護予防事業 ~ 介護予防教室 share 介護予防). A shared phrase must be a whole run in one of the
two texts or at least three characters long, so 2-character shards of longer words are avoided.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from embeddings.documents import REASON_FIELDS, MatchDocument, Reason
from embeddings.text import normalize

_RUN = re.compile(r"[一-龥々〆ヵヶァ-ヴー]{2,}|[A-Za-z][A-Za-z0-9]+")
_SEGMENT = re.compile(r"[一-龥々〆ヵヶ]+|[ァ-ヴー]+")
_KANJI = re.compile(r"[一-龥々〆ヵヶ]+")
# Words that appear in almost every challenge or profile and explain nothing.
STOP_PHRASES = frozenset(
    ["課題", "本市", "本町", "本村", "当市", "市内", "町内", "事業", "実施", "対応", "推進", "活用", "向上", "必要", "現状", "状況", "取組", "取り組み", "目的", "効果", "導入", "提供", "支援", "検討", "把握", "整備", "運用", "管理", "利用", "確保", "実現", "可能", "自治体", "行政", "地域", "住民", "職員", "サービス", "システム", "データ", "年度", "全国", "以上", "以下", "程度", "様々", "各種", "削減", "改善", "強化", "実績", "令和", "平成", "人口", "人口約", "万人", "万円", "年間", "平均", "過去", "将来", "一緒", "個別", "全体", "毎年", "現在", "今後", "以前", "場合", "方法", "内容", "結果", "部分", "一部", "多く", "約", "計画", "担当", "業務", "時間", "情報", "対象", "対象者", "件数", "割合", "市町村", "都道府県", "自治体向", "全国約", "年目", "年度末", "当初", "直近", "一方", "同時", "特定", "主体", "役割"]
)
MAX_PHRASES = 3


@functools.lru_cache(maxsize=65536)
def key_terms(text: str) -> dict[str, bool]:
    """Candidate phrases of ``text``: term → True when it is a whole run (not a sub-string).

    Args:
        text: Raw text.

    Returns:
        Runs of kanji/katakana/Latin (True) and the 2+ character sub-strings of kanji runs of up
        to 8 characters (False unless also a whole run elsewhere). Cached: do not mutate.
    """
    terms: dict[str, bool] = {}
    for run in _RUN.findall(normalize(text)):
        terms[run] = True
        segments = _SEGMENT.findall(run)
        for i in range(len(segments)):  # kanji/katakana parts and their contiguous joins
            for j in range(i + 1, len(segments) + 1):
                part = "".join(segments[i:j])
                if len(part) >= 2:
                    terms.setdefault(part, False)
        for seg in segments:
            if _KANJI.fullmatch(seg) and 2 < len(seg) <= 8:
                for size in range(2, len(seg)):
                    for start in range(len(seg) - size + 1):
                        terms.setdefault(seg[start : start + size], False)
    return terms


@dataclass(frozen=True)
class PhraseStats:
    """Document frequencies of key terms, for weighting shared phrases by rarity."""

    df: dict[str, int]
    n_docs: int

    @classmethod
    def fit(cls, texts: Iterable[str]) -> PhraseStats:
        """Count in how many of ``texts`` each key term occurs."""
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            df.update(key_terms(text).keys())
            n += 1
        return cls(dict(df), n)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (unknown terms count as rare)."""
        return math.log((self.n_docs + 1) / (self.df.get(term, 0) + 1)) + 1.0


def shared_phrases(
    a: dict[str, bool], b: dict[str, bool], stats: PhraseStats
) -> list[tuple[str, float]]:
    """Phrases present in both term maps, maximal and weighted by rarity × length.

    Args:
        a: ``key_terms`` of one text (or the merged terms of several).
        b: ``key_terms`` of the other.
        stats: Document frequencies.

    Returns:
        (phrase, weight) pairs, heaviest first.
    """
    common = [
        t for t in a.keys() & b.keys()
        if t not in STOP_PHRASES and (a[t] or b[t] or len(t) >= 3)
    ]
    common.sort(key=len, reverse=True)
    kept: list[str] = []
    for term in common:
        if not any(term in longer for longer in kept):
            kept.append(term)
    weighted = [(t, stats.idf(t) * math.sqrt(len(t))) for t in kept]
    weighted.sort(key=lambda tw: (-tw[1], tw[0]))
    return weighted


def _merged(terms: dict[str, dict[str, bool]]) -> dict[str, bool]:
    """Terms of several fields: whole-run if whole in any of them."""
    out: dict[str, bool] = {}
    for field_terms in terms.values():
        for term, whole in field_terms.items():
            out[term] = out.get(term, False) or whole
    return out


def text_reasons(
    query: MatchDocument,
    target: MatchDocument,
    stats: PhraseStats,
    text_weight: float,
    max_reasons: int = 2,
) -> list[Reason]:
    """Field-pair reasons: which field of ``target`` shares which phrases with which of ``query``.

    Shared phrases are found once between the two whole documents and then attributed to the
    field pairs that contain them (one set intersection per hit instead of one per field pair).

    Args:
        query: The document the ranking is for.
        target: The recommended document.
        stats: Phrase document frequencies.
        text_weight: The text channels' contribution to the score, shared out by phrase weight.
        max_reasons: At most this many text reasons (each on a different target field).

    Returns:
        Text reasons, heaviest first (possibly empty).
    """
    q_terms = {f: key_terms(query.fields.get(f) or "") for f in REASON_FIELDS[query.kind]}
    t_terms = {f: key_terms(target.fields.get(f) or "") for f in REASON_FIELDS[target.kind]}
    shared = shared_phrases(_merged(q_terms), _merged(t_terms), stats)
    pairs: list[tuple[float, str, str, list[str]]] = []
    for qf, qt in q_terms.items():
        for tf, tt in t_terms.items():
            hits = [(p, w) for p, w in shared if p in qt and p in tt]
            if hits:
                pairs.append((sum(w for _, w in hits), tf, qf, [p for p, _ in hits]))
    pairs.sort(key=lambda p: -p[0])
    total = sum(p[0] for p in pairs) or 1.0
    reasons: list[Reason] = []
    used_fields: set[str] = set()
    used_phrases: set[str] = set()
    for weight, tf, qf, names in pairs:
        fresh = [p for p in names if p not in used_phrases][:MAX_PHRASES]
        if tf in used_fields or not fresh:
            continue
        used_fields.add(tf)
        used_phrases.update(fresh)
        reasons.append(Reason("text", tf, qf, tuple(fresh), max(text_weight, 0.0) * weight / total))
        if len(reasons) == max_reasons:
            break
    return reasons


def structure_reasons(
    query: MatchDocument, target: MatchDocument, contributions: dict[str, float]
) -> list[Reason]:
    """Reasons for structured matches that helped (positive contribution and a real match)."""
    out: list[Reason] = []
    if query.domains & target.domains:
        out.append(Reason("domain", None, None, tuple(sorted(query.domains & target.domains)),
                          contributions.get("domain", 0.0)))
    if query.forms & target.forms:
        out.append(Reason("form", None, None, tuple(sorted(query.forms & target.forms)),
                          contributions.get("form", 0.0)))
    solution = target if target.kind == "solution" else query
    challenge = query if solution is target else target
    if challenge.prefectures and (
        not solution.prefectures or challenge.prefectures & solution.prefectures
    ):
        served = challenge.prefectures & solution.prefectures
        weight = contributions.get("region", 0.0) * (1.0 if served else 0.5)  # nationwide: weaker
        out.append(Reason("region", None, None, tuple(sorted(served or {"全国"})), weight))
    if contributions.get("budget_match", 0.0) > 0:
        out.append(Reason("budget", None, None, _budget_phrase(challenge, solution),
                          contributions.get("budget", 0.0)))
    if solution.maturity in ("piloted", "in_service"):
        out.append(Reason("maturity", None, None, (solution.maturity,),
                          contributions.get("maturity", 0.0)))
    return [r for r in out if r.weight > 0]


def _budget_phrase(challenge: MatchDocument, solution: MatchDocument) -> tuple[str, ...]:
    lo = max(v for v in (challenge.budget[0], solution.budget[0], 0) if v is not None)
    highs = [v for v in (challenge.budget[1], solution.budget[1]) if v is not None]
    return (f"{lo}-{min(highs)}" if highs else f"{lo}-",)


def order_reasons(reasons: Sequence[Reason], limit: int = 4) -> tuple[Reason, ...]:
    """Heaviest first, at most ``limit``."""
    return tuple(sorted(reasons, key=lambda r: -r.weight)[:limit])
