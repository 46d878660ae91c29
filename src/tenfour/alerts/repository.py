"""Every query of the alerts domain."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

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
