"""Writing challenges and moving them through draft → in review → published → closed.

Every status change goes through ``move``: it asks the model whether the actor may make it
(``Challenge.can_move``), refuses to send an incomplete challenge to review or publication, changes
the status through ``Challenge.move_to`` and writes one ``challenge.status`` audit row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from matchmaker.i18n import JST
from matchmaker.services import audit, clarity
from matchmaker.services.errors import FieldError
from models import Challenge, Organisation, User, db
from models.challenge import TEXT_FIELDS
from models.codes import COLLABORATION_FORMS, DOMAINS, ChallengeStatus, Role

S = ChallengeStatus

EDITABLE_FIELDS: tuple[str, ...] = (
    "title", "background", "problem", "causes", "affected", "target_state", "kpis", "constraints",
    "offerings", "budget_min", "budget_max", "fiscal_year", "collaboration_forms", "domains", "sdgs",
    "deadline", "contact_department",
)
_TEXT_LIMITS: dict[str, int] = {"title": 200, "contact_department": 200}
_LONG_TEXT_LIMIT = 10_000


class TransitionRefused(Exception):
    """A status change the actor may not make, or that the challenge is not ready for."""

    def __init__(self, message: Any, problems: list[str] | None = None,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.problems = problems or []
        self.fields = fields or {}  # the same problems by field name (the API's field details)


def local_today() -> date:
    """Today in Japan, where deadlines fall."""
    return datetime.now(JST).date()


def coordinators_exist() -> bool:
    """Whether the deployment has any active coordinator (otherwise owners publish directly)."""
    return bool(
        db.session.scalar(
            select(exists().where(User.role == Role.COORDINATOR.value, User.active.is_(True)))
        )
    )


def challenges_of(organisation_id: int) -> list[Challenge]:
    """An organisation's challenges in every status, last changed first (its dashboard's order)."""
    return list(db.session.scalars(select(Challenge).where(Challenge.organisation_id == organisation_id)
                                   .order_by(Challenge.updated_at.desc(), Challenge.id.desc())))


def schedule_reembed(challenge: Challenge) -> None:
    """Queue re-embedding after commit. Imported here, not at the top, so that the web app and
    its forms load without the ranking stack (numpy, the encoder) until a text actually changes."""
    from matchmaker.services import vectors

    vectors.schedule_reembed(challenge)


# --- writing --------------------------------------------------------------------------------


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the editable fields; a broken rule raises FieldError on its field."""
    out: dict[str, Any] = {}
    for field in EDITABLE_FIELDS:
        if field not in values:
            continue
        value = values[field]
        if field in ("collaboration_forms", "domains", "sdgs"):
            out[field] = list(dict.fromkeys(value or ()))
        elif field in ("budget_min", "budget_max", "fiscal_year"):
            out[field] = None if value in (None, "") else int(value)
        elif field == "deadline":
            out[field] = value or None
        else:
            text = str(value or "").strip()
            if len(text) > _TEXT_LIMITS.get(field, _LONG_TEXT_LIMIT):
                raise FieldError(field, _l("%(n)d文字以内で入力してください。",
                                           n=_TEXT_LIMITS.get(field, _LONG_TEXT_LIMIT)))
            out[field] = text
    if "title" in out and not out["title"]:
        raise FieldError("title", _l("課題名を入力してください。"))
    for field, table in (("domains", DOMAINS), ("collaboration_forms", COLLABORATION_FORMS)):
        unknown = [c for c in out.get(field, ()) if c not in table]
        if unknown:
            raise FieldError(field, _l("選択肢にない値です: %(codes)s", codes=", ".join(unknown)))
    if any(not isinstance(n, int) or not 1 <= n <= 17 for n in out.get("sdgs", ())):
        raise FieldError("sdgs", _l("SDGsは1〜17の番号で選んでください。"))
    for field in ("budget_min", "budget_max"):
        if out.get(field) is not None and out[field] < 0:
            raise FieldError(field, _l("金額は0円以上で入力してください。"))
    year = out.get("fiscal_year")
    if year is not None and not 2000 <= year <= 2100:
        raise FieldError("fiscal_year", _l("年度を正しく選んでください。"))
    return out


def _apply(challenge: Challenge, values: Mapping[str, Any]) -> list[str]:
    cleaned = _clean(values)
    low = cleaned.get("budget_min", challenge.budget_min)
    high = cleaned.get("budget_max", challenge.budget_max)
    if low is not None and high is not None and low > high:
        raise FieldError("budget_max", _l("予算の上限は下限以上の金額にしてください。"))
    changed = [f for f, v in cleaned.items() if getattr(challenge, f) != v]
    for field in changed:
        setattr(challenge, field, cleaned[field])
    return changed


def create_challenge(*, organisation: Organisation, author: User, values: Mapping[str, Any]) -> Challenge:
    """A new draft of ``organisation`` written by ``author``."""
    if not organisation.is_municipality:
        raise FieldError("title", _l("課題を登録できるのは自治体のアカウントだけです。"))
    challenge = Challenge(organisation=organisation, author=author, status=S.DRAFT.value, title="")
    _apply(challenge, values)
    db.session.add(challenge)
    db.session.flush()
    audit.record(author, "challenge.created", challenge, to_state=challenge.status)
    schedule_reembed(challenge)
    return challenge


def update_challenge(challenge: Challenge, *, actor: User, values: Mapping[str, Any]) -> list[str]:
    """Save edited fields; returns the names of the fields that changed."""
    changed = _apply(challenge, values)
    if not changed:
        return changed
    db.session.flush()
    audit.record(actor, "challenge.updated", challenge, fields=changed)
    if set(changed) & set(TEXT_FIELDS):
        schedule_reembed(challenge)
    return changed


def save_review_comment(challenge: Challenge, *, actor: User, text: str) -> None:
    """The coordinator's brush-up comment, shown to the owner."""
    text = text.strip()
    challenge.review_comment = text or None
    db.session.flush()
    audit.record(actor, "challenge.review_comment", challenge, reason=text or None)


# --- status ---------------------------------------------------------------------------------


def problem_lines(blockers: tuple[clarity.Finding, ...]) -> list[str]:
    return [_("%(field)s：%(message)s", field=f.label, message=f.message) for f in blockers]


def readiness_blockers(challenge: Challenge, today: date) -> tuple[clarity.Finding, ...]:
    """What must be fixed before the challenge can go to review or be published."""
    return clarity.check(clarity.values_of(challenge), today).blockers


def allowed_moves(challenge: Challenge, user: Any) -> list[str]:
    """The statuses ``user`` may move ``challenge`` to, in a stable order."""
    if not getattr(user, "is_authenticated", False):
        return []
    have_coordinators = coordinators_exist()
    return [
        to for to in (S.IN_REVIEW.value, S.PUBLISHED.value, S.DRAFT.value, S.CLOSED.value)
        if to != challenge.status and challenge.can_move(user, to, coordinators_exist=have_coordinators)
    ]


def move(
    challenge: Challenge, to: str, *, actor: User, reason: str | None = None,
    now: datetime | None = None, today: date | None = None,
) -> str:
    """Change the status of ``challenge``; returns the previous status."""
    if not challenge.can_move(actor, to, coordinators_exist=coordinators_exist()):
        raise TransitionRefused(_("この操作は現在の状態では行えないか、権限がありません。"))
    drafting = challenge.status in (S.DRAFT.value, S.IN_REVIEW.value)
    if drafting and to in (S.IN_REVIEW.value, S.PUBLISHED.value):
        blockers = readiness_blockers(challenge, today or local_today())
        if blockers:
            fields: dict[str, list[str]] = {}
            for finding in blockers:
                fields.setdefault(finding.field, []).append(finding.message)
            raise TransitionRefused(_("未入力・要修正の項目があるため、まだ先へ進めません。"),
                                    problem_lines(blockers), fields)
    reason = (reason or "").strip() or None
    previous = challenge.move_to(to, now=now or datetime.now(UTC))
    if to == S.DRAFT.value and previous == S.IN_REVIEW.value and reason and actor.is_staff:
        challenge.review_comment = reason
    db.session.flush()
    audit.record(actor, "challenge.status", challenge, from_state=previous, to_state=to, reason=reason)
    return previous
