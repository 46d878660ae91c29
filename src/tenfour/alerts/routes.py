"""JSON API of alerts: the clinic's open alerts, acknowledge (10-4) and resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from tenfour.alerts import repository, service
from tenfour.alerts.models import Alert
from tenfour.alerts.schemas import AlertOut, ResolveIn
from tenfour.context import Ctx
from tenfour.errors import NotFound
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, authorize

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertOut])
def open_alerts(db: DbSession, ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_READ))]) -> list[Alert]:
    """Open alerts of your clinic: most severe first, then oldest first."""
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("You do not work in a clinic yet.")
    return [alert for alert, _ in repository.open_alerts(db, clinic_id)]


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: int, db: DbSession,
                ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_ACK))]) -> Alert:
    """10-4: you have seen it. Records who and when."""
    return service.acknowledge(db, ctx, alert_id)


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: int, data: ResolveIn, db: DbSession,
            ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_ACK))]) -> Alert:
    """Close the alert with the action taken (no_action needs a note)."""
    return service.resolve(db, ctx, alert_id, data.resolution.value, data.note)
