"""The clinic's alert inbox: most severe and oldest first; acknowledge ("10-4") and resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.alerts import repository, service
from tenfour.alerts.models import Resolution
from tenfour.context import Ctx
from tenfour.errors import TenFourError
from tenfour.patients.models import Patient
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, authorize, verify_csrf
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


@router.get("/alerts")
def inbox(request: Request, db: DbSession, ctx: Read) -> Response:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    rows = repository.open_alerts(db, clinic_id) if clinic_id else []
    return render(request, db, "alerts/inbox.html", {"rows": rows, "resolutions": RESOLUTION_LABELS},
                  nav_key="alerts")


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(request: Request, db: DbSession, ctx: Ack, alert_id: int) -> Response:
    service.acknowledge(db, ctx, alert_id)
    target = request.headers.get("referer") or "/alerts"
    target = target if target.startswith(str(request.base_url)) else "/alerts"
    return flash(request, RedirectResponse(target, status_code=303), "10-4: acknowledged.")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(request: Request, db: DbSession, ctx: Ack, alert_id: int) -> Response:
    values = form_values(await request.form())
    try:
        service.resolve(db, ctx, alert_id, str(values.get("resolution") or ""), values.get("note"))
    except TenFourError as error:
        reason = error.problems[0].message if error.problems else error.message
        return flash(request, RedirectResponse("/alerts", status_code=303), f"Not resolved: {reason}", "error")
    return flash(request, RedirectResponse("/alerts", status_code=303), "Alert resolved.")


assert {r.value for r in Resolution} == set(RESOLUTION_LABELS)


@patient_panel("alerts", "alerts/_patient_panel.html", order=5, permission=Permission.ALERT_READ)
def _patient_alerts(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    open_alerts = [a for a in repository.for_patient(db, patient.id) if a.resolved_at is None]
    return {"alerts": open_alerts} if open_alerts else None
