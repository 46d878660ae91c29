"""JSON API of the patient registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tenfour.context import Ctx
from tenfour.patients import service
from tenfour.patients.models import PatientStatus, ResponderRole
from tenfour.patients.repository import PatientQuery
from tenfour.patients.schemas import ConsentIn, ConsentOut, PatientCreate, PatientOut, PatientPage, PatientUpdate
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
          404: {"description": "No such patient in your clinics"}, 422: {"description": "Invalid input"}}


@router.get("", response_model=PatientPage, responses=ERRORS)
def list_patients(
    db: DbSession,
    ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_READ))],
    q: Annotated[str | None, Query(max_length=100, description="Name, record number, email or agency")] = None,
    responder_role: ResponderRole | None = None,
    status: PatientStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PatientPage:
    """Patients of the clinics you work in."""
    assert ctx.principal is not None
    query = PatientQuery(ctx.principal.clinic_ids, q, responder_role and responder_role.value,
                         status and status.value, limit, offset)
    patients, total = service.search_patients(db, ctx, query)
    return PatientPage(items=[PatientOut.model_validate(p) for p in patients], total=total, limit=limit,
                       offset=offset)


@router.post("", response_model=PatientOut, status_code=201, responses=ERRORS)
def create_patient(data: PatientCreate, db: DbSession,
                   ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]) -> PatientOut:
    """Register a patient in your clinic (staff of several clinics name it with `clinic`)."""
    return PatientOut.model_validate(service.create_patient(db, ctx, data))


@router.get("/{patient_id}", response_model=PatientOut, responses=ERRORS)
def get_patient(patient_id: RecordId, db: DbSession,
                ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_READ))]) -> PatientOut:
    return PatientOut.model_validate(service.get_patient(db, ctx, patient_id))


@router.patch("/{patient_id}", response_model=PatientOut, responses=ERRORS)
def update_patient(patient_id: RecordId, data: PatientUpdate, db: DbSession,
                   ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]) -> PatientOut:
    """Change only the fields sent."""
    return PatientOut.model_validate(service.update_patient(db, ctx, patient_id, data))


@router.post("/{patient_id}/consents", response_model=ConsentOut, status_code=201, responses=ERRORS)
def add_consent(patient_id: RecordId, data: ConsentIn, db: DbSession,
                ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]) -> ConsentOut:
    patient = service.get_patient(db, ctx, patient_id, audit_action=None)
    return ConsentOut.model_validate(service.add_consent(db, ctx, patient, data.kind.value, data.version))


@router.post("/{patient_id}/consents/{consent_id}/withdraw", response_model=ConsentOut, responses=ERRORS)
def withdraw_consent(patient_id: RecordId, consent_id: RecordId, db: DbSession,
                     ctx: Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]) -> ConsentOut:
    patient = service.get_patient(db, ctx, patient_id, audit_action=None)
    return ConsentOut.model_validate(service.withdraw_consent(db, ctx, patient, consent_id))
