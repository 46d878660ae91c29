"""JSON API of exports: the de-identified CSV (DATA_EXPORT) — built on the spot, or prepared in the background (ask,
poll its status, download) — and a patient's FHIR R4 Bundle (clinicians, and the patient for their own record)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import service as accounts
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.exports import fhir_bundle, files, service
from tenfour.exports.models import ExportFile, ExportStatus
from tenfour.exports.pages import csv_response, file_headers, own_patient_id
from tenfour.exports.schemas import ExportFileOut
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1", tags=["exports"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
    404: {"description": "Not found in your clinics"}, 422: {"description": "A clinic you do not work in"}}
FHIR_JSON = "application/fhir+json"
Export = Annotated[Ctx, Depends(authorize(Permission.DATA_EXPORT))]
Clinical = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
ClinicQuery = Annotated[str | None, Query(max_length=60, description="Clinic slug; default: all your clinics")]


@router.get("/exports/deidentified.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}}})
def deidentified_csv(db: DbSession, ctx: Export, clinic: ClinicQuery = None) -> Response:
    """De-identified row-level CSV for research: consenting patients only, random keys, dates shifted per patient,
    small cells suppressed (docs/exports.md). Needs a recent sign-in (else 401 ``reauth_required``)."""
    accounts.require_recent_sign_in(db, ctx)
    return csv_response(service.deidentified_csv(db, ctx, clinic))


def _file_out(db: Session, export: ExportFile) -> ExportFileOut:
    now = utcnow()
    status = export.status
    if files.is_stale(export, now):
        status = "stopped"
    elif status == ExportStatus.READY.value and files.is_expired(export, now):
        status = "expired"
    clinics = files.clinics_of(db, [export])
    ready = status == ExportStatus.READY.value
    return ExportFileOut(
        id=export.id, status=status, clinics=[clinics[i].slug for i in export.clinic_ids if i in clinics],
        created_at=export.created_at, finished_at=export.finished_at, expires_at=export.expires_at,
        filename=export.filename, patients=export.patients, rows=export.rows,
        withheld_no_consent=export.withheld_no_consent, withheld_small_cells=export.withheld_small_cells,
        suppressed_patients=export.suppressed_patients, min_cell_size=export.min_cell_size, error=export.error,
        download_url=f"/api/v1/exports/files/{export.id}/content" if ready else None)


@router.post("/exports/deidentified", status_code=202, response_model=ExportFileOut, responses=ERRORS)
def prepare_deidentified(db: DbSession, ctx: Export, clinic: ClinicQuery = None) -> ExportFileOut:
    """Ask for the de-identified CSV to be prepared in the background (the same file as
    ``GET /exports/deidentified.csv``, for networks too large to build it within a request). Poll
    ``GET /exports/files/{id}`` until ``status`` is ``ready``, then download ``download_url``. Needs a recent sign-in
    (else 401 ``reauth_required``)."""
    return _file_out(db, files.request_file(db, ctx, clinic))


@router.get("/exports/files/{export_id}", response_model=ExportFileOut, responses=ERRORS)
def export_file_status(db: DbSession, ctx: Export, export_id: RecordId) -> ExportFileOut:
    """A prepared file's status and counts (files of clinics you all work in; 404 otherwise)."""
    return _file_out(db, files.get_file(db, ctx, export_id))


@router.get("/exports/files/{export_id}/content", responses={
    **ERRORS, 200: {"content": {"text/csv": {}}}, 409: {"description": "Not ready (still being prepared, or failed)"},
    410: {"description": "Expired: the file was deleted"}})
def export_file_content(db: DbSession, ctx: Export, export_id: RecordId) -> Response:
    """The prepared CSV (audited). Needs a recent sign-in (401 ``reauth_required``)."""
    export, chunks = files.download(db, ctx, export_id)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=file_headers(export))


def _fhir(bundle: dict[str, Any], filename: str | None = None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(json.dumps(bundle), media_type=FHIR_JSON, headers=headers)


@router.get("/patients/{patient_id}/fhir-bundle", responses={**ERRORS, 200: {"content": {FHIR_JSON: {}}}})
def patient_bundle(patient_id: RecordId, request: Request, db: DbSession, ctx: Clinical) -> Response:
    """The patient's record as a FHIR R4 collection Bundle (Patient, QuestionnaireResponses, Observations,
    MedicationAdministrations, Appointments). Needs a recent sign-in (401 ``reauth_required``)."""
    accounts.require_recent_sign_in(db, ctx)
    return _fhir(fhir_bundle.bundle_for(db, ctx, patient_id, request.app.state.settings.base_url))


@router.get("/me/fhir-bundle", responses={**ERRORS, 200: {"content": {FHIR_JSON: {}}}})
def own_bundle(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    """Your own record as a FHIR R4 Bundle."""
    return _fhir(fhir_bundle.bundle_for(db, ctx, own_patient_id(db, ctx), request.app.state.settings.base_url))
