"""JSON API of referrals: the public, confidential submission, and the triage queue of the clinic's staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from tenfour.context import Ctx
from tenfour.errors import TenFourError
from tenfour.intake import service as intake
from tenfour.policy import Permission
from tenfour.referrals import service
from tenfour.referrals.schemas import (
    ConvertIn,
    NoteIn,
    ReferralAcknowledgment,
    ReferralIn,
    ReferralOut,
    ReferralSummary,
    StatusChangeIn,
)
from tenfour.web.deps import DbSession, RecordId, authorize, public
from tenfour.web.idempotency import IdempotencyKeyHeader, json_once

router = APIRouter(prefix="/api/v1", tags=["referrals"])
Public = Annotated[Ctx, Depends(public)]
Triage = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
          404: {"description": "No such referral in your clinics"}, 422: {"description": "Invalid input"}}
MAX_BODY_BYTES = 16_384  # a referral is a few short fields; anything larger is not a person typing
View = Literal["open", "all", "new", "contacted", "invited", "intake_complete", "declined", "unreachable", "closed"]


class BodyTooLarge(TenFourError):
    status_code = 413
    default_message = "This is more than a referral form can hold. Please shorten what you wrote."


def limit_body(request: Request) -> None:
    """Refuse a declared body above the limit before it is handled (the proxy in front caps undeclared ones)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise BodyTooLarge()


class QueueOut(BaseModel):
    items: list[ReferralSummary]
    counts: dict[str, int]
    median_hours_to_first_contact: float | None


class ConvertOut(BaseModel):
    patient_id: int
    record_number: str
    invitation_sent: bool
    invitation_expires_at: datetime | None


@router.post("/referrals", response_model=ReferralAcknowledgment, status_code=201,
             dependencies=[Depends(limit_body)],
             responses={413: {"description": "Too large"}, 422: {"description": "Invalid input"},
                        429: {"description": "Too many referrals from this address; wait and try again"}})
def submit_referral(data: ReferralIn, request: Request, db: DbSession, ctx: Public,
                    idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Refer someone in confidence; no account needed. The answer is a reference number and nothing else, ever:
    no endpoint tells a referrer whether the person was contacted or came in. Send an ``Idempotency-Key`` so that a
    retry after a dropped connection makes one referral, not two."""
    return json_once(request, db, ctx, idempotency_key, data, 201,
                     lambda: ReferralAcknowledgment(reference=service.submit(db, ctx, data).reference))


@router.get("/referrals", response_model=QueueOut, responses=ERRORS)
def list_referrals(db: DbSession, ctx: Triage, view: Annotated[View, Query()] = "open") -> QueueOut:
    """The triage queue of your working clinic: open referrals (oldest first), one status, or all."""
    queue = service.queue(db, ctx, view)
    return QueueOut(items=[ReferralSummary.model_validate(r) for r in queue.referrals], counts=queue.counts,
                    median_hours_to_first_contact=queue.median_hours_to_first_contact)


@router.get("/referrals/{referral_id}", response_model=ReferralOut, responses=ERRORS)
def get_referral(referral_id: RecordId, db: DbSession, ctx: Triage) -> ReferralOut:
    return ReferralOut.model_validate(service.get_referral(db, ctx, referral_id))


@router.post("/referrals/{referral_id}/status", response_model=ReferralOut, responses=ERRORS)
def change_status(referral_id: RecordId, data: StatusChangeIn, db: DbSession, ctx: Triage) -> ReferralOut:
    """Contacted, unreachable, declined or closed, with a note. Invited and intake complete follow from the
    invitation and the patient's intake."""
    return ReferralOut.model_validate(service.change_status(db, ctx, referral_id, data.status, data.note))


@router.post("/referrals/{referral_id}/notes", response_model=ReferralOut, responses=ERRORS)
def add_note(referral_id: RecordId, data: NoteIn, db: DbSession, ctx: Triage) -> ReferralOut:
    return ReferralOut.model_validate(service.add_note(db, ctx, referral_id, data.note))


@router.post("/referrals/{referral_id}/patient", response_model=ConvertOut, status_code=201, responses=ERRORS)
def convert(referral_id: RecordId, data: ConvertIn, request: Request, db: DbSession, ctx: Triage) -> ConvertOut:
    """One action: the referral becomes a patient record (and, with ``send_invitation``, is emailed an invitation)."""
    patient = service.convert_to_patient(db, ctx, referral_id, data.date_of_birth)
    link = None
    if data.send_invitation:
        link = intake.send_invitation(db, ctx, patient.id, request.app.state.settings.base_url)
    return ConvertOut(patient_id=patient.id, record_number=patient.record_number, invitation_sent=link is not None,
                      invitation_expires_at=link.expires_at if link else None)
