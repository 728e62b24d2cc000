"""Shared helpers for the challenge tests: form data, role logins and a re-embedding recorder."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from models import Organisation
from tests import factories

ROLES = ("anonymous", "municipal_same", "municipal_other", "company", "coordinator", "admin")


def form_data(**overrides: Any) -> dict[str, Any]:
    """POST data for the challenge form, complete enough to pass the clarity check."""
    data: dict[str, Any] = {
        "title": "窓口の待ち時間を減らしたい：転入手続の混雑解消",
        "background": "3月と4月の転入手続は1日平均320件、最大で2時間待ちになる。職員は6名で対応している。",
        "problem": "繁忙期に窓口の待ち時間が最大2時間に達し、子育て世帯や高齢者が長時間待たされ、職員の残業も月40時間に増えている。",
        "causes": "手続ごとに別の窓口を回る必要があり、記入済み書類の確認に時間がかかる。",
        "affected": "転入する住民（年間約9,000人）、市民課の職員",
        "target_state": "転入者が1つの窓口で30分以内に手続を終えられる状態",
        "kpis": "繁忙期の平均待ち時間: 90分 → 30分\n職員の残業時間: 月40時間 → 月15時間",
        "constraints": "住民基本台帳システムの改修はできない。個人情報は庁外に持ち出せない。",
        "offerings": "実証フィールドとして本庁舎の市民課窓口、過去3年分の来庁者数データ、担当職員の週1回の打合せ",
        "budget_min": "200万",
        "budget_max": "5,000,000",
        "fiscal_year": str(date.today().year + 1),
        "collaboration_forms": ["pilot", "outsourcing"],
        "domains": ["counter_dx"],
        "sdgs": ["9", "11"],
        "deadline": (date.today() + timedelta(days=60)).isoformat(),
        "contact_department": "市民局 市民課",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def reembeds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record re-embedding requests instead of running the encoder (vectors.py is tested by its owner)."""
    from matchmaker.services import challenges

    calls: list[int] = []
    monkeypatch.setattr(challenges, "schedule_reembed", lambda challenge: calls.append(challenge.id))
    return calls


def log_in_as(login_as: Any, role: str, organisation: Organisation) -> Any:
    """Log in as one of ROLES; ``organisation`` is the municipality that owns the challenge under test."""
    if role == "anonymous":
        return None
    if role == "municipal_same":
        return login_as("municipal", organisation=organisation)
    if role == "municipal_other":
        return login_as("municipal")
    return login_as(role)


def switch_to(login_as: Any, user: Any) -> Any:
    """Log in as another user within one test: the tests share one app context, so the user that
    Flask-Login cached on ``g`` for the previous request must be forgotten."""
    from flask import g

    g.pop("_login_user", None)
    return login_as(user)


def expected_for_gate(role: str, allowed: tuple[str, ...]) -> int:
    """The status a role-gated page answers: login redirect, 403 for the wrong role, else 200."""
    if role == "anonymous":
        return 302
    return 200 if role in allowed else 403


def make_owner_org() -> Organisation:
    return factories.make_municipality(name="防災市", prefecture="静岡県")
