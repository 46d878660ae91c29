"""Writing the audit trail. Every PHI read and write, and every administrative change, goes through here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tenfour.audit import chain
from tenfour.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where. Built from a request (web.deps) or a CLI invocation."""

    user_id: int | None
    label: str
    role: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(user_id=None, label=label, role=None)


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    clinic_id: int | None = None,
    patient_id: int | None = None,
    record_type: str | None = None,
    record_id: int | str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_user_id=actor.user_id,
        actor_label=actor.label[:300],
        actor_role=actor.role,
        action=action,
        clinic_id=clinic_id,
        patient_id=patient_id,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        ip_address=actor.ip_address,
        user_agent=(actor.user_agent or None) and actor.user_agent[:300],
        detail=detail or {},
    )
    db.add(event)
    db.flush()
    chain.track(db, event)  # linked into the hash chain when the transaction commits
    return event
