"""The money rules of a contract: 少額随意契約 limits and the council's approval (議会の議決).

Figures (in yen) as in force from 2025-04-01:

* 地方自治法施行令 別表第五 (令和7年政令第94号, 施行 2025-04-01): the ceiling of the amount a
  municipality's 規則 may set for a 少額随意契約 (施行令第167条の2第1項第1号), per kind of contract,
  for 都道府県・指定都市 and for the other 市町村 (特別区 included, 地方自治法第283条).
* 地方自治法第96条第1項第5号 and 施行令 別表第三: a 工事又は製造の請負 at or above the amount needs
  the council's approval (都道府県 5億円, 指定都市 3億円, 市 1.5億円, 町村 5千万円).
* 第96条第1項第8号 and 別表第四: the purchase or sale of property (財産の取得又は処分) at or above
  7,000万円 / 4,000万円 / 2,000万円 / 700万円 likewise (land only from 5,000 m² a parcel, which
  this service does not know; it flags the amount and says so).

The tier of a municipality comes from its 全国地方公共団体コード: a prefecture's code has "000" as
its municipality part; 指定都市 are listed by code; 町村 are told apart from 市 by the name's ending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.services import audit, conflicts
from matchmaker.services.errors import FieldError
from models import ContractLimit, Match, Organisation, db
from models.procurement import CONTRACT_KINDS

Tier = Literal["prefecture", "designated_city", "city", "town"]

TIER_LABELS: dict[str, Any] = {
    "prefecture": _l("都道府県"),
    "designated_city": _l("指定都市"),
    "city": _l("市（指定都市を除く）・特別区"),
    "town": _l("町村"),
}

# 別表第五: (都道府県及び指定都市, 市町村).
SMALL_CONTRACT_CEILINGS: dict[str, tuple[int, int]] = {
    "works": (4_000_000, 2_000_000),
    "purchase": (3_000_000, 1_500_000),
    "lease_in": (1_500_000, 800_000),
    "sale": (1_000_000, 500_000),
    "lease_out": (500_000, 300_000),
    "other": (2_000_000, 1_000_000),
}

# 別表第三 (工事又は製造の請負) and 別表第四 (財産の買入れ・売払い): amount at or above which the
# council must approve the contract, per tier.
COUNCIL_THRESHOLDS: dict[str, dict[str, int]] = {
    "works": {"prefecture": 500_000_000, "designated_city": 300_000_000, "city": 150_000_000, "town": 50_000_000},
    "purchase": {"prefecture": 70_000_000, "designated_city": 40_000_000, "city": 20_000_000, "town": 7_000_000},
    "sale": {"prefecture": 70_000_000, "designated_city": 40_000_000, "city": 20_000_000, "town": 7_000_000},
}
COUNCIL_GROUNDS: dict[str, Any] = {
    "works": _l("地方自治法第96条第1項第5号・施行令別表第三"),
    "purchase": _l("地方自治法第96条第1項第8号・施行令別表第四（土地は1件5,000平方メートル以上のものに限る）"),
    "sale": _l("地方自治法第96条第1項第8号・施行令別表第四（土地は1件5,000平方メートル以上のものに限る）"),
}

# 指定都市 by the first five digits of the 全国地方公共団体コード.
DESIGNATED_CITY_CODES: frozenset[str] = frozenset({
    "01100", "04100", "11100", "12100", "14100", "14130", "14150", "15100", "22100", "22130",
    "23100", "26100", "27100", "27140", "28100", "33100", "34100", "40100", "40130", "43100",
})

# What a contract above the small-contract limit can go through instead.
ROUTE_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("proposal", _l("公募型プロポーザル（企画競争。選定後は第2号による随意契約）")),
    ("tender", _l("一般競争入札または指名競争入札（地方自治法第234条）")),
    ("negotiated", _l("随意契約：施行令第167条の2第1項の第2号〜第9号のいずれかの理由を記録する")),
)


def tier_of(organisation: Organisation) -> Tier:
    code = organisation.lg_code or ""
    if code[2:5] == "000":
        return "prefecture"
    if code[:5] in DESIGNATED_CITY_CODES:
        return "designated_city"
    if organisation.name.endswith(("町", "村")):
        return "town"
    return "city"


def ceiling_for(tier: Tier, kind: str) -> int:
    large, other = SMALL_CONTRACT_CEILINGS[kind]
    return large if tier in ("prefecture", "designated_city") else other


def stored_limits(organisation_id: int) -> ContractLimit | None:
    return db.session.scalar(select(ContractLimit).where(ContractLimit.organisation_id == organisation_id))


def limits_for(organisation: Organisation) -> dict[str, int]:
    """The small-contract limit per kind: the municipality's 規則 where set, else 別表第五's ceiling."""
    tier = tier_of(organisation)
    row = stored_limits(organisation.id)
    overrides = row.overrides() if row is not None else {}
    return {kind: overrides.get(kind, ceiling_for(tier, kind)) for kind in CONTRACT_KINDS}


@dataclass(frozen=True)
class MoneyCheck:
    amount: int
    kind: str
    limit: int  # the 少額随意契約 limit for this kind at this municipality
    council_threshold: int | None  # the amount that needs 議会の議決, where the law sets one
    route: str | None = None  # the procurement route chosen (None: not yet, e.g. a pilot's budget request)
    ground: str | None = None  # for a 随意契約: the 号 of 施行令第167条の2第1項

    @property
    def route_warning(self) -> bool:
        """Over the small-contract limit without a route that allows it: the options must be shown."""
        if not self.over_small_limit:
            return False
        if self.route in ("proposal", "tender"):
            return False
        return not (self.route == "negotiated" and self.ground not in (None, "1"))

    @property
    def over_small_limit(self) -> bool:
        return self.amount > self.limit

    @property
    def needs_council(self) -> bool:
        return self.council_threshold is not None and self.amount >= self.council_threshold

    @property
    def council_ground(self) -> Any:
        return COUNCIL_GROUNDS.get(self.kind)


def check(organisation: Organisation, amount: int, kind: str | None, route: str | None = None,
          ground: str | None = None) -> MoneyCheck:
    """The limits an amount of this kind of contract meets at this municipality."""
    kind = kind if kind in CONTRACT_KINDS else "other"
    threshold = COUNCIL_THRESHOLDS.get(kind, {}).get(tier_of(organisation))
    return MoneyCheck(amount=amount, kind=kind, limit=limits_for(organisation)[kind], council_threshold=threshold,
                      route=route, ground=ground)


def money_check_of(match: Match) -> MoneyCheck | None:
    """The adoption's contract; before adoption, the amount the pilot's budget request asks for,
    for the kind of contract recorded with it (a 業務委託 when none was)."""
    organisation = match.challenge.organisation
    if match.adoption_amount is not None:
        return check(organisation, match.adoption_amount, match.contract_kind, match.procurement_route,
                     match.negotiated_ground)
    if match.pilot is not None and match.pilot.budget_request_amount is not None:
        return check(organisation, match.pilot.budget_request_amount, match.contract_kind)
    return None


def check_route(money: MoneyCheck, route: str, ground: str | None) -> None:
    """A 随意契約 above the small-contract limit cannot rest on 第1号; one must name its ground."""
    if route != "negotiated":
        return
    if not ground:
        raise FieldError("negotiated_ground", _l("随意契約の根拠（施行令第167条の2第1項の号）を選んでください。"))
    if ground == "1" and money.over_small_limit:
        raise FieldError("negotiated_ground", _l(
            "金額が少額随意契約の限度額（%(limit)s円）を超えるため、第1号は使えません。"
            "プロポーザル・入札にするか、第2号〜第9号の理由を選んでください。", limit=f"{money.limit:,}"))


def save_limits(actor: Any, organisation: Organisation, values: Mapping[str, int | None]) -> ContractLimit:
    """Store the amounts of a municipality's 規則 (None = 別表第五's ceiling). Bad input raises FieldError."""
    tier = tier_of(organisation)
    cleaned: dict[str, int | None] = {}
    for kind in CONTRACT_KINDS:
        value = values.get(kind)
        if value is not None and not 0 <= value <= ceiling_for(tier, kind):
            raise FieldError(kind, _l("0円以上、政令の上限（%(ceiling)s円）以下で入力してください。",
                                      ceiling=f"{ceiling_for(tier, kind):,}"))
        cleaned[kind] = value
    row = stored_limits(organisation.id)
    before: dict[str, int] = {}
    if row is None:
        try:
            with conflicts.savepoint():  # a colleague saving the first limits at the same moment
                row = ContractLimit(organisation_id=organisation.id)
                db.session.add(row)
                db.session.flush()
        except conflicts.Conflict:
            row = stored_limits(organisation.id)
            assert row is not None
    else:
        before = row.overrides()
    for kind, value in cleaned.items():
        setattr(row, kind, value)
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "contract_limit.updated", row, before=before, after=row.overrides(),
                 organisation_id=organisation.id)
    return row
