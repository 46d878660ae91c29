"""JSON API of the audit log: read and filter (administrators of the clinic). There is no write route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tenfour.audit import repository
from tenfour.audit.repository import AuditQuery
from tenfour.audit.schemas import AuditEventOut, AuditPage
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.policy import Permission
from tenfour.web.deps import MAX_ID, DbSession, authorize

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_events(
    db: DbSession,
    ctx: Annotated[Ctx, Depends(authorize(Permission.AUDIT_READ))],
    action: Annotated[str | None, Query(max_length=60, description="Prefix, e.g. patient.")] = None,
    patient_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor_user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    assert ctx.principal is not None
    query = AuditQuery(ctx.principal.clinic_ids, action, patient_id, actor_user_id, since, until, limit, offset)
    events, total = repository.search(db, query)
    record(db, ctx.actor, "audit.read", detail={"action": action, "patient_id": patient_id, "results": total})
    return AuditPage(items=[AuditEventOut.model_validate(e) for e in events], total=total, limit=limit,
                     offset=offset)
