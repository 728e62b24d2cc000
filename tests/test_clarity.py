"""The completeness and clarity check: it passes a well-written challenge and flags weak ones."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from matchmaker.services import clarity
from tests import factories

TODAY = date(2026, 6, 1)

GOOD: dict = {
    **copy.deepcopy(factories.CHALLENGE_FIELDS),
    "affected": "75歳以上の独居・高齢夫婦世帯（約8,000人）、地域包括支援センター職員",
    "deadline": TODAY + timedelta(days=45),
}


def levels(report: clarity.ClarityReport) -> dict[str, str]:
    return {f.field: f.level for f in report.findings}


def finding(report: clarity.ClarityReport, field: str) -> clarity.Finding:
    (match,) = report.for_field(field)
    return match


def weak(**changes) -> clarity.ClarityReport:
    return clarity.check({**GOOD, **changes}, TODAY)


def test_a_well_written_challenge_passes_every_rule() -> None:
    report = clarity.check(GOOD, TODAY)
    assert report.score == 100
    assert report.ready
    assert set(levels(report).values()) == {"ok"}


def test_an_empty_form_scores_low_and_names_every_required_field() -> None:
    report = clarity.check({}, TODAY)
    assert report.score < 20
    missing = {f.field for f in report.blockers}
    assert missing >= {"title", "background", "problem", "affected", "target_state", "kpis", "offerings",
                       "collaboration_forms", "domains", "deadline", "contact_department"}
    assert not report.ready
    assert all(f.message for f in report.findings)


@pytest.mark.parametrize("kpis", ["参加者を増やす", "参加率を高める\n満足度を上げる"])
def test_kpis_without_numbers_are_not_measurable(kpis: str) -> None:
    report = weak(kpis=kpis)
    assert finding(report, "kpis").level == "warn"
    assert "数値" in finding(report, "kpis").message
    assert report.score < 100


def test_kpis_with_numbers_but_no_arrow_name_the_line() -> None:
    report = weak(kpis="参加率: 8% → 12%\n満足度を80%にする")
    kpi = finding(report, "kpis")
    assert kpi.level == "warn"
    assert "2行目" in kpi.message and "→" in kpi.message


def test_full_width_arrows_and_digits_count_as_measurable() -> None:
    assert finding(weak(kpis="待ち時間：４５分　⇒　１５分"), "kpis").level == "ok"


def test_no_budget_and_no_fiscal_year_is_flagged_as_no_budget_timing() -> None:
    report = weak(budget_min=None, budget_max=None, fiscal_year=None)
    assert levels(report)["fiscal_year"] == "warn"
    assert "年度" in finding(report, "fiscal_year").message


def test_an_inverted_budget_blocks() -> None:
    report = weak(budget_min=5_000_000, budget_max=1_000_000)
    assert levels(report)["budget_max"] == "missing"
    assert not report.ready


@pytest.mark.parametrize("problem", [
    "窓口業務にAIを活用したい。",
    "住民向けの防災アプリを導入したい。",
    "市独自の子育てアプリがない。",
    "スマート農業技術の導入が進んでいない。",
    "AIを導入して窓口業務を効率化する必要がある。",
    "庁内の申請を一元管理するシステムを構築し、業務全体のDXを推進することで住民サービスを向上させたいと考えている。",
])
def test_a_problem_stated_as_a_solution_is_flagged(problem: str) -> None:
    report = weak(problem=problem)
    found = finding(report, "problem")
    assert found.level == "warn"
    assert "解決策" in found.message


def test_a_solution_phrase_with_the_harm_described_is_accepted() -> None:
    problem = "窓口の平均待ち時間が45分と長く、職員の残業も月30時間に増えている。AIを活用したいが、まず負担の大きい業務を知りたい。"
    assert finding(weak(problem=problem), "problem").level == "ok"


def test_a_problem_too_short_to_act_on_is_flagged() -> None:
    found = finding(weak(problem="高齢者が困っている。"), "problem")
    assert found.level == "warn"
    assert "短く" in found.message


@pytest.mark.parametrize(("days", "level"), [(-1, "missing"), (0, "warn"), (5, "warn"), (14, "ok")])
def test_deadline_in_the_past_or_too_close(days: int, level: str) -> None:
    assert levels(weak(deadline=TODAY + timedelta(days=days)))["deadline"] == level


def test_missing_offerings_block_and_say_what_to_write() -> None:
    found = finding(weak(offerings=""), "offerings")
    assert found.level == "missing"
    assert "実証フィールド" in found.message


def test_score_falls_with_each_weakness() -> None:
    one = weak(causes="").score
    two = weak(causes="", kpis="増やす").score
    assert 100 > one > two


def test_parse_kpis_splits_indicator_baseline_and_target() -> None:
    (kpi, loose) = clarity.parse_kpis("・参加率: 8% → 12%\nなんとなく良くする")
    assert (kpi.indicator, kpi.baseline, kpi.target) == ("参加率", "8%", "12%")
    assert kpi.measurable
    assert not loose.measurable and loose.raw == "なんとなく良くする"


def test_report_as_dict_lists_problems_first_for_the_json_endpoint() -> None:
    data = weak(kpis="", sdgs=[]).as_dict()
    assert data["findings"][0]["level"] in ("missing", "warn")
    assert data["findings"][-1]["level"] == "ok"
    assert data["counts"]["missing"] == 1
    assert {"field", "level", "label", "message"} <= set(data["findings"][0])
    assert data["ready"] is False
