"""JSON API of treatment plans: draft, sign, supersede. Only prescribers write; triage staff read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from tenfour.context import Ctx
from tenfour.plans import service
from tenfour.plans.models import TreatmentPlan
from tenfour.plans.schemas import PlanIn, PlanOut, PlanUpdate
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1/patients/{patient_id}/plans", tags=["treatment plans"])
Read = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
Sign = Annotated[Ctx, Depends(authorize(Permission.PLAN_SIGN))]
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Only prescribers draft and sign plans"},
          404: {"description": "No such patient or plan in your clinics"},
          409: {"description": "A signed plan cannot change; a draft already exists"},
          422: {"description": "Outside the clinic's limits (field and rule named), or no eligible decision"}}


def _out(plan: TreatmentPlan, current_id: int | None) -> PlanOut:
    out = PlanOut.model_validate(plan)
    out.is_current = plan.id == current_id
    return out


@router.get("", response_model=list[PlanOut], responses=ERRORS)
def list_plans(patient_id: RecordId, db: DbSession, ctx: Read) -> list[PlanOut]:
    """Every version, oldest first; ``is_current`` marks the signed plan in force."""
    book = service.plans_for(db, ctx, patient_id)
    return [_out(plan, book.current.id if book.current else None) for plan in book.plans]


@router.post("", response_model=PlanOut, status_code=201, responses=ERRORS)
def create_plan(patient_id: RecordId, data: PlanIn, db: DbSession, ctx: Sign) -> PlanOut:
    """A first plan: the clinic's induction protocol for anything left out. With ``sign`` it is signed at once."""
    plan = service.create_plan(db, ctx, patient_id, data)
    return _out(plan, plan.id if plan.is_signed else None)


@router.patch("/{plan_id}", response_model=PlanOut, responses=ERRORS)
def update_plan(patient_id: RecordId, plan_id: RecordId, data: PlanUpdate, db: DbSession, ctx: Sign) -> PlanOut:
    """Change a draft. A signed plan answers 409: supersede it instead."""
    return _out(service.update_draft(db, ctx, patient_id, plan_id, data), None)


@router.post("/{plan_id}/sign", response_model=PlanOut, responses=ERRORS)
def sign_plan(patient_id: RecordId, plan_id: RecordId, db: DbSession, ctx: Sign) -> PlanOut:
    plan = service.sign(db, ctx, patient_id, plan_id)
    return _out(plan, plan.id)


@router.post("/{plan_id}/supersede", response_model=PlanOut, status_code=201, responses=ERRORS)
def supersede_plan(patient_id: RecordId, plan_id: RecordId, db: DbSession, ctx: Sign) -> PlanOut:
    """A new draft version of the signed plan in force; it takes effect when signed."""
    return _out(service.supersede(db, ctx, patient_id, plan_id), None)


@router.delete("/{plan_id}", status_code=204, responses=ERRORS)
def discard_plan(patient_id: RecordId, plan_id: RecordId, db: DbSession, ctx: Sign) -> Response:
    """Discard a draft (a signed plan is kept for ever)."""
    service.discard_draft(db, ctx, patient_id, plan_id)
    return Response(status_code=204)
