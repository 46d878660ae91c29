"""The audit log page for administrators (filter and export), and the patient's own access log (who on the staff
opened their record). Read-only by construction."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.audit import repository
from tenfour.audit.repository import AuditQuery
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.db import get_session_factory
from tenfour.errors import NotFound
from tenfour.patients import repository as patients_repository
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, authorize, verify_csrf
from tenfour.web.panels import own_panel
from tenfour.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Auditor = Annotated[Ctx, Depends(authorize(Permission.AUDIT_READ))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
PAGE_SIZE = 50
CSV_COLUMNS = ("id", "at", "actor_user_id", "actor_label", "actor_role", "action", "clinic_id", "patient_id",
               "record_type", "record_id", "ip_address", "detail")


def _query(ctx: Ctx, action: str | None, patient_id: str | None, actor: str | None, since: date | None,
           until: date | None, limit: int = PAGE_SIZE, offset: int = 0) -> AuditQuery:
    assert ctx.principal is not None

    def as_int(value: str | None) -> int | None:
        return int(value) if value and value.strip().isdigit() else None

    start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1) if until else None
    return AuditQuery(ctx.principal.clinic_ids, (action or "").strip() or None, as_int(patient_id), as_int(actor),
                      start, end, limit, offset)


@router.get("/admin/audit")
def audit_page(
    request: Request, db: DbSession, ctx: Auditor,
    action: Annotated[str | None, Query(max_length=60)] = None,
    patient_id: Annotated[str | None, Query(max_length=12)] = None,
    actor: Annotated[str | None, Query(max_length=12)] = None,
    since: date | None = None,
    until: date | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    query = _query(ctx, action, patient_id, actor, since, until, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    events, total = repository.search(db, query)
    record(db, ctx.actor, "audit.read", detail={"action": query.action, "patient_id": query.patient_id,
                                                "results": total})
    filters = {"action": action or "", "patient_id": patient_id or "", "actor": actor or "",
               "since": since.isoformat() if since else "", "until": until.isoformat() if until else ""}
    return render(request, db, "audit/list.html", {
        "events": events, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "filters": filters, "actions": repository.distinct_actions(db)}, nav_key="admin-audit")


@router.get("/admin/audit/export.csv")
def audit_export(
    request: Request, db: DbSession, ctx: Auditor,
    action: Annotated[str | None, Query(max_length=60)] = None,
    patient_id: Annotated[str | None, Query(max_length=12)] = None,
    actor: Annotated[str | None, Query(max_length=12)] = None,
    since: date | None = None,
    until: date | None = None,
) -> Response:
    query = _query(ctx, action, patient_id, actor, since, until)
    record(db, ctx.actor, "audit.export", detail={"action": query.action, "patient_id": query.patient_id})
    factory = request.app.state.session_factory or get_session_factory()

    def rows() -> Iterator[str]:
        # The export streams after the request's own session has committed, from a session of its own.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with factory() as reader:
            for event in repository.stream(reader, query):
                writer.writerow([event.id, event.at.isoformat(), event.actor_user_id, event.actor_label,
                                 event.actor_role, event.action, event.clinic_id, event.patient_id,
                                 event.record_type, event.record_id, event.ip_address,
                                 json.dumps(event.detail, sort_keys=True)])
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="tenfour-audit-{stamp}.csv"'})


# --- The patient's own access log ------------------------------------------------------------------------------

# What each read means, in the patient's words. A read not named here is still listed (repository.chart_reads).
READ_LABELS = {
    "patient.view": "Opened your record",
    "plan.view": "Read your treatment plan",
    "eligibility.view": "Read your eligibility decision",
    "intake.view": "Read your intake answers",
    "assessment.view": "Read your answers to a questionnaire",
    "assessment.list": "Read your questionnaire scores",
    "checkin.list": "Read your check-ins",
    "checkin.warning_signs_view": "Read your warning signs",
    "infusion.view": "Opened the record of an infusion",
    "infusion.list": "Read your list of infusions",
    "infusion.discharge_sheet": "Opened your discharge sheet",
    "referral.view": "Read the referral about you",
    "report.progress_pdf": "Printed your progress report",
    "scheduling.ics_export": "Exported your appointments",
}
ACCESS_PAGE_SIZE = 50


def read_label(action: str) -> str:
    if action in READ_LABELS:
        return READ_LABELS[action]
    if action.startswith("export.") or action.endswith("_export"):
        return "Exported part of your record"
    return "Opened your record"


def _own_patient(db: Session, ctx: Ctx) -> Patient:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patient


@router.get("/me/access-log")
def own_access_log(request: Request, db: DbSession, ctx: SelfRead,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Who on the clinic's staff opened the patient's record, and when (HIPAA: the right to know who accessed it)."""
    patient = _own_patient(db, ctx)
    total = repository.count_chart_reads(db, patient.id)
    reads = repository.chart_reads(db, patient.id, ACCESS_PAGE_SIZE, (page - 1) * ACCESS_PAGE_SIZE)
    record(db, ctx.actor, "patient.access_log", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id, detail={"page": page})
    entries = [{"at": event.at, "name": name or event.actor_label.split(" <", 1)[0],
                "role": (event.actor_role or "").capitalize(), "what": read_label(event.action)}
               for event, name in reads]
    return render(request, db, "audit/access_log.html", {
        "entries": entries, "total": total, "page": page, "pages": max(1, -(-total // ACCESS_PAGE_SIZE))},
        nav_key="me")


@own_panel("access-log", "audit/_own_access_panel.html", order=90)
def _access_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, object]:
    return {"total": repository.count_chart_reads(db, patient.id)}
