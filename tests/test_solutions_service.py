"""The solution profile service: rules only it can check, audit rows, no commit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.services import solutions
from matchmaker.services.errors import FieldError
from models import AuditEvent
from tests import factories


@pytest.fixture(autouse=True)
def _fast_encoder(app):
    """These tests are about forms and rules: embed with the model-free hashing encoder."""
    app.config["MATCHMAKER_ENCODER"] = "hash:64"



def _input(**overrides) -> solutions.SolutionInput:
    values = {"title": "  見守りセンサー ", "summary": "生活リズムの変化を検知する。", "domains": ["welfare", "welfare"],
                  "regions": ["兵庫県", "存在しない県"], "collaboration_forms": ["pilot", "unknown"]}
    values.update(overrides)
    return solutions.SolutionInput(**values)


def test_check_cleans_input():
    data = solutions.check(_input())
    assert data.title == "見守りセンサー"
    assert data.domains == ["welfare"] and data.regions == ["兵庫県"] and data.collaboration_forms == ["pilot"]


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"title": "  "}, "title", "製品・サービス名を入力してください。"),
    ({"domains": []}, "domains", "分野を1つ以上選んでください。"),
    ({"maturity": "beta"}, "maturity", "成熟度を選んでください。"),
    ({"price_min": -1}, "price_min", "金額は0円以上で入力してください。"),
    ({"price_min": 10, "price_max": 5}, "price_max", "価格の上限は下限以上の金額にしてください。"),
    ({"lead_time_weeks": 9999}, "lead_time_weeks", "導入までの期間は0〜520週で入力してください。"),
])
def test_check_names_the_field(app, overrides, field, message):
    with pytest.raises(FieldError) as caught:
        solutions.check(_input(**overrides))
    assert caught.value.field == field and str(caught.value.message) == message


def test_only_companies_keep_profiles(db):
    user = factories.make_user("municipal")
    with pytest.raises(FieldError):
        solutions.create_solution(user, user.organisation, _input())


def test_update_without_changes_writes_no_audit_row(db):
    user = factories.make_user("company")
    solution = solutions.create_solution(user, user.organisation, _input())
    assert solutions.update_solution(user, solution, _input()) == []
    assert solutions.update_solution(user, solution, _input(evidence="継続率9ポイント改善")) == ["evidence"]
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["solution.created", "solution.updated"]


def test_set_active_is_idempotent(db):
    user = factories.make_user("company")
    solution = factories.make_solution(organisation=user.organisation)
    assert solutions.set_active(user, solution, False) is True
    assert solutions.set_active(user, solution, False) is False
    assert solution.active is False
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["solution.deactivated"]


def test_service_does_not_commit(db):
    user = factories.make_user("company")
    db.session.commit()
    solutions.create_solution(user, user.organisation, _input())
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent)) is None
