"""Fixed code lists shared by models, forms, import files and the ranking adapter.

Labels are Japanese source strings; templates translate them with ``_()`` at display time.
"""

from __future__ import annotations

import enum
from typing import Any

from flask_babel import lazy_gettext as _l

DOMAINS: dict[str, str] = {
    "frailty": _l("介護予防・フレイル"),
    "transport": _l("公共交通・移動"),
    "counter_dx": _l("窓口DX・行政手続"),
    "disaster": _l("防災・減災"),
    "childcare": _l("子育て"),
    "tourism": _l("観光・交流"),
    "agriculture": _l("農業・鳥獣害"),
    "environment": _l("環境・ごみ・脱炭素"),
    "education": _l("教育"),
    "vacant_houses": _l("空き家・住まい"),
    "health": _l("健康・医療"),
    "infrastructure": _l("インフラ維持管理"),
    "economy": _l("地域経済・移住・産業"),
    "welfare": _l("福祉・見守り"),
}

COLLABORATION_FORMS: dict[str, str] = {
    "pilot": _l("実証実験"),
    "agreement": _l("連携協定"),
    "outsourcing": _l("業務委託"),
    "joint_research": _l("共同研究"),
    "ppp": _l("PFI/PPP"),
    "designated_manager": _l("指定管理"),
    "naming_rights": _l("ネーミングライツ"),
    "furusato_tax": _l("企業版ふるさと納税"),
    "advertising": _l("広告"),
}

MATURITY: dict[str, str] = {
    "idea": _l("アイデア"),
    "prototype": _l("試作"),
    "piloted": _l("実証済み"),
    "in_service": _l("提供中"),
}

COMPANY_SIZES: dict[str, str] = {
    "startup": _l("スタートアップ"),
    "sme": _l("中小企業"),
    "large": _l("大企業"),
    "university": _l("大学・研究機関"),
    "npo": _l("NPO・団体"),
}

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)

# Display names: the stored value stays the Japanese name; English readers see the romanised one.
PREFECTURE_LABELS: dict[str, Any] = {
    "北海道": _l("北海道"),
    "青森県": _l("青森県"),
    "岩手県": _l("岩手県"),
    "宮城県": _l("宮城県"),
    "秋田県": _l("秋田県"),
    "山形県": _l("山形県"),
    "福島県": _l("福島県"),
    "茨城県": _l("茨城県"),
    "栃木県": _l("栃木県"),
    "群馬県": _l("群馬県"),
    "埼玉県": _l("埼玉県"),
    "千葉県": _l("千葉県"),
    "東京都": _l("東京都"),
    "神奈川県": _l("神奈川県"),
    "新潟県": _l("新潟県"),
    "富山県": _l("富山県"),
    "石川県": _l("石川県"),
    "福井県": _l("福井県"),
    "山梨県": _l("山梨県"),
    "長野県": _l("長野県"),
    "岐阜県": _l("岐阜県"),
    "静岡県": _l("静岡県"),
    "愛知県": _l("愛知県"),
    "三重県": _l("三重県"),
    "滋賀県": _l("滋賀県"),
    "京都府": _l("京都府"),
    "大阪府": _l("大阪府"),
    "兵庫県": _l("兵庫県"),
    "奈良県": _l("奈良県"),
    "和歌山県": _l("和歌山県"),
    "鳥取県": _l("鳥取県"),
    "島根県": _l("島根県"),
    "岡山県": _l("岡山県"),
    "広島県": _l("広島県"),
    "山口県": _l("山口県"),
    "徳島県": _l("徳島県"),
    "香川県": _l("香川県"),
    "愛媛県": _l("愛媛県"),
    "高知県": _l("高知県"),
    "福岡県": _l("福岡県"),
    "佐賀県": _l("佐賀県"),
    "長崎県": _l("長崎県"),
    "熊本県": _l("熊本県"),
    "大分県": _l("大分県"),
    "宮崎県": _l("宮崎県"),
    "鹿児島県": _l("鹿児島県"),
    "沖縄県": _l("沖縄県"),
}


class Role(str, enum.Enum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MUNICIPAL = "municipal"
    COMPANY = "company"


ROLE_LABELS: dict[str, str] = {
    Role.ADMIN.value: _l("管理者"),
    Role.COORDINATOR.value: _l("コーディネーター"),
    Role.MUNICIPAL.value: _l("自治体職員"),
    Role.COMPANY.value: _l("企業担当者"),
}


class OrgKind(str, enum.Enum):
    MUNICIPALITY = "municipality"
    COMPANY = "company"


class ChallengeStatus(str, enum.Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    CLOSED = "closed"


CHALLENGE_STATUS_LABELS: dict[str, str] = {
    ChallengeStatus.DRAFT.value: _l("下書き"),
    ChallengeStatus.IN_REVIEW.value: _l("確認中"),
    ChallengeStatus.PUBLISHED.value: _l("公開中"),
    ChallengeStatus.CLOSED.value: _l("終了"),
}


def lg_code_check_digit(first_five: str) -> int:
    """The 6th digit of a 全国地方公共団体コード, computed from the first five."""
    weights = (6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(first_five, weights)) % 11
    return (11 - remainder) % 10


def is_valid_lg_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and int(code[5]) == lg_code_check_digit(code[:5])


def code_from_label(value: str, table: dict[str, str]) -> str | None:
    """Accept a code or its Japanese label (as import files may use either)."""
    value = value.strip()
    if value in table:
        return value
    for code, label in table.items():
        if str(label) == value:
            return code
    return None


# The 17 Sustainable Development Goals (their official Japanese short titles).
SDG_GOALS: dict[int, Any] = {
    1: _l("貧困をなくそう"),
    2: _l("飢餓をゼロに"),
    3: _l("すべての人に健康と福祉を"),
    4: _l("質の高い教育をみんなに"),
    5: _l("ジェンダー平等を実現しよう"),
    6: _l("安全な水とトイレを世界中に"),
    7: _l("エネルギーをみんなに そしてクリーンに"),
    8: _l("働きがいも経済成長も"),
    9: _l("産業と技術革新の基盤をつくろう"),
    10: _l("人や国の不平等をなくそう"),
    11: _l("住み続けられるまちづくりを"),
    12: _l("つくる責任 つかう責任"),
    13: _l("気候変動に具体的な対策を"),
    14: _l("海の豊かさを守ろう"),
    15: _l("陸の豊かさも守ろう"),
    16: _l("平和と公正をすべての人に"),
    17: _l("パートナーシップで目標を達成しよう"),
}
