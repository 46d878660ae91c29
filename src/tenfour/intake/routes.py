"""JSON API of intake for staff: send an invitation, read a patient's intake."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from tenfour.context import Ctx
from tenfour.errors import NotFound
from tenfour.intake import service
from tenfour.intake.schemas import IntakeOut, InvitationOut
from tenfour.patients import service as patients
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1/patients/{patient_id}", tags=["intake"])
Triage = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
          404: {"description": "No such patient in your clinics"}, 422: {"description": "No email on the record"},
          429: {"description": "Too many invitations sent by you in the last hour"}}


@router.post("/invitation", response_model=InvitationOut, status_code=201, responses=ERRORS)
def send_invitation(patient_id: RecordId, request: Request, db: DbSession, ctx: Triage) -> InvitationOut:
    """Email a single-use link (valid 7 days) to set a password and start intake; older links stop working."""
    link = service.send_invitation(db, ctx, patient_id, request.app.state.settings.base_url,
                                   per_hour=request.app.state.settings.invitations_sent_per_hour)
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    return InvitationOut(patient_id=patient.id, sent_to=patient.email or "", expires_at=link.expires_at)


@router.get("/intake", response_model=IntakeOut, responses=ERRORS)
def get_intake(patient_id: RecordId, db: DbSession, ctx: Triage) -> IntakeOut:
    """The patient's intake: steps done, the medical screening and the readings they reported."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action="intake.view")
    view = service.for_staff(db, patient)
    if view.form is None:
        raise NotFound("This patient has not started intake.")
    return IntakeOut.model_validate(view.form)
