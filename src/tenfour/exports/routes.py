"""JSON API of exports: the de-identified CSV (DATA_EXPORT) and a patient's FHIR R4 Bundle (clinicians, and the
patient for their own record)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from tenfour.accounts import service as accounts
from tenfour.context import Ctx
from tenfour.exports import fhir_bundle, service
from tenfour.exports.pages import csv_response, own_patient_id
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


@router.get("/exports/deidentified.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}}})
def deidentified_csv(db: DbSession, ctx: Export,
                     clinic: Annotated[str | None, Query(max_length=60, description="Clinic slug; default: all "
                                                                                    "your clinics")] = None
                     ) -> Response:
    """De-identified row-level CSV for research: consenting patients only, random keys, dates shifted per patient,
    small cells suppressed (docs/exports.md). Needs a recent sign-in (else 401 ``reauth_required``)."""
    accounts.require_recent_sign_in(db, ctx)
    return csv_response(service.deidentified_csv(db, ctx, clinic))


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
