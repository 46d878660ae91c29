"""Raising, acknowledging ("10-4") and resolving alerts. Never commits; never batches or delays urgent ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour import jobs, mail, policy
from tenfour.alerts import repository
from tenfour.alerts.models import Alert, Resolution, Severity
from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policy, on_call_emails
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import Conflict, NotFound, ValidationFailed

ESCALATION_SUBJECT = "Urgent alert not acknowledged"


def raise_alert(
    db: Session, ctx: Ctx, *, clinic_id: int, patient_id: int, severity: Severity, kind: str, title: str,
    reasons: list[dict[str, Any]], source_type: str | None = None, source_id: int | None = None,
) -> Alert:
    """Create an alert now. Each call creates one alert: urgent alerts are never merged into another."""
    alert = Alert(clinic_id=clinic_id, patient_id=patient_id, severity=severity.value, kind=kind, title=title[:200],
                  reasons=reasons, source_type=source_type, source_id=source_id)
    db.add(alert)
    db.flush()
    if severity == Severity.URGENT:  # escalated at its deadline by a job; the sweep is the safety net
        raised_at = alert.created_at or utcnow()
        jobs.defer(db, "escalate_alert", run_at=raised_at + ack_limit(db, clinic_id), alert_id=alert.id)
    record(db, ctx.actor, "alert.raise", clinic_id=clinic_id, patient_id=patient_id, record_type="alert",
           record_id=alert.id, detail={"severity": severity.value, "kind": kind})
    return alert


def get_alert(db: Session, ctx: Ctx, alert_id: int) -> Alert:
    assert ctx.principal is not None
    alert = repository.by_id(db, alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    try:
        policy.ensure_clinic(ctx.principal, alert.clinic_id)
    except NotFound:
        raise NotFound("No such alert.") from None  # word for word the answer for a missing one
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


# --- Escalation: an urgent alert without a 10-4 in time is emailed to the clinic's on-call list ---------------


def ack_limit(db: Session, clinic_id: int) -> timedelta:
    """The clinic's limit for acknowledging an urgent alert (policy alerts.urgent_ack_limit_min, default 15)."""
    return timedelta(minutes=int(effective_policy(db, clinic_id)["alerts.urgent_ack_limit_min"]))


def escalation_email(clinic_name: str, raised_local: str, minutes: int, url: str) -> str:
    """Where to look, never who or why: the inbox link is behind the clinic's sign-in."""
    return (
        f"An urgent alert at {clinic_name}, raised at {raised_local}, has not been acknowledged after {minutes} "
        "minutes.\n\n"
        f"Open the alert inbox and give it a 10-4:\n{url}\n\n"
        "You get this email because you are on the clinic's on-call list.\n\n"
        "TenFour (this email is automatic; please do not reply)\n"
    )


def escalate_overdue(db: Session, ctx: Ctx, now: datetime, base_url: str) -> list[Alert]:
    """Escalate every urgent alert not acknowledged within its clinic's limit: at the limit exactly, not a
    minute later than the sweep that sees it. Each alert is escalated once (a concurrent sweep cannot repeat it)."""
    escalated = []
    limits: dict[int, timedelta] = {}
    for alert in repository.urgent_to_escalate(db, now - timedelta(minutes=1)):
        if alert.clinic_id not in limits:
            limits[alert.clinic_id] = ack_limit(db, alert.clinic_id)
        if now - alert.created_at >= limits[alert.clinic_id] and _escalate(db, ctx, alert, now, base_url):
            escalated.append(alert)
    return escalated


@dataclass(frozen=True)
class EscalationOutcome:
    """What the escalation job found: escalated now, not_needed (10-4 given, resolved, gone, done before), or
    not_due yet (``due_at``: the deadline to come back at)."""

    state: str
    due_at: datetime | None = None


def escalate_one(db: Session, ctx: Ctx, alert_id: int, now: datetime, base_url: str) -> EscalationOutcome:
    """The escalation job of one urgent alert, at its deadline."""
    alert = repository.by_id(db, alert_id)
    if (alert is None or alert.severity != Severity.URGENT or alert.acknowledged_at is not None
            or alert.resolved_at is not None or alert.escalated_at is not None):
        return EscalationOutcome("not_needed")
    due_at = alert.created_at + ack_limit(db, alert.clinic_id)
    if now < due_at:
        return EscalationOutcome("not_due", due_at)
    return EscalationOutcome("escalated" if _escalate(db, ctx, alert, now, base_url) else "not_needed")


def _escalate(db: Session, ctx: Ctx, alert: Alert, now: datetime, base_url: str) -> bool:
    if not repository.claim_escalation(db, alert.id, now):
        return False
    db.refresh(alert)
    clinic = clinics_repository.by_id(db, alert.clinic_id)
    recipients = on_call_emails(clinic.on_call_emails if clinic else None)
    minutes = int((now - alert.created_at).total_seconds() // 60)
    raised = alert.created_at.astimezone(ZoneInfo(clinic.timezone if clinic else "UTC")).strftime("%H:%M")
    url = f"{base_url.rstrip('/')}/alerts?status=unacknowledged&severity=urgent"
    for address in recipients:
        mail.enqueue(db, to=address, subject=ESCALATION_SUBJECT, purpose="escalation",
                     body=escalation_email(clinic.name if clinic else "your clinic", raised, minutes, url))
    record(db, ctx.actor, "alert.escalate", clinic_id=alert.clinic_id, patient_id=alert.patient_id,
           record_type="alert", record_id=alert.id, detail={"recipients": len(recipients), "minutes": minutes})
    return True


@dataclass(frozen=True)
class Escalation:
    """Where an alert stands with escalation, for the inbox: not_urgent, acknowledged, waiting (due at), escalated."""

    state: str
    at: datetime | None = None


def escalation_of(alert: Alert, limit: timedelta) -> Escalation:
    if alert.escalated_at is not None:
        return Escalation("escalated", alert.escalated_at)
    if alert.severity != Severity.URGENT.value:
        return Escalation("not_urgent")
    if alert.acknowledged_at is not None or alert.resolved_at is not None:
        return Escalation("acknowledged", alert.acknowledged_at)
    return Escalation("waiting", alert.created_at + limit)


def inbox_entries(db: Session, clinic_id: int, rows: list[Any], now: datetime | None = None) -> list[dict[str, Any]]:
    """The inbox's rows as dicts: the alert's fields, its patient, who acknowledged and resolved, minutes open
    (until resolved), and its escalation."""
    from tenfour.alerts.schemas import AlertOut

    now = now or utcnow()
    limit = ack_limit(db, clinic_id)
    entries = []
    for alert, patient, acker, resolver in rows:
        until = alert.resolved_at or now
        escalation = escalation_of(alert, limit)
        entries.append({**AlertOut.model_validate(alert).model_dump(), "alert": alert, "patient": patient,
                        "patient_name": patient.display_name, "record_number": patient.record_number,
                        "acknowledged_by_name": acker.full_name if acker else None,
                        "resolved_by_name": resolver.full_name if resolver else None,
                        "open_minutes": max(0, int((until - alert.created_at).total_seconds() // 60)),
                        "escalation": {"state": escalation.state, "at": escalation.at}})
    return entries
