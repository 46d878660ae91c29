"""Pages of exports: the research export page and its download, the FHIR download on the patient's chart and on the
patient's own page. Downloads are audited by the services."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import service as accounts
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.errors import NotFound
from tenfour.exports import fhir_bundle, service
from tenfour.patients import repository as patients_repository
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.templating import render

router = APIRouter(include_in_schema=False)
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


@router.get("/exports")
def exports_page(request: Request, db: DbSession, ctx: Export) -> Response:
    clinics = service.clinics_in_scope(db, ctx, None)
    setting = policy_core.BY_KEY["export.min_cell_size"]
    rows = [{"clinic": c, "min_cell_size": effective_policy(db, c.id)["export.min_cell_size"]} for c in clinics]
    return render(request, db, "exports/index.html", {"rows": rows, "setting": setting,
                                                       "counts": service.summary_counts(db, ctx, clinics)},
                  nav_key="exports")


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
