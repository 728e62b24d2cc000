"""Solution profiles: create, edit, deactivate and reactivate, each audited and re-embedded."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from matchmaker.services import audit
from matchmaker.services.errors import FieldError
from models import Organisation, Solution, User, db
from models.codes import COLLABORATION_FORMS, DOMAINS, MATURITY, PREFECTURES

# The labels of the profile form; recommendation reasons name fields with the same words.
SOLUTION_FIELD_LABELS: dict[str, Any] = {
    "title": _l("製品・サービス名"),
    "summary": _l("概要"),
    "target_users": _l("対象となる利用者"),
    "track_record": _l("自治体での導入実績"),
    "evidence": _l("効果のエビデンス"),
    "price_min": _l("価格（下限）"),
    "price_max": _l("価格（上限）"),
    "lead_time_weeks": _l("導入までの期間（週）"),
    "regions": _l("対応地域"),
    "maturity": _l("成熟度"),
    "collaboration_forms": _l("提供できる連携手法"),
    "domains": _l("分野"),
}


@dataclass
class SolutionInput:
    """Everything a company writes about one profile (the fields of docs/fields.md)."""

    title: str
    summary: str = ""
    target_users: str = ""
    track_record: str = ""
    evidence: str = ""
    price_min: int | None = None
    price_max: int | None = None
    lead_time_weeks: int | None = None
    regions: list[str] = field(default_factory=list)
    maturity: str = "in_service"
    collaboration_forms: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)

    def cleaned(self) -> SolutionInput:
        """Strip text, drop duplicates and keep code lists in their canonical order."""
        return SolutionInput(
            title=self.title.strip(),
            summary=self.summary.strip(),
            target_users=self.target_users.strip(),
            track_record=self.track_record.strip(),
            evidence=self.evidence.strip(),
            price_min=self.price_min,
            price_max=self.price_max,
            lead_time_weeks=self.lead_time_weeks,
            regions=[p for p in PREFECTURES if p in set(self.regions)],
            maturity=self.maturity,
            collaboration_forms=[c for c in COLLABORATION_FORMS if c in set(self.collaboration_forms)],
            domains=[c for c in DOMAINS if c in set(self.domains)],
        )


INPUT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SolutionInput))


def check(data: SolutionInput) -> SolutionInput:
    """Apply the rules a form may not have checked (imports, the API); return cleaned input."""
    data = data.cleaned()
    if not data.title:
        raise FieldError("title", _l("製品・サービス名を入力してください。"))
    if not data.domains:
        raise FieldError("domains", _l("分野を1つ以上選んでください。"))
    if data.maturity not in MATURITY:
        raise FieldError("maturity", _l("成熟度を選んでください。"))
    for name in ("price_min", "price_max"):
        value = getattr(data, name)
        if value is not None and value < 0:
            raise FieldError(name, _l("金額は0円以上で入力してください。"))
    if data.price_min is not None and data.price_max is not None and data.price_min > data.price_max:
        raise FieldError("price_max", _l("価格の上限は下限以上の金額にしてください。"))
    if data.lead_time_weeks is not None and not 0 <= data.lead_time_weeks <= 520:
        raise FieldError("lead_time_weeks", _l("導入までの期間は0〜520週で入力してください。"))
    return data


def create_solution(actor: User, organisation: Organisation, data: SolutionInput) -> Solution:
    """Add a profile for a company; the caller commits."""
    if not organisation.is_company:
        raise FieldError("title", _l("ソリューションは企業・団体の組織にのみ登録できます。"))
    data = check(data)
    solution = Solution(organisation=organisation, active=True,
                        **{name: getattr(data, name) for name in INPUT_FIELDS})
    db.session.add(solution)
    db.session.flush()
    audit.record(actor, "solution.created", solution, to_state="active", title=solution.title)
    _schedule_reembed(solution)
    return solution


def update_solution(actor: User, solution: Solution, data: SolutionInput) -> list[str]:
    """Write the changed fields; return their names (empty when nothing changed)."""
    data = check(data)
    changed = [name for name in INPUT_FIELDS if getattr(solution, name) != getattr(data, name)]
    for name in changed:
        setattr(solution, name, getattr(data, name))
    if not changed:
        return changed
    db.session.flush()
    audit.record(actor, "solution.updated", solution, fields=changed)
    _schedule_reembed(solution)
    return changed


def set_active(actor: User, solution: Solution, active: bool, reason: str | None = None) -> bool:
    """Deactivate (hide from recommendations) or reactivate a profile. Returns whether it changed."""
    if solution.active == active:
        return False
    solution.active = active
    db.session.flush()
    audit.record(
        actor, "solution.reactivated" if active else "solution.deactivated", solution,
        from_state="inactive" if active else "active", to_state="active" if active else "inactive",
        reason=reason,
    )
    return True


def solutions_of(organisation_id: int, *, active_only: bool = False) -> list[Solution]:
    query = select(Solution).where(Solution.organisation_id == organisation_id)
    if active_only:
        query = query.where(Solution.active.is_(True))
    return list(db.session.scalars(query.order_by(Solution.active.desc(), Solution.updated_at.desc())))


def _schedule_reembed(solution: Solution) -> None:
    # Imported here so that building the app (CLI, migrations) does not load the ranking stack.
    from matchmaker.services.vectors import schedule_reembed

    schedule_reembed(solution)
