"""The clinic's alert inbox: most severe and oldest first; acknowledge ("10-4") and resolve."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.alerts import repository, service
from tenfour.alerts.models import Resolution, Severity
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import on_call_emails
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import Conflict, ValidationFailed
from tenfour.patients.models import Patient
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import form_values
from tenfour.web.panels import patient_panel
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Read = Annotated[Ctx, Depends(authorize(Permission.ALERT_READ))]
Ack = Annotated[Ctx, Depends(authorize(Permission.ALERT_ACK))]
RESOLUTION_LABELS = {
    "called": "Called the patient", "seen_in_clinic": "Seen in clinic", "crisis_referral": "Crisis referral made",
    "booster_proposed": "Booster proposed", "infusion_action": "Action taken at the chairside",
    "no_action": "No action needed (say why)",
}


STATUS_LABELS = {"open": "Open", "unacknowledged": "Waiting for a 10-4", "acknowledged": "Acknowledged, not resolved",
                 "resolved": "Resolved (last 30 days)", "all": "All"}
KIND_LABELS = {"suicidal_ideation": "Suicide risk: PHQ-9 item 9", "imminent_risk": "Suicide risk: C-SSRS high",
               "relapse": "Relapse early warning", "vitals": "Vitals during an infusion"}


@router.get("/alerts")
def inbox(request: Request, db: DbSession, ctx: Read,
          status: Annotated[str, Query(max_length=20)] = "open", severity: Annotated[str, Query(max_length=10)] = "",
          kind: Annotated[str, Query(max_length=30)] = "",
          patient_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    status = status if status in STATUS_LABELS else "open"
    severity = severity if severity in {s.value for s in Severity} else ""
    kind = kind if kind in KIND_LABELS else ""
    rows = repository.inbox(db, clinic_id, status=status, severity=severity or None, kind=kind or None,
                            patient_id=patient_id, resolved_since=utcnow() - timedelta(days=30)) if clinic_id else []
    clinic = clinics_repository.by_id(db, clinic_id) if clinic_id else None
    return render(request, db, "alerts/inbox.html", {
        "entries": service.inbox_entries(db, clinic_id, rows) if clinic_id else [], "resolutions": RESOLUTION_LABELS,
        "filters": {"status": status, "severity": severity, "kind": kind, "patient_id": patient_id},
        "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS, "severities": [s.value for s in Severity],
        "on_call": on_call_emails(clinic.on_call_emails if clinic else None),
        "limit_min": int(service.ack_limit(db, clinic_id).total_seconds() // 60) if clinic_id else None},
        nav_key="alerts")


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, db: DbSession, ctx: Ack, alert_id: RecordId) -> Response:
    service.acknowledge(db, ctx, alert_id)
    # Back where the 10-4 was given (the inbox with its filters, or the chart): the form says where, since pages
    # send no Referer (Referrer-Policy: no-referrer). Only a path on this site is followed.
    back = form_values(await request.form()).get("return_to") or ""
    target = back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/alerts"
    return flash(request, RedirectResponse(target, status_code=303), "10-4: acknowledged.")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(request: Request, db: DbSession, ctx: Ack, alert_id: RecordId) -> Response:
    values = form_values(await request.form())
    try:
        service.resolve(db, ctx, alert_id, str(values.get("resolution") or ""), values.get("note"))
    except (ValidationFailed, Conflict) as error:  # a NotFound (another clinic's alert) stays a 404
        reason = error.problems[0].message if error.problems else error.message
        return flash(request, RedirectResponse("/alerts", status_code=303), f"Not resolved: {reason}", "error")
    return flash(request, RedirectResponse("/alerts", status_code=303), "Alert resolved.")


assert {r.value for r in Resolution} == set(RESOLUTION_LABELS)


@patient_panel("alerts", "alerts/_patient_panel.html", order=5, permission=Permission.ALERT_READ)
def _patient_alerts(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    open_alerts = [a for a in repository.for_patient(db, patient.id) if a.resolved_at is None]
    return {"alerts": open_alerts} if open_alerts else None
