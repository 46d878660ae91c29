"""JSON API of eligibility: evaluate screening answers, and a patient's stored decisions and overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from tenfour.context import Ctx
from tenfour.eligibility import service
from tenfour.eligibility.models import EligibilityDecision
from tenfour.eligibility.schemas import (
    DecisionOut,
    EvaluateIn,
    EvaluationOut,
    OverrideIn,
    PatientEvaluateIn,
    ReasonOut,
)
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize

router = APIRouter(prefix="/api/v1", tags=["eligibility"])
# Triage staff (coordinator, nurse, prescriber) follow a referral to its decision; only prescribers decide.
Follow = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
Decide = Annotated[Ctx, Depends(authorize(Permission.ELIGIBILITY_DECIDE))]
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
          404: {"description": "No such patient or decision in your clinics"},
          409: {"description": "Conflicts with the decision's state"},
          422: {"description": "Unknown term or impossible value, naming the field and the rule"}}


@router.post("/eligibility/evaluate", response_model=EvaluationOut, responses=ERRORS)
def evaluate(data: EvaluateIn, db: DbSession, ctx: Follow) -> EvaluationOut:
    """Evaluate screening answers with your clinic's lines; nothing is stored. The outcome is the most severe
    rule that fired (``excluded`` > ``review`` > ``eligible``); every reason names its rule and its source."""
    decision = service.evaluate(db, ctx, data)
    return EvaluationOut(outcome=decision.outcome.value, rules_version=decision.rules_version,
                         reasons=[ReasonOut(rule=r.rule, outcome=r.outcome.value, message=r.message, source=r.source)
                                  for r in decision.reasons])


def _out(decision: EligibilityDecision) -> DecisionOut:
    return DecisionOut.model_validate(decision)


@router.get("/patients/{patient_id}/eligibility", response_model=list[DecisionOut], responses=ERRORS)
def list_decisions(patient_id: RecordId, db: DbSession, ctx: Follow) -> list[DecisionOut]:
    """A patient's decisions, newest first, each with its rules version, inputs, thresholds and any override."""
    _, rows = service.decisions(db, ctx, patient_id)
    return [_out(row) for row in rows]


@router.post("/patients/{patient_id}/eligibility", response_model=DecisionOut, status_code=201, responses=ERRORS)
def decide(patient_id: RecordId, data: PatientEvaluateIn, db: DbSession, ctx: Decide) -> DecisionOut:
    """Evaluate and store a decision. Fields left out come from the intake screening; age comes from the date of
    birth and the C-SSRS level from the latest screen."""
    return _out(service.evaluate_patient(db, ctx, patient_id, data))


@router.post("/patients/{patient_id}/eligibility/{decision_id}/override", response_model=DecisionOut,
             responses=ERRORS)
def override(patient_id: RecordId, decision_id: RecordId, data: OverrideIn, db: DbSession, ctx: Decide
             ) -> DecisionOut:
    """Override the latest ``review`` or ``excluded`` decision with a written reason (audited, shown ever after)."""
    return _out(service.override(db, ctx, patient_id, decision_id, data.outcome, data.reason))
