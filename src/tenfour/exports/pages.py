"""Pages of exports: the research export page (the file is prepared in the background: ask, then download when it
is ready), the immediate download kept for small clinics and scripts, the FHIR download on the patient's chart and on
the patient's own page. Downloads are audited by the services."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import service as accounts
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.db import utcnow
from tenfour.errors import NotFound, ValidationFailed
from tenfour.exports import fhir_bundle, files, repository, service
from tenfour.exports.models import ExportFile, ExportStatus
from tenfour.patients import repository as patients_repository
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, reauth_if_posted, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Export = Annotated[Ctx, Depends(authorize(Permission.DATA_EXPORT))]
Clinical = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
ClinicSlug = Annotated[str | None, Query(max_length=60)]


def csv_response(export: service.CsvExport) -> Response:
    return Response(export.content, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store",
        "X-TenFour-Patients": str(export.patients), "X-TenFour-Withheld-No-Consent": str(export.withheld_no_consent),
        "X-TenFour-Withheld-Small-Cells": str(export.withheld_small_cells)})


def own_patient_id(db: Session, ctx: Ctx) -> int:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patient.id


def _fhir_download(bundle: dict[str, Any], name: str) -> Response:
    return Response(json.dumps(bundle, indent=1), media_type="application/fhir+json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def file_headers(export: ExportFile) -> dict[str, str]:
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store",
               "X-TenFour-Patients": str(export.patients), "X-TenFour-Withheld-No-Consent": str(
                   export.withheld_no_consent), "X-TenFour-Withheld-Small-Cells": str(export.withheld_small_cells)}
    if export.content_bytes is not None:
        headers["Content-Length"] = str(export.content_bytes)
    return headers


def _state(export: ExportFile, now: Any) -> str:
    """What the page says of a file: ready, preparing, failed, expired, or stopped (its job was lost)."""
    if files.is_stale(export, now):
        return "stopped"
    if export.status in (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value):
        return "preparing"
    if export.status == ExportStatus.READY.value and files.is_expired(export, now):
        return "expired"
    return export.status


def _exports_page(request: Request, db: Session, ctx: Ctx, values: dict[str, str], errors: FormErrors,
                  status_code: int = 200) -> Response:
    clinics = service.clinics_in_scope(db, ctx, None)
    setting = policy_core.BY_KEY["export.min_cell_size"]
    rows = [{"clinic": c, "min_cell_size": effective_policy(db, c.id)["export.min_cell_size"]} for c in clinics]
    now = utcnow()
    prepared = files.visible_files(db, ctx)
    entries = [{"file": f, "state": _state(f, now)} for f in prepared]
    response = render(request, db, "exports/index.html", {
        "rows": rows, "setting": setting, "counts": service.summary_counts(db, ctx, clinics), "entries": entries,
        "clinic_names": {i: c.name for i, c in files.clinics_of(db, prepared).items()},
        "requesters": repository.requester_names(db, {f.requested_by for f in prepared}),
        "me": ctx.principal.user.id if ctx.principal else None, "file_days": files.FILE_DAYS,
        "values": values, "errors": errors}, nav_key="exports", status_code=status_code)
    if any(e["state"] == "preparing" for e in entries):
        response.headers["Refresh"] = "15"  # reload while a file is being prepared (no script needed)
    return response


@router.get("/exports")
def exports_page(request: Request, db: DbSession, ctx: Export) -> Response:
    return _exports_page(request, db, ctx, {}, FormErrors())


@router.post("/exports/files")
async def prepare_export(request: Request, db: DbSession, ctx: Export) -> Response:
    """Ask for the de-identified file: it is prepared in the background (``exports.files``)."""
    await reauth_if_posted(request, db, ctx)  # a form re-posted from the re-authentication page
    values = form_values(await request.form())
    slug = str(values.get("clinic") or "").strip()
    try:
        export = files.request_file(db, ctx, slug[:60] or None)
    except ValidationFailed as error:
        return _exports_page(request, db, ctx, {"clinic": slug[:60]}, errors_from(error), error.status_code)
    return flash(request, RedirectResponse(f"/exports#file-{export.id}", status_code=303),
                 f"Asked for: file {export.id}. It is prepared in the background and listed below; this page "
                 "refreshes itself until it is ready.")


@router.get("/exports/files/{export_id}")
def download_export(db: DbSession, ctx: Export, export_id: RecordId) -> Response:
    """A prepared file (audited); 404 outside the reader's clinics, 410 once expired."""
    export, chunks = files.download(db, ctx, export_id)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=file_headers(export))


@router.get("/exports/deidentified.csv")
def exports_csv(db: DbSession, ctx: Export, clinic: ClinicSlug = None) -> Response:
    accounts.require_recent_sign_in(db, ctx)  # exporting data needs a recent sign-in (the /reauth page, then back)
    return csv_response(service.deidentified_csv(db, ctx, clinic))


@router.get("/patients/{patient_id}/record.fhir.json")
def patient_fhir(request: Request, db: DbSession, ctx: Clinical, patient_id: RecordId) -> Response:
    accounts.require_recent_sign_in(db, ctx)
    bundle = fhir_bundle.bundle_for(db, ctx, patient_id, request.app.state.settings.base_url)
    return _fhir_download(bundle, f"patient-{patient_id}-fhir.json")


@router.get("/me/record.fhir.json")
def own_fhir(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    bundle = fhir_bundle.bundle_for(db, ctx, own_patient_id(db, ctx), request.app.state.settings.base_url)
    return _fhir_download(bundle, "my-record-fhir.json")


@patient_panel("record-export", "exports/_chart_panel.html", order=90, permission=Permission.ASSESSMENT_READ)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    return {}


@own_panel("record-export", "exports/_own_panel.html", order=90)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    return {}
