"""The people and rows a browser journey starts from, made with the app's own services and the
test factories inside the live site's app context (and committed, so the site sees them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matchmaker.services import solutions as solution_service
from matchmaker.services import vectors
from models import Organisation, Solution, User, db
from tests import factories

PASSWORD = factories.PASSWORD


@dataclass(frozen=True)
class Account:
    email: str
    name: str
    organisation: str | None
    password: str = PASSWORD


def account(user: User) -> Account:
    return Account(user.email, user.name, user.organisation.name if user.organisation else None)


def municipal_staff(organisation: Organisation, email: str, name: str) -> User:
    return factories.make_user("municipal", organisation=organisation, email=email, name=name)


def company_staff(organisation: Organisation, email: str, name: str) -> User:
    return factories.make_user("company", organisation=organisation, email=email, name=name)


def coordinator(email: str = "koyama@desk.example.jp", name: str = "小山 誠") -> User:
    return factories.make_user("coordinator", organisation=None, email=email, name=name)


def profile(user: User, **fields: Any) -> Solution:
    """A solution profile created through the solution service (audited, re-embedded after commit)."""
    assert user.organisation is not None
    return solution_service.create_solution(user, user.organisation, solution_service.SolutionInput(**fields))


def published_challenge(organisation: Organisation, **overrides: Any) -> Any:
    """A published challenge from the factory, with its vectors scheduled like a saved one."""
    challenge = factories.make_challenge(organisation, status="published", **overrides)
    vectors.schedule_reembed(challenge)
    return challenge


FITTING_PROFILE: dict[str, Any] = {
    "title": "通いの場 参加見守りアプリ「かよいログ」",
    "summary": "通いの場や体操教室の出欠をQRコードで記録し、欠席が2回続いた高齢者を地域包括支援センターに"
               "自動で知らせる。フレイルの兆しを早期に把握し、声かけにつなげる。",
    "target_users": "市町村の介護予防・高齢福祉の担当課、地域包括支援センター、通いの場の運営ボランティア",
    "track_record": "関西の中核市2市で実証、1市で本導入（令和6年度）",
    "evidence": "実証では欠席者への声かけが月40件増え、通いの場の参加継続率が9ポイント改善した。",
    "price_min": 800_000, "price_max": 2_400_000, "lead_time_weeks": 6, "regions": [], "maturity": "in_service",
    "collaboration_forms": ["pilot", "outsourcing"], "domains": ["frailty", "welfare"],
}

RIVER_PROFILE: dict[str, Any] = {
    "title": "河川・水路の水位遠隔監視センサー",
    "summary": "小型の水位センサーを水路や中小河川に設置し、水位の上昇を防災担当に通知する。"
               "大雨時の巡回を減らし、避難情報の判断を早める。",
    "target_users": "防災・危機管理の担当課、土木事務所",
    "track_record": "中部地方の5町で設置",
    "evidence": "巡回回数が大雨1回あたり12回から3回に減った。",
    "price_min": 1_500_000, "price_max": 6_000_000, "lead_time_weeks": 10, "regions": [], "maturity": "in_service",
    "collaboration_forms": ["pilot", "outsourcing"], "domains": ["disaster", "infrastructure"],
}

TOURISM_PROFILE: dict[str, Any] = {
    "title": "訪日観光客向け多言語チャット案内",
    "summary": "観光案内所の問い合わせに12言語のチャットで24時間応答し、混雑状況や交通の案内を行う。",
    "target_users": "観光協会、観光・交流の担当課",
    "track_record": "観光地の3市で導入",
    "evidence": "案内所の対応時間が月60時間減った。",
    "price_min": 500_000, "price_max": 1_800_000, "lead_time_weeks": 4, "regions": [], "maturity": "in_service",
    "collaboration_forms": ["outsourcing", "advertising"], "domains": ["tourism"],
}

RIVER_CHALLENGE: dict[str, Any] = {
    "title": "大雨のたびに職員が水路を巡回しており、避難判断が遅れる",
    "background": "市内には農業用水路と中小河川が約80km あり、大雨のたびに職員6名が夜間に巡回している。",
    "problem": "水位の確認を職員の巡回に頼っているため、避難情報の発令判断が遅れ、巡回する職員も危険にさらされている。",
    "causes": "水位計が主要河川の3か所にしかなく、水路の水位をリアルタイムに把握できない。",
    "affected": "浸水想定区域の住民約4,200世帯、防災担当と土木担当の職員",
    "target_state": "大雨の際に水位を遠隔で把握し、早めに避難情報を出せる状態",
    "kpis": "夜間巡回の回数（大雨1回あたり）: 12回 → 3回\n避難情報の発令までの時間: 90分 → 30分",
    "constraints": "河川管理者（県）との協議が必要。",
    "offerings": "実証フィールドとして水路10か所、防災担当職員の伴走",
    "domains": ["disaster"], "collaboration_forms": ["pilot"], "contact_department": "危機管理課",
}

TOURISM_CHALLENGE: dict[str, Any] = {
    "title": "外国人観光客の問い合わせに観光案内所が対応しきれない",
    "background": "訪日客は5年で3倍に増え、観光案内所の問い合わせの4割が外国語になった。",
    "problem": "外国語に対応できる職員が2名しかおらず、繁忙期には問い合わせに答えきれず、観光客の不満につながっている。",
    "causes": "多言語対応の人材の確保が難しい。",
    "affected": "訪日観光客（年間約30万人）、観光案内所の職員",
    "target_state": "外国人観光客が時間を問わず母語で案内を受けられる状態",
    "kpis": "外国語の問い合わせへの応答率: 60% → 95%",
    "constraints": "特になし",
    "offerings": "観光案内所2か所での実証、観光協会の協力",
    "domains": ["tourism"], "collaboration_forms": ["outsourcing"], "contact_department": "観光交流課",
}


def commit() -> None:
    db.session.commit()
