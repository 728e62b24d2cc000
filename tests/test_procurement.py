"""Money rules: 少額随意契約 limits (施行令別表第五, 2025-04-01) per tier and kind, a municipality's
own 規則, the ground a 随意契約 above the limit needs, 議会の議決, and the budget-request pack."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from matchmaker.services import matches as match_service
from matchmaker.services import procurement
from matchmaker.services.errors import FieldError
from models import AuditEvent, ContractLimit, Match
from models import db as models_db
from tests import pipeline_factories as pf
from tests.factories import make_municipality, make_user
from tests.pages import get_page, page_text, post_page

CITY_LIMITS = {"works": 2_000_000, "purchase": 1_500_000, "lease_in": 800_000, "sale": 500_000,
               "lease_out": 300_000, "other": 1_000_000}
LARGE_LIMITS = {"works": 4_000_000, "purchase": 3_000_000, "lease_in": 1_500_000, "sale": 1_000_000,
                "lease_out": 500_000, "other": 2_000_000}


def _city_pair() -> pf.Pair:
    """A pair whose municipality is an ordinary 市 (limits of the 市町村 column, 市 for 議会)."""
    pair = pf.make_pair()
    pair.municipality.name, pair.municipality.lg_code = "豊岡市", "282090"
    models_db.session.commit()
    return pair


@pytest.mark.parametrize(("name", "code", "tier"), [
    ("兵庫県", "280003", "prefecture"), ("神戸市", "281000", "designated_city"), ("川崎市", "141305", "designated_city"),
    ("豊岡市", "282090", "city"), ("千代田区", "131016", "city"), ("神河町", "284467", "town"), ("十津川村", "294497", "town"),
])
def test_tier_from_code_and_name(db: Any, name: str, code: str, tier: str) -> None:
    assert procurement.tier_of(make_municipality(name=name, lg_code=code)) == tier


@pytest.mark.parametrize(("code", "name", "expected"), [
    ("280003", "兵庫県", LARGE_LIMITS), ("281000", "神戸市", LARGE_LIMITS),
    ("282090", "豊岡市", CITY_LIMITS), ("284467", "神河町", CITY_LIMITS),
])
def test_statutory_limits_per_tier(db: Any, code: str, name: str, expected: dict[str, int]) -> None:
    assert procurement.limits_for(make_municipality(name=name, lg_code=code)) == expected


@pytest.mark.parametrize(("kind", "limit"), sorted(CITY_LIMITS.items()))
def test_threshold_per_kind_is_inclusive(db: Any, kind: str, limit: int) -> None:
    city = make_municipality(name="豊岡市", lg_code="282090")
    assert not procurement.check(city, limit, kind).over_small_limit  # "超えない" = up to and including
    over = procurement.check(city, limit + 1, kind)
    assert over.over_small_limit and over.route_warning
    assert not procurement.check(city, limit + 1, kind, route="proposal").route_warning
    assert not procurement.check(city, limit + 1, kind, route="negotiated", ground="2").route_warning
    assert procurement.check(city, limit + 1, kind, route="negotiated", ground="1").route_warning


@pytest.mark.parametrize(("name", "code", "threshold"), [
    ("兵庫県", "280003", 500_000_000), ("神戸市", "281000", 300_000_000),
    ("豊岡市", "282090", 150_000_000), ("神河町", "284467", 50_000_000),
])
def test_council_approval_for_works(db: Any, name: str, code: str, threshold: int) -> None:
    org = make_municipality(name=name, lg_code=code)
    assert procurement.check(org, threshold, "works").needs_council
    assert not procurement.check(org, threshold - 1, "works").needs_council
    assert not procurement.check(org, threshold * 10, "other").needs_council  # 業務委託: no 別表 amount


def test_purchase_council_threshold_for_a_town(db: Any) -> None:
    town = make_municipality(name="神河町", lg_code="284467")
    assert procurement.check(town, 7_000_000, "purchase").needs_council
    assert not procurement.check(town, 6_999_999, "purchase").needs_council


def test_municipal_rule_lowers_the_limit_and_is_audited(db: Any) -> None:
    city = make_municipality(name="豊岡市", lg_code="282090")
    coordinator = make_user("coordinator")
    procurement.save_limits(coordinator, city, {"other": 500_000})
    db.session.commit()
    assert procurement.limits_for(city)["other"] == 500_000
    assert procurement.limits_for(city)["works"] == 2_000_000  # untouched kinds keep the ceiling
    assert procurement.check(city, 600_000, "other").over_small_limit
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contract_limit.updated"))
    assert event is not None and event.details["after"] == {"other": 500_000}


def test_rule_cannot_exceed_the_cabinet_order(db: Any) -> None:
    city = make_municipality(name="豊岡市", lg_code="282090")
    with pytest.raises(FieldError) as raised:
        procurement.save_limits(make_user("coordinator"), city, {"other": 1_000_001})
    assert raised.value.field == "other"


def test_negotiated_above_the_limit_needs_a_ground_other_than_small(db: Any) -> None:
    pair = _city_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="pilot")
    db.session.commit()
    with pytest.raises(FieldError) as raised:
        match_service.adopt(match, pair.owner, fiscal_year=2027, route="negotiated", amount=1_000_001,
                            negotiated_ground="1")
    assert raised.value.field == "negotiated_ground"
    db.session.rollback()
    with pytest.raises(FieldError):
        match_service.adopt(match, pair.owner, fiscal_year=2027, route="negotiated", amount=500_000)
    db.session.rollback()
    match_service.adopt(match, pair.owner, fiscal_year=2027, route="negotiated", amount=1_000_000,
                        negotiated_ground="1")
    assert (match.stage, match.negotiated_ground, match.contract_kind) == ("adopted", "1", "other")


@pytest.mark.parametrize(("route", "ground", "warned"), [
    (None, None, True),  # a pilot's budget request: no route chosen yet
    ("negotiated", "1", True),  # 少額随意契約 cannot carry an amount above its limit
    *(("negotiated", str(n), False) for n in range(2, 10)),  # 第2〜9号: a 随意契約 on another ground
    ("proposal", None, False), ("tender", None, False),
    ("other", None, True),
])
@pytest.mark.parametrize("kind", sorted(CITY_LIMITS))
def test_route_warning_per_route_above_at_and_below_the_limit(db: Any, kind: str, route: str | None,
                                                              ground: str | None, warned: bool) -> None:
    """Above a kind's limit only プロポーザル, 入札 and a 随意契約 on 第2〜9号 go without the warning;
    at or below the limit no route is warned about."""
    city = make_municipality(name="豊岡市", lg_code="282090")
    limit = CITY_LIMITS[kind]
    assert procurement.check(city, limit + 1, kind, route, ground).route_warning is warned
    for amount in (limit, limit - 1):
        assert procurement.check(city, amount, kind, route, ground).route_warning is False


def test_match_page_warns_and_flags_council(db: Any, client: Any, login_as: Any) -> None:
    pair = _city_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="adopted", procurement_route="other",
                          adoption_amount=200_000_000, contract_kind="works")
    db.session.commit()
    login_as(pair.owner)
    box = get_page(client, "matches.match", match_id=match.id).find(id="money-rules")
    assert box is not None and box.find(id="over-small-limit") is not None
    assert [li["data-route"] for li in box.find(id="route-options").find_all("li")] == ["proposal", "tender", "negotiated"]
    assert "議会の議決が必要です" in box.find(id="council-approval").get_text()
    pf.switch_user(login_as, pair.company_user)
    assert get_page(client, "matches.match", match_id=match.id).find(id="money-rules") is None


def test_within_the_limit_no_warning(db: Any, client: Any, login_as: Any) -> None:
    pair = _city_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="adopted", procurement_route="negotiated",
                          adoption_amount=900_000, contract_kind="other", negotiated_ground="1")
    db.session.commit()
    login_as(pair.owner)
    box = get_page(client, "matches.match", match_id=match.id).find(id="money-rules")
    assert box.find(id="over-small-limit") is None and box.find(id="council-approval") is None


def test_adopt_page_refuses_small_ground_above_the_limit(db: Any, client: Any, login_as: Any) -> None:
    pair = _city_pair()
    match = pf.make_match(pair.challenge, pair.solution, stage="pilot")
    login_as(pair.owner)
    page = post_page(client, "matches.adopt", {"fiscal_year": "2027", "procurement_route": "negotiated",
                                               "negotiated_ground": "1", "contract_kind": "other",
                                               "amount": "300万"}, match_id=match.id)
    assert "第1号は使えません" in page_text(page)
    assert db.session.get(Match, match.id).stage == "pilot"


def test_limits_page_permissions(db: Any, client: Any, login_as: Any) -> None:
    city = make_municipality(name="豊岡市", lg_code="282090")
    staff = make_user("municipal", organisation=city)
    login_as(make_user("company"))
    get_page(client, "auth.contract_limits", expected_status=403, organisation_id=city.id)
    pf.switch_user(login_as, staff)
    page = get_page(client, "auth.contract_limits", organisation_id=city.id)
    assert page.find(id="contract-limit-form") is None and page.find(id="limit-table") is not None
    post_page(client, "auth.contract_limits", {"other": "50万"}, expected_status=403, organisation_id=city.id)
    pf.switch_user(login_as, "coordinator")
    post_page(client, "auth.contract_limits", {"other": "50万"}, organisation_id=city.id)
    assert db.session.scalar(select(ContractLimit)).other == 500_000
    page = post_page(client, "auth.contract_limits", {"other": "300万"}, organisation_id=city.id)
    assert "政令の上限" in page_text(page)
    assert db.session.scalar(select(ContractLimit)).other == 500_000  # bad input loses nothing saved


def test_budget_pack(db: Any, client: Any, login_as: Any) -> None:
    pair = _city_pair()
    pilot = pf.make_pilot(starts_on=date(2026, 6, 1), ends_on=date(2026, 11, 30), reported=True,
                          budget_request_recorded_on=date(2026, 10, 20), budget_request_amount=5_000_000)
    match = pf.make_match(pair.challenge, pair.solution, stage="pilot", pilot=pilot)
    pf.make_proposal(match, pair.company_user, cost_estimate=1_200_000)
    login_as(pair.owner)
    page = get_page(client, "records.record", kind="budget_pack", ident=match.id)
    money = page.find(id="pack-money").get_text()
    assert "令和9年度" in money and "500万円" in money and "120万円" in money
    assert page.find(id="pack-over-limit") is not None  # 500万円 > 100万円 (市・業務委託)
    assert "1 件のうち 1 件" in page.find(id="pack-kpis").get_text()
    assert "令和8年10月31日" in page.find(id="pack-timeline").get_text()
    link = get_page(client, "matches.match", match_id=match.id).select_one("#budget-pack-link a")
    assert link is not None and link["href"] == f"/records/budget_pack/{match.id}"  # found from the pilot
    pf.switch_user(login_as, pair.company_user)
    get_page(client, "records.record", expected_status=403, kind="budget_pack", ident=match.id)
    assert get_page(client, "matches.match", match_id=match.id).select_one("#budget-pack-link") is None
