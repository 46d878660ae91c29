"""Raising, acknowledging ("10-4") and resolving alerts. Never commits; never batches or delays urgent ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenfour import policy
from tenfour.alerts import repository
from tenfour.alerts.models import Alert, Resolution, Severity
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import Conflict, NotFound, ValidationFailed


def raise_alert(
    db: Session, ctx: Ctx, *, clinic_id: int, patient_id: int, severity: Severity, kind: str, title: str,
    reasons: list[dict[str, Any]], source_type: str | None = None, source_id: int | None = None,
) -> Alert:
    """Create an alert now. Each call creates one alert: urgent alerts are never merged into another."""
    alert = Alert(clinic_id=clinic_id, patient_id=patient_id, severity=severity.value, kind=kind, title=title[:200],
                  reasons=reasons, source_type=source_type, source_id=source_id)
    db.add(alert)
    db.flush()
    record(db, ctx.actor, "alert.raise", clinic_id=clinic_id, patient_id=patient_id, record_type="alert",
           record_id=alert.id, detail={"severity": severity.value, "kind": kind})
    return alert


def get_alert(db: Session, ctx: Ctx, alert_id: int) -> Alert:
    assert ctx.principal is not None
    alert = repository.by_id(db, alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    policy.ensure_clinic(ctx.principal, alert.clinic_id)
    return alert


def acknowledge(db: Session, ctx: Ctx, alert_id: int) -> Alert:
    """10-4: a named clinician has seen the alert. Idempotent for the same alert."""
    alert = get_alert(db, ctx, alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = ctx.actor.user_id
        db.flush()
        record(db, ctx.actor, "alert.acknowledge", clinic_id=alert.clinic_id, patient_id=alert.patient_id,
               record_type="alert", record_id=alert.id)
    return alert


def resolve(db: Session, ctx: Ctx, alert_id: int, resolution: str, note: str | None) -> Alert:
    alert = get_alert(db, ctx, alert_id)
    if alert.resolved_at is not None:
        raise Conflict("This alert is already resolved.")
    try:
        chosen = Resolution(resolution)
    except ValueError:
        raise ValidationFailed.single(
            "resolution", "enum", f"must be one of: {', '.join(r.value for r in Resolution)}") from None
    note = (note or "").strip() or None
    if chosen == Resolution.NO_ACTION and not note:
        raise ValidationFailed.single("note", "required_with_no_action", "say why no action is needed")
    if note and len(note) > 2000:
        raise ValidationFailed.single("note", "max_length", "must be at most 2000 characters")
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by_id = ctx.actor.user_id
    alert.resolved_at = now
    alert.resolved_by_id = ctx.actor.user_id
    alert.resolution = chosen.value
    alert.resolution_note = note
    db.flush()
    record(db, ctx.actor, "alert.resolve", clinic_id=alert.clinic_id, patient_id=alert.patient_id,
           record_type="alert", record_id=alert.id, detail={"resolution": chosen.value})
    return alert
