"""Code lists from docs/fields.md; import files may use the code or its Japanese label."""

from __future__ import annotations

from collections.abc import Iterable

DOMAINS = {
    "frailty": "介護予防・フレイル", "transport": "公共交通・移動", "counter_dx": "窓口DX・行政手続",
    "disaster": "防災・減災", "childcare": "子育て", "tourism": "観光・交流",
    "agriculture": "農業・鳥獣害", "environment": "環境・ごみ・脱炭素", "education": "教育",
    "vacant_houses": "空き家・住まい", "health": "健康・医療", "infrastructure": "インフラ維持管理",
    "economy": "地域経済・移住・産業", "welfare": "福祉・見守り",
}
FORMS = {
    "pilot": "実証実験", "agreement": "連携協定", "outsourcing": "業務委託",
    "joint_research": "共同研究", "ppp": "PFI/PPP", "designated_manager": "指定管理",
    "naming_rights": "ネーミングライツ", "furusato_tax": "企業版ふるさと納税", "advertising": "広告",
}
MATURITY = {"idea": "アイデア", "prototype": "試作", "piloted": "実証済み", "in_service": "提供中"}


def to_codes(values: Iterable[str] | str | None, table: dict[str, str]) -> frozenset[str]:
    """Map codes or Japanese labels to codes; unknown values are kept as given.

    Args:
        values: A list, or a ``;``-separated string (CSV), of codes or labels.
        table: code → label.

    Returns:
        The set of codes.
    """
    if values is None:
        return frozenset()
    items = values.split(";") if isinstance(values, str) else list(values)
    by_label = {label: code for code, label in table.items()}
    out = set()
    for raw in items:
        value = str(raw).strip()
        if value:
            out.add(by_label.get(value, value))
    return frozenset(out)


def to_code(value: str | None, table: dict[str, str]) -> str | None:
    """Map one code or label to its code (``None`` stays ``None``)."""
    if not value:
        return None
    return next(iter(to_codes([value], table)))
