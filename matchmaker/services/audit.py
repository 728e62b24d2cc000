"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from models import AuditEvent, db


def record(
    actor: Any,
    action: str,
    obj: Any,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one audit row for ``action`` on ``obj`` by ``actor`` (a User, or None for the system)."""
    event = AuditEvent(
        actor_id=getattr(actor, "id", None) if getattr(actor, "is_authenticated", True) else None,
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        details=details,
    )
    db.session.add(event)
    return event
