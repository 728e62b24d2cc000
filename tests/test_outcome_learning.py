"""Learning from outcomes: labels from match stages, the switch and the minimum, the re-ordered ranking,
the cached fit, the CLI report and the coordinators' page."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from matchmaker.services import matches as match_service
from matchmaker.services import outcomes, recommend
from tests import factories
from tests.pages import get_page


@pytest.fixture()
def world(db: Any) -> dict[str, Any]:
    """A frailty challenge and four profiles: two fit its domain (frailty), two do not.

    'near_text' shares most words with the challenge but is filed under tourism; 'booking' shares few
    words but is filed under frailty — the base ranking puts 'near_text' above 'booking'.
    """
    kobe = factories.make_municipality(name="神戸テスト市", prefecture="兵庫県")
    osaka = factories.make_municipality(name="大阪テスト市", prefecture="大阪府")
    rows: dict[str, Any] = {
        "challenge": factories.make_challenge(kobe),
        "near_text": factories.make_solution(factories.make_company(), domains=["tourism"]),
        "sensor": factories.make_solution(
            factories.make_company(), title="高齢者の見守りセンサー",
            summary="一人暮らし高齢者の自宅にセンサーを設置し、異常を家族に知らせる。"),
        "booking": factories.make_solution(
            factories.make_company(), title="公共施設の予約システム", summary="体育館や会議室の予約をオンラインで受け付ける。",
            target_users="施設管理課", track_record="3市で導入", evidence="電話対応が半減した。"),
        "drone": factories.make_solution(
            factories.make_company(), title="農薬散布ドローン", summary="ドローンで水田に農薬を散布する。",
            domains=["agriculture"], target_users="農家", track_record="", evidence=""),
        "coordinator": factories.make_user("coordinator"),
        "others": [factories.make_challenge(osaka, title=f"地域課題{i}", domains=["agriculture"])
                   for i in range(9)],
    }
    db.session.commit()
    return rows


def add_outcomes(world: dict[str, Any], n: int, seed: int = 0) -> None:
    """``n`` labelled matches made through the services, whose stored 'domain' feature decides the outcome.

    The stored base score ('fused') is noise, so the model can only beat it by learning 'domain'.
    Positives go on to a sounding, negatives are declined (closed as 不採択).
    """
    rng = np.random.default_rng(seed)
    coordinator = world["coordinator"]
    solutions = [world[k] for k in ("near_text", "sensor", "booking", "drone")]
    pairs = [(c, s) for c in world["others"] for s in solutions]
    for i, (challenge, solution) in enumerate(pairs[:n]):
        domain = float(i % 2)
        features = {"direction": "challenge_to_solution", "rank": 1 + i % 4,
                    "ranker": {"fused": float(rng.normal()), "domain": domain}}
        match, created = match_service.open_match(challenge, solution, coordinator, "municipality_invite", features)
        assert created
        if domain:
            match_service.advance(match, "sounding", coordinator)
        else:
            match_service.close(match, coordinator, "rejected", "予算の範囲外")
    from models import db

    db.session.commit()


def order(world: dict[str, Any]) -> list[str]:
    names = {world[k].id: k for k in ("near_text", "sensor", "booking", "drone")}
    return [names[c.id] for c in recommend.solutions_for_challenge(world["challenge"], 10).cards]


@pytest.mark.parametrize(("stage", "reason", "closed_from", "label"), [
    ("recommended", None, None, None),
    ("proposal", None, None, 1), ("sounding", None, None, 1), ("pilot", None, None, 1), ("adopted", None, None, 1),
    ("closed", "rejected", "proposal", 0),  # declined
    ("closed", "other", "recommended", 0),  # closed without progress
    ("closed", "no_budget", "sounding", 1),  # it moved forward before it ended
    ("closed", "rejected", "pilot", 1),  # a pilot happened
])
def test_labels_follow_the_stage(stage: str, reason: str | None, closed_from: str | None,
                                 label: int | None) -> None:
    assert outcomes.label_of(stage, reason, closed_from) == label


def test_below_the_minimum_the_ranking_is_unchanged(app: Any, db: Any, world: dict[str, Any]) -> None:
    base = order(world)
    add_outcomes(world, 12)
    app.config["LEARNED_RERANKER"] = "on"
    learned = outcomes.model()
    assert learned.counts["positive"] == 6 and learned.counts["negative"] == 6
    assert (learned.fitted, learned.active, learned.state) == (False, False, "too_few_labels")
    assert outcomes.active_model() is None
    assert order(world) == base


def test_enough_labels_switch_the_learned_order_on(app: Any, db: Any, world: dict[str, Any]) -> None:
    base = order(world)
    assert base.index("near_text") < base.index("booking")  # text first, before learning
    add_outcomes(world, 36)

    # Switched off (the default): the model is fitted and would help, but the ranking is untouched.
    assert outcomes.model().state == "off" and outcomes.active_model() is None
    assert order(world) == base

    app.config["LEARNED_RERANKER"] = "on"
    learned = outcomes.active_model()
    assert learned is not None and learned.active
    assert learned.counts == {"positive": 18, "negative": 18, "total": 36, "without_features": 0, "pending": 0}
    assert learned.evaluation["auc_model"] > learned.evaluation["auc_base"]
    assert learned.weights["domain"] > abs(learned.weights["fused"])
    reranked = order(world)
    # The predicted direction: profiles that fit the challenge's domain move up.
    assert reranked.index("booking") < reranked.index("near_text")
    assert reranked[:2] == ["sensor", "booking"] and sorted(reranked) == sorted(base)
    # Ranks are 1..n and each card keeps its pair's score: re-ordering moves it, not its number.
    cards = recommend.solutions_for_challenge(world["challenge"], 10).cards
    assert [c.rank for c in cards] == list(range(1, len(cards) + 1))
    app.config["LEARNED_RERANKER"] = "off"
    plain = {c.id: c.score for c in recommend.solutions_for_challenge(world["challenge"], 10).cards}
    assert set(plain) == {c.id for c in cards} and all(plain[c.id] == c.score for c in cards)


def test_a_model_that_does_not_beat_the_base_stays_off(app: Any, db: Any, world: dict[str, Any]) -> None:
    """Outcomes that follow the stored base score exactly: learning cannot improve on it."""
    coordinator = world["coordinator"]
    solutions = [world[k] for k in ("near_text", "sensor", "booking", "drone")]
    rng = np.random.default_rng(1)
    for i, (challenge, solution) in enumerate((c, s) for c in world["others"] for s in solutions):
        fused = float(rng.normal())
        features = {"ranker": {"fused": fused, "domain": float(rng.integers(0, 2))}}
        match, _ = match_service.open_match(challenge, solution, coordinator, "municipality_invite", features)
        if fused > 0:
            match_service.advance(match, "sounding", coordinator)
        else:
            match_service.close(match, coordinator, "rejected", "見送り")
    db.session.commit()
    app.config["LEARNED_RERANKER"] = "on"
    learned = outcomes.model()
    assert learned.fitted and learned.evaluation["auc_base"] == 1.0
    assert learned.evaluation["auc_model"] < 1.0  # folds that learn a little noise from 'domain'
    assert learned.state == "not_better" and not learned.active and outcomes.active_model() is None


def test_the_model_is_fitted_once_per_change_of_the_labels(app: Any, db: Any, world: dict[str, Any]) -> None:
    add_outcomes(world, 36)
    app.config["LEARNED_RERANKER"] = "on"
    cache = app.extensions.setdefault("outcome_model", {})
    first = outcomes.model()
    fits = cache["fits"]
    for _ in range(2):
        order(world)
    assert outcomes.model().reranker is first.reranker and cache["fits"] == fits
    # A new match at 'recommended' is no label: the model is not refitted.
    match, _created = match_service.open_match(world["challenge"], world["drone"], world["coordinator"],
                                               "municipality_invite", {"ranker": {"fused": 0.0, "domain": 0.0}})
    db.session.commit()
    assert outcomes.model().reranker is first.reranker and cache["fits"] == fits
    # Its outcome is a new label: one refit.
    match_service.close(match, world["coordinator"], "rejected", "見送り")
    db.session.commit()
    refitted = outcomes.model()
    assert refitted.reranker is not first.reranker and cache["fits"] == fits + 1
    assert refitted.counts["negative"] == 19
    outcomes.model()
    assert cache["fits"] == fits + 1


def test_cli_prints_the_report_as_json(app: Any, db: Any, world: dict[str, Any], runner: Any) -> None:
    result = runner.invoke(args=["recommend", "outcomes"])
    assert result.exit_code == 0, result.output
    empty = json.loads(result.stdout)
    assert empty["labels"]["total"] == 0 and empty["active"] is False and empty["state"] == "too_few_labels"
    assert empty["evaluation"]["auc_model"] is None and empty["min_labels"] == 30

    add_outcomes(world, 36)
    app.config["LEARNED_RERANKER"] = "on"
    report = json.loads(runner.invoke(args=["recommend", "outcomes"]).stdout)
    assert report["labels"]["positive"] == 18 and report["labels"]["negative"] == 18
    assert report["evaluation"]["grouped_by"] == "challenge" and report["evaluation"]["labels"] == 36.0
    assert report["evaluation"]["auc_model"] > report["evaluation"]["auc_base"]
    assert report["setting"] == "on" and report["active"] is True and report["weights"]["domain"] > 0


def test_coordinators_see_whether_learning_is_on(app: Any, db: Any, client: Any, login_as: Any,
                                                 world: dict[str, Any]) -> None:
    login_as(world["coordinator"])
    page = get_page(client, "admin.exposure")
    assert page.select_one("#outcome-learning")["data-state"] == "too_few_labels"
    add_outcomes(world, 36)
    app.config["LEARNED_RERANKER"] = "on"
    page = get_page(client, "admin.exposure")
    section = page.select_one("#outcome-learning")
    assert section["data-state"] == "active" and "有効" in section.select_one("#learning-state").get_text()
    assert section.select_one("#learning-labels .positive").get_text() == "18"
    weights = {row["data-feature"]: float(row.select_one(".weight").get_text())
               for row in section.select("#learning-weights tr[data-feature]")}
    assert set(weights) == {"domain", "fused"} and weights["domain"] > 0
