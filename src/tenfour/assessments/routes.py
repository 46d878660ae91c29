"""JSON API: instrument definitions, scoring without saving, assessments, FHIR."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tenfour.assessments import service
from tenfour.assessments.models import Assessment
from tenfour.assessments.schemas import (
    AssessmentIn,
    AssessmentOut,
    CorrectionIn,
    InstrumentOut,
    InstrumentSummary,
    ItemOut,
    OptionOut,
    ScoreIn,
    ScoreOut,
)
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core.errors import CoreError
from tenfour.core.instruments.base import Instrument
from tenfour.errors import NotFound
from tenfour.fhir import instruments as fhir
from tenfour.patients import repository as patients_repository
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize, signed_in
from tenfour.web.idempotency import IdempotencyKeyHeader, json_once

router = APIRouter(prefix="/api/v1", tags=["instruments and assessments"])
ERRORS = {401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
          404: {"description": "Not found in your clinics"}, 422: {"description": "Invalid answers"}}


def _instrument(instrument_id: str) -> Instrument:
    try:
        return instruments.get(instrument_id)
    except CoreError:
        raise NotFound(f"No instrument '{instrument_id}'.") from None


def _summary(instrument: Instrument) -> dict[str, Any]:
    return {"id": instrument.id, "version": instrument.version, "title": instrument.title,
            "short_title": instrument.short_title, "recall_period": instrument.recall_period,
            "administration": instrument.administration, "item_count": len(instrument.items),
            "max_total": instrument.max_total, "text_shipped": instrument.text_shipped}


def _out(assessment: Assessment, superseded: set[int], alerts: list[int] | None = None) -> AssessmentOut:
    out = AssessmentOut.model_validate(assessment)
    out.is_current = assessment.id not in superseded
    out.alerts_raised = alerts or []
    return out


@router.get("/instruments", response_model=list[InstrumentSummary])
def list_instruments(_: Annotated[Ctx, Depends(signed_in)]) -> list[dict[str, Any]]:
    """Every instrument TenFour ships."""
    return [_summary(i) for i in instruments.all_instruments()]


@router.get("/instruments/{instrument_id}", response_model=InstrumentOut, responses=ERRORS)
def get_instrument(instrument_id: str, _: Annotated[Ctx, Depends(signed_in)]) -> InstrumentOut:
    """Items with their ids and answer options, the licence and the source."""
    instrument = _instrument(instrument_id)
    items = [ItemOut(id=i.id, number=i.number, text=i.text, cluster=i.cluster,
                     options=[OptionOut(value=o.value, label=o.label) for o in i.options],
                     asked_when={"item": i.asked_when[0], "value": i.asked_when[1]} if i.asked_when else None)
             for i in instrument.items]
    return InstrumentOut(**_summary(instrument), instructions=instrument.instructions, stem=instrument.stem,
                         items=items, licence=instrument.licence, source=instrument.source,
                         text_source=instrument.text_source)


@router.post("/instruments/{instrument_id}/score", response_model=ScoreOut, responses=ERRORS)
def score_instrument(instrument_id: str, data: ScoreIn, request: Request, db: DbSession,
                     ctx: Annotated[Ctx, Depends(signed_in)]) -> ScoreOut:
    """Score answers without saving anything. The PCL-5 cutoff is your clinic's policy."""
    _instrument(instrument_id)
    assert ctx.principal is not None
    if ctx.principal.is_staff:
        clinic_id = active_clinic_id(ctx.principal)
    else:
        own = patients_repository.by_user_id(db, ctx.principal.user.id)
        clinic_id = own.clinic_id if own else None
    result = service.score(db, instrument_id, data.answers, data.version, clinic_id)
    return ScoreOut(instrument_id=result.instrument_id, version=result.version, total=result.total,
                    max_total=result.max_total, subscales=result.subscales, band=result.band,
                    band_label=result.band_label, provisional_diagnosis=result.provisional_diagnosis,
                    above_cutoff=result.above_cutoff, cutoff=result.cutoff, risk_level=result.risk_level,
                    flags=result.flags)


@router.get("/instruments/{instrument_id}/fhir", responses=ERRORS)
def instrument_fhir(instrument_id: str, request: Request, _: Annotated[Ctx, Depends(signed_in)]) -> dict[str, Any]:
    """The instrument as a FHIR R4 Questionnaire."""
    return fhir.questionnaire(_instrument(instrument_id), request.app.state.settings.base_url)


@router.post("/patients/{patient_id}/assessments", response_model=AssessmentOut, status_code=201,
             responses=ERRORS)
def submit_assessment(patient_id: RecordId, data: AssessmentIn, request: Request, db: DbSession,
                      ctx: Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_WRITE))],
                      idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Store one administration. PHQ-9 item 9 > 0 or C-SSRS high raises an urgent alert at once. The same
    ``Idempotency-Key`` header again stores nothing and returns the first answer."""

    def submit() -> AssessmentOut:
        assessment, raised = service.submit(db, ctx, patient_id, instrument_id=data.instrument_id,
                                            answers=data.answers, version=data.version, context=data.context,
                                            administered_at=data.administered_at)
        return _out(assessment, set(), [a.id for a in raised])

    return json_once(request, db, ctx, idempotency_key, data, 201, submit)


@router.get("/patients/{patient_id}/assessments", response_model=list[AssessmentOut], responses=ERRORS)
def list_assessments(patient_id: RecordId, db: DbSession,
                     ctx: Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]) -> list[AssessmentOut]:
    """Every version of every assessment, oldest first; corrected ones have is_current false."""
    _, assessments, superseded = service.list_for_patient(db, ctx, patient_id)
    return [_out(a, superseded) for a in assessments]


@router.get("/patients/{patient_id}/assessments/{assessment_id}", response_model=AssessmentOut, responses=ERRORS)
def get_assessment(patient_id: RecordId, assessment_id: RecordId, db: DbSession,
                   ctx: Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]) -> AssessmentOut:
    from tenfour.assessments import repository

    assessment = service.get_assessment(db, ctx, assessment_id, patient_id)
    return _out(assessment, repository.superseded_ids(db, assessment.patient_id))


@router.post("/patients/{patient_id}/assessments/{assessment_id}/corrections", response_model=AssessmentOut,
             status_code=201, responses=ERRORS)
def correct_assessment(patient_id: RecordId, assessment_id: RecordId, data: CorrectionIn, db: DbSession,
                       ctx: Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_CORRECT))]) -> AssessmentOut:
    """A corrected version with a reason. The original is kept and marked superseded."""
    service.get_assessment(db, ctx, assessment_id, patient_id)
    correction, raised = service.correct(db, ctx, assessment_id, data.answers, data.reason)
    return _out(correction, set(), [a.id for a in raised])


@router.get("/patients/{patient_id}/assessments/{assessment_id}/fhir", responses=ERRORS)
def assessment_fhir(patient_id: RecordId, assessment_id: RecordId, request: Request, db: DbSession,
                    ctx: Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]) -> dict[str, Any]:
    """A FHIR R4 Bundle: the QuestionnaireResponse and the Observation of its score."""
    assessment = service.get_assessment(db, ctx, assessment_id, patient_id)
    return fhir.assessment_bundle(assessment, request.app.state.settings.base_url)
