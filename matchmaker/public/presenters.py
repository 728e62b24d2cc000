"""What the challenge page shows: readable sections, facts, and the buttons its user may press."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext as _

from matchmaker.i18n import format_era_date, format_fiscal_year, format_yen_range
from matchmaker.services import challenges as challenge_service
from models import Challenge
from models.codes import COLLABORATION_FORMS, DOMAINS, SDG_GOALS, ChallengeStatus

S = ChallengeStatus


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    text: str
    show_kpis: bool = False


@dataclass(frozen=True)
class Fact:
    key: str
    heading: str
    values: list[str]
    as_tags: bool = False


@dataclass(frozen=True)
class Action:
    to: str
    label: str
    url: str
    style: str = "button"
    ask_reason: bool = False
    confirm: str | None = None


@dataclass(frozen=True)
class ChallengeSections:
    sections: list[Section]
    facts: list[Fact] = field(default_factory=list)


def challenge_sections(item: Challenge) -> ChallengeSections:
    sections = [
        Section("background", _("背景・現状"), item.background),
        Section("problem", _("課題"), item.problem),
        Section("causes", _("原因"), item.causes),
        Section("affected", _("対象者"), item.affected),
        Section("target_state", _("目指す姿・KPI"), item.target_state, show_kpis=True),
        Section("constraints", _("制約"), item.constraints),
        Section("offerings", _("提供できるもの"), item.offerings),
    ]
    budget = format_yen_range(item.budget_min, item.budget_max)
    if item.fiscal_year:
        budget = _("%(budget)s（%(year)s）", budget=budget, year=format_fiscal_year(item.fiscal_year))
    facts = [
        Fact("budget", _("予算・年度"), [budget]),
        Fact("collaboration_forms", _("連携手法"),
             [str(COLLABORATION_FORMS.get(c, c)) for c in item.collaboration_forms or ()], as_tags=True),
        Fact("domains", _("分野"), [str(DOMAINS.get(c, c)) for c in item.domains or ()], as_tags=True),
        Fact("sdgs", _("SDGs"),
             [_("%(n)d. %(name)s", n=n, name=SDG_GOALS.get(n, "")) for n in sorted(item.sdgs or ())], as_tags=True),
        Fact("deadline", _("締切"), [format_era_date(item.deadline)] if item.deadline else []),
        Fact("contact_department", _("担当課"),
             [f"{item.organisation.name} {item.contact_department}".strip()]),
    ]
    return ChallengeSections(sections=sections, facts=facts)


def _move_url(item: Challenge, user: Any) -> str:
    if getattr(user, "is_staff", False):
        return url_for("coordinator.move_challenge", challenge_id=item.id)
    return url_for("municipality.move_challenge", challenge_id=item.id)


def challenge_actions(item: Challenge, user: Any) -> list[Action]:
    """The status changes (and the edit link) ``user`` may use on ``item``."""
    staff = bool(getattr(user, "is_staff", False))
    url = _move_url(item, user)
    actions: list[Action] = []
    for to in challenge_service.allowed_moves(item, user):
        if to == S.IN_REVIEW.value:
            actions.append(Action(to, _("コーディネーターに確認を依頼する"), url))
        elif to == S.PUBLISHED.value and item.status == S.CLOSED.value:
            actions.append(Action(to, _("再公開する"), url, style="button secondary"))
        elif to == S.PUBLISHED.value:
            actions.append(Action(to, _("公開する"), url,
                                  confirm=_("公開すると誰でも閲覧できるようになります。公開しますか？")))
        elif to == S.DRAFT.value and staff:
            actions.append(Action(to, _("差し戻す"), url, style="button secondary", ask_reason=True))
        elif to == S.DRAFT.value:
            actions.append(Action(to, _("確認依頼を取り下げる"), url, style="button secondary"))
        elif to == S.CLOSED.value:
            actions.append(Action(to, _("募集を終了する"), url, style="button danger", ask_reason=True,
                                  confirm=_("募集を終了します。よろしいですか？")))
    return actions


def edit_url(item: Challenge, user: Any) -> str | None:
    if not item.can_edit(user):
        return None
    if getattr(user, "is_staff", False):
        return url_for("coordinator.edit_challenge", challenge_id=item.id)
    return url_for("municipality.edit_challenge", challenge_id=item.id)
