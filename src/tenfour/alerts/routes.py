"""JSON API of alerts: the clinic's open alerts, acknowledge (10-4) and resolve."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from tenfour.alerts import repository, service
from tenfour.alerts.models import Alert, AlertKind, Severity
from tenfour.alerts.schemas import AlertOut, InboxAlertOut, ResolveIn
from tenfour.context import Ctx
from tenfour.errors import NotFound
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", response_model=list[InboxAlertOut])
def open_alerts(db: DbSession, ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_READ))],
                status: Annotated[Literal["open", "unacknowledged", "acknowledged", "resolved", "all"],
                                  Query(description="open (default): not resolved")] = "open",
                severity: Annotated[Severity | None, Query()] = None,
                kind: Annotated[AlertKind | None, Query()] = None,
                patient_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> list[InboxAlertOut]:
    """Your clinic's alerts: open ones most severe first, then oldest first; who gave the 10-4, how long each has
    been open, and where it stands with escalation to the on-call list."""
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("You do not work in a clinic yet.")
    rows = repository.inbox(db, clinic_id, status=status, severity=severity.value if severity else None,
                            kind=kind.value if kind else None, patient_id=patient_id)
    return [InboxAlertOut(**entry) for entry in service.inbox_entries(db, clinic_id, rows)]


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: RecordId, db: DbSession,
                ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_ACK))]) -> Alert:
    """10-4: you have seen it. Records who and when."""
    return service.acknowledge(db, ctx, alert_id)


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: RecordId, data: ResolveIn, db: DbSession,
            ctx: Annotated[Ctx, Depends(authorize(Permission.ALERT_ACK))]) -> Alert:
    """Close the alert with the action taken (no_action needs a note)."""
    return service.resolve(db, ctx, alert_id, data.resolution.value, data.note)
