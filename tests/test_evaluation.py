"""Evaluation sheets (評価シート): the municipality's weighted criteria, only its staff score,
the weighted average of the evaluators' means."""

from __future__ import annotations

from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select

from matchmaker.services import evaluation
from matchmaker.services.errors import FieldError
from models import db
from models.evaluation import EvaluationScore
from tests import pipeline_factories as pf
from tests.pages import get_page


def _setup() -> dict[str, Any]:
    muni = pf.make_municipality()
    staff_a = pf.make_user("municipal", organisation=muni)
    staff_b = pf.make_user("municipal", organisation=muni)
    challenge = pf.make_challenge(muni, status="published")
    company = pf.make_company()
    author = pf.make_user("company", organisation=company)
    match = pf.make_match(challenge, pf.make_solution(company), stage="proposal")
    proposal = pf.make_proposal(match, author, title="提案A")
    db.session.flush()
    return {"muni": muni, "a": staff_a, "b": staff_b, "challenge": challenge, "proposal": proposal,
            "author": author}


def test_weighted_average_of_evaluator_means(app: Any) -> None:
    w = _setup()
    fit = evaluation.add_criterion(w["challenge"], w["a"], "課題の理解度", 30)
    cost = evaluation.add_criterion(w["challenge"], w["a"], "費用の妥当性", 10)
    evaluation.set_score(w["proposal"], fit, w["a"], 5)
    evaluation.set_score(w["proposal"], fit, w["b"], 3)
    evaluation.set_score(w["proposal"], cost, w["a"], 2)
    evaluation.set_score(w["proposal"], cost, w["a"], 1)  # a changed their mind: one score, not two
    criteria, rows = evaluation.sheet(w["challenge"])
    assert [c.name for c in criteria] == ["課題の理解度", "費用の妥当性"]
    (row,) = rows
    assert row.per_criterion == {fit.id: 4.0, cost.id: 1.0}
    assert row.evaluators == 2
    assert row.weighted == pytest.approx((30 * 4.0 + 10 * 1.0) / 40)
    with pytest.raises(FieldError):
        evaluation.set_score(w["proposal"], fit, w["a"], 6)
    with pytest.raises(FieldError):
        evaluation.add_criterion(w["challenge"], w["a"], "課題の理解度", 5)


def test_only_the_municipalitys_staff_score(app: Any) -> None:
    w = _setup()
    fit = evaluation.add_criterion(w["challenge"], w["a"], "実現可能性", 50)
    outsiders = [pf.make_user("municipal", organisation=pf.make_municipality()), w["author"],
                 pf.make_user("coordinator"), pf.make_user("admin")]
    for user in outsiders:
        assert not evaluation.can_evaluate(w["challenge"], user)
        with pytest.raises(PermissionError):
            evaluation.set_score(w["proposal"], fit, user, 3)
        with pytest.raises(PermissionError):
            evaluation.add_criterion(w["challenge"], user, f"項目{user.id}", 10)
    assert db.session.scalars(select(EvaluationScore)).all() == []


def test_pages_score_and_hide_from_other_municipalities(client: Any, login_as: Any) -> None:
    w = _setup()
    db.session.commit()
    login_as(w["a"])
    page = url_for("municipality.evaluation_sheet", challenge_id=w["challenge"].id)
    assert client.get(page).status_code == 200
    response = client.post(url_for("municipality.add_criterion", challenge_id=w["challenge"].id),
                           data={"name": "地域への効果", "weight": "20"})
    assert response.status_code == 302
    (criterion,) = evaluation.criteria_of(w["challenge"])
    response = client.post(url_for("municipality.score_proposal", challenge_id=w["challenge"].id),
                           data={"proposal_id": w["proposal"].id, f"score-{criterion.id}": "4"})
    assert response.status_code == 302
    body = client.get(page).get_data(as_text=True)
    assert "4.00" in body and "地域への効果" in body
    login_as(pf.make_user("municipal", organisation=pf.make_municipality()))
    assert client.get(page).status_code == 404
    assert client.post(url_for("municipality.score_proposal", challenge_id=w["challenge"].id),
                       data={"proposal_id": w["proposal"].id, f"score-{criterion.id}": "1"}).status_code == 404
    assert [s.score for s in db.session.scalars(select(EvaluationScore))] == [4]


def test_the_proposals_page_leads_the_evaluators_to_the_sheet(client: Any, login_as: Any) -> None:
    """A newcomer reaches the sheet from the list of proposals (dashboard → 届いた提案), evaluators only."""
    w = _setup()
    db.session.commit()
    sheet = url_for("municipality.evaluation_sheet", challenge_id=w["challenge"].id, _external=False)
    login_as(w["a"])
    page = get_page(client, "matches.challenge_proposals", challenge_id=w["challenge"].id)
    assert page.select_one("#evaluation-link a")["href"] == sheet
    login_as("coordinator")  # coordinators see the proposals but do not score them
    page = get_page(client, "matches.challenge_proposals", challenge_id=w["challenge"].id)
    assert page.select_one("#evaluation-link") is None
