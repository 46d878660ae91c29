"""Every query of the alerts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, aliased

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert, Severity
from tenfour.patients.models import Patient

_SEVERITY_ORDER = case({s.value: s.rank for s in Severity}, value=Alert.severity, else_=9)


def open_alerts(db: Session, clinic_id: int, limit: int = 200) -> list[tuple[Alert, Patient]]:
    """Open alerts of a clinic, most severe first, then oldest first (the inbox order)."""
    stmt = (
        select(Alert, Patient)
        .join(Patient, Patient.id == Alert.patient_id)
        .where(Alert.clinic_id == clinic_id, Alert.resolved_at.is_(None))
        .order_by(_SEVERITY_ORDER, Alert.created_at)
        .limit(limit)
    )
    return [(alert, patient) for alert, patient in db.execute(stmt)]


def inbox(db: Session, clinic_id: int, *, status: str = "open", severity: str | None = None,
          kind: str | None = None, patient_id: int | None = None, resolved_since: datetime | None = None,
          limit: int = 200) -> list[tuple[Alert, Patient, User | None, User | None]]:
    """The inbox with its filters: alerts of a clinic with their patient and who acknowledged and resolved them.

    ``status``: open (not resolved), unacknowledged (open, no 10-4 yet), acknowledged (open, 10-4 given),
    resolved (since ``resolved_since``, newest first), all. Open alerts: most severe first, then oldest first."""
    acker, resolver = aliased(User), aliased(User)
    stmt = (select(Alert, Patient, acker, resolver)
            .join(Patient, Patient.id == Alert.patient_id)
            .outerjoin(acker, acker.id == Alert.acknowledged_by_id)
            .outerjoin(resolver, resolver.id == Alert.resolved_by_id)
            .where(Alert.clinic_id == clinic_id))
    if status in ("open", "unacknowledged", "acknowledged"):
        stmt = stmt.where(Alert.resolved_at.is_(None))
        if status == "unacknowledged":
            stmt = stmt.where(Alert.acknowledged_at.is_(None))
        elif status == "acknowledged":
            stmt = stmt.where(Alert.acknowledged_at.is_not(None))
        stmt = stmt.order_by(_SEVERITY_ORDER, Alert.created_at, Alert.id)
    else:
        if status == "resolved":
            stmt = stmt.where(Alert.resolved_at.is_not(None))
            if resolved_since is not None:
                stmt = stmt.where(Alert.resolved_at >= resolved_since)
        stmt = stmt.order_by(Alert.created_at.desc(), Alert.id.desc())
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if patient_id is not None:
        stmt = stmt.where(Alert.patient_id == patient_id)
    return [(a, p, ack, res) for a, p, ack, res in db.execute(stmt.limit(limit))]


def urgent_to_escalate(db: Session, created_before: datetime) -> list[Alert]:
    """Open urgent alerts without a 10-4, not yet escalated, raised before the given time."""
    stmt = select(Alert).where(Alert.severity == Severity.URGENT, Alert.acknowledged_at.is_(None),
                               Alert.resolved_at.is_(None), Alert.escalated_at.is_(None),
                               Alert.created_at <= created_before)
    return list(db.scalars(stmt.order_by(Alert.created_at, Alert.id)))


def claim_escalation(db: Session, alert_id: int, at: datetime) -> bool:
    """Mark an alert escalated unless someone acknowledged or escalated it meanwhile (one sweep wins)."""
    stmt = (update(Alert).where(Alert.id == alert_id, Alert.escalated_at.is_(None), Alert.acknowledged_at.is_(None),
                                Alert.resolved_at.is_(None))
            .values(escalated_at=at).execution_options(synchronize_session=False))
    return (db.execute(stmt).rowcount or 0) == 1


def unacknowledged_urgent_count(db: Session, clinic_id: int) -> int:
    stmt = select(func.count()).select_from(Alert).where(
        Alert.clinic_id == clinic_id, Alert.severity == Severity.URGENT, Alert.acknowledged_at.is_(None),
        Alert.resolved_at.is_(None),
    )
    return db.scalar(stmt) or 0


def for_patient(db: Session, patient_id: int) -> list[Alert]:
    stmt = select(Alert).where(Alert.patient_id == patient_id).order_by(Alert.created_at.desc())
    return list(db.scalars(stmt))


def by_id(db: Session, alert_id: int) -> Alert | None:
    return db.get(Alert, alert_id)
