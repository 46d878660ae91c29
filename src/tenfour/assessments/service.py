"""Use cases of instruments and assessments: score, submit, correct, and raise safety alerts at once.

Never commits. A rejected submission stores nothing (the request's transaction rolls back).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, AlertKind, Severity
from tenfour.assessments import repository
from tenfour.assessments.models import Assessment, AssessmentContext, EnteredBy
from tenfour.audit.service import record
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core.errors import CoreError
from tenfour.core.instruments.base import CLINICIAN, ScoreResult
from tenfour.db import utcnow
from tenfour.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenfour.patients import service as patients
from tenfour.patients.models import Patient

PATIENT_CONTEXTS = frozenset({AssessmentContext.INTAKE, AssessmentContext.CHECKIN, AssessmentContext.AD_HOC,
                              AssessmentContext.AFTER_FIRST_INFUSION_24H})
CLOCK_SKEW = timedelta(minutes=5)
OLDEST_BACKFILL = timedelta(days=730)  # paper forms entered later: up to two years back

# Safety flags that raise an urgent alert the moment they are stored (DESIGN.md: never delayed, never merged).
PHQ9_ITEM9_TITLE = "PHQ-9 item 9 answered above 0: same-day suicide-risk assessment needed"
CSSRS_HIGH_TITLE = "C-SSRS screener: high risk - start the crisis workflow now"


def cutoff_for(db: Session, clinic_id: int | None, instrument_id: str) -> int | None:
    instrument = instruments.get(instrument_id)
    if not instrument.accepts_cutoff:
        return None
    if clinic_id is None:
        return None
    return int(effective_policy(db, clinic_id)["pcl5.provisional_cutoff"])


def score(db: Session, instrument_id: str, answers: dict[str, Any], version: str | None,
          clinic_id: int | None) -> ScoreResult:
    try:
        return instruments.score(instrument_id, answers, version=version,
                                 cutoff=cutoff_for(db, clinic_id, instrument_id))
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None


def _urgent_alerts(result: ScoreResult, answers: dict[str, int]) -> list[tuple[AlertKind, str, dict[str, str]]]:
    """(kind, title, reason) for each urgent safety finding in one scored administration."""
    found = []
    if result.instrument_id == "phq9" and "suicidal_ideation" in result.flags:
        value = answers["q9"]
        label = instruments.get("phq9").item("q9").label_of(value)
        found.append((AlertKind.SUICIDAL_IDEATION, PHQ9_ITEM9_TITLE,
                      {"rule": "phq9_item9", "message": f'PHQ-9 item 9 = {value} ("{label}")'}))
    if "imminent_risk" in result.flags:
        found.append((AlertKind.IMMINENT_RISK, CSSRS_HIGH_TITLE,
                      {"rule": "cssrs_high", "message": "C-SSRS screener risk level high "
                                                        "(intent, plan, or suicidal behaviour in the past 3 months)"}))
    return found


def _raise_safety_alerts(db: Session, ctx: Ctx, patient: Patient, assessment: Assessment,
                         result: ScoreResult) -> list[Alert]:
    return [
        alerts.raise_alert(db, ctx, clinic_id=patient.clinic_id, patient_id=patient.id, severity=Severity.URGENT,
                           kind=kind.value, title=title, reasons=[reason], source_type="assessment",
                           source_id=assessment.id)
        for kind, title, reason in _urgent_alerts(result, assessment.answers)
    ]


def submit(db: Session, ctx: Ctx, patient_id: int, *, instrument_id: str, answers: dict[str, Any],
           version: str | None = None, context: AssessmentContext = AssessmentContext.AD_HOC,
           administered_at: datetime | None = None) -> tuple[Assessment, list[Alert]]:
    """Validate, score and store one administration; raise urgent alerts for safety flags at once."""
    assert ctx.principal is not None
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    by_patient = not ctx.principal.is_staff
    try:
        instrument = instruments.get(instrument_id)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    if by_patient:
        if context not in PATIENT_CONTEXTS:
            raise ValidationFailed.single("context", "patient_context",
                                          "patients submit intake, check-in or ad hoc questionnaires only")
        if instrument.administration == CLINICIAN:
            raise Forbidden(f"{instrument.short_title} is completed by clinic staff.")
    now = utcnow()
    when = administered_at or now
    if when.tzinfo is None:
        raise ValidationFailed.single("administered_at", "timezone", "must include a time zone (e.g. Z)")
    if when > now + CLOCK_SKEW:
        raise ValidationFailed.single("administered_at", "not_future", "cannot be in the future")
    if when < now - OLDEST_BACKFILL:
        raise ValidationFailed.single("administered_at", "too_old", "cannot be more than two years ago")
    if by_patient and administered_at is not None and abs(now - when) > CLOCK_SKEW:
        raise ValidationFailed.single("administered_at", "patient_now", "is set by the clinic for your answers")
    result = score(db, instrument_id, answers, version, patient.clinic_id)
    assessment = new_assessment(patient, result, context, when,
                                EnteredBy.PATIENT if by_patient else EnteredBy.STAFF, ctx.actor.user_id)
    db.add(assessment)
    db.flush()
    record(db, ctx.actor, "assessment.create", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="assessment", record_id=assessment.id,
           detail={"instrument": instrument.id, "context": context.value, "flags": list(result.flags)})
    raised = _raise_safety_alerts(db, ctx, patient, assessment, result)
    return assessment, raised


def new_assessment(patient: Patient, result: ScoreResult, context: AssessmentContext, administered_at: datetime,
                   entered_by: EnteredBy, user_id: int | None) -> Assessment:
    """The row for one scored administration (not yet added to the session)."""
    return Assessment(
        clinic_id=patient.clinic_id, patient_id=patient.id, instrument_id=result.instrument_id,
        instrument_version=result.version, context=context.value, answers=dict(result.answered_items),
        total=result.total, band=result.band, risk_level=result.risk_level, flags=list(result.flags),
        result=_result_json(result), entered_by=entered_by.value, entered_by_user_id=user_id,
        administered_at=administered_at,
    )


def correct(db: Session, ctx: Ctx, assessment_id: int, answers: dict[str, Any],
            reason: str) -> tuple[Assessment, list[Alert]]:
    """A correction is a new version with a reason; the earlier version stays, marked superseded."""
    original = get_assessment(db, ctx, assessment_id)
    if repository.is_superseded(db, original.id):
        raise Conflict("This version has already been corrected; correct the latest version instead.")
    patient = patients.get_patient(db, ctx, original.patient_id, audit_action=None)
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed.single("reason", "required", "say why the answers are corrected")
    result = score(db, original.instrument_id, answers, original.instrument_version, patient.clinic_id)
    correction = Assessment(
        clinic_id=original.clinic_id, patient_id=original.patient_id, instrument_id=original.instrument_id,
        instrument_version=original.instrument_version, context=original.context,
        answers=dict(result.answered_items), total=result.total, band=result.band, risk_level=result.risk_level,
        flags=list(result.flags), result=_result_json(result), entered_by=EnteredBy.STAFF.value,
        entered_by_user_id=ctx.actor.user_id, administered_at=original.administered_at,
        supersedes_id=original.id, version_number=original.version_number + 1, correction_reason=reason[:1000],
    )
    db.add(correction)
    db.flush()
    record(db, ctx.actor, "assessment.correct", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="assessment", record_id=correction.id,
           detail={"supersedes": original.id, "reason": reason[:200], "total_before": original.total,
                   "total_after": correction.total})
    new_flags = set(result.flags) - set(original.flags or [])
    raised = []
    if new_flags:
        filtered = ScoreResult(**{**asdict(result), "flags": [f for f in result.flags if f in new_flags]})
        raised = _raise_safety_alerts(db, ctx, patient, correction, filtered)
    return correction, raised


def get_assessment(db: Session, ctx: Ctx, assessment_id: int, patient_id: int | None = None) -> Assessment:
    assert ctx.principal is not None
    assessment = repository.by_id(db, assessment_id)
    if assessment is None or (patient_id is not None and assessment.patient_id != patient_id):
        raise NotFound("No such assessment.")
    try:
        patients.get_patient(db, ctx, assessment.patient_id, audit_action=None)
    except NotFound:
        raise NotFound("No such assessment.") from None  # word for word the answer for a missing one
    record(db, ctx.actor, "assessment.view", clinic_id=assessment.clinic_id, patient_id=assessment.patient_id,
           record_type="assessment", record_id=assessment.id)
    return assessment


def list_for_patient(db: Session, ctx: Ctx, patient_id: int) -> tuple[Patient, list[Assessment], set[int]]:
    patient = patients.get_patient(db, ctx, patient_id, audit_action="assessment.list")
    return patient, repository.for_patient(db, patient.id), repository.superseded_ids(db, patient.id)


def _result_json(result: ScoreResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("answered_items", None)
    return data
