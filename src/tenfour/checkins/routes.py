"""JSON API of check-ins and relapse detection: the rules as a calculator, a patient's check-ins and state, submitting
a check-in, warning signs, reminder choices, booster proposals and the requests for scheduling."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tenfour import ratelimit
from tenfour.checkins import boosters, courses, detection, repository, service
from tenfour.checkins.models import BoosterRequestStatus, CheckIn, ProposalStatus
from tenfour.checkins.schemas import (
    BoosterRequestOut,
    CheckInOut,
    CheckInSubmit,
    CourseOut,
    CssrsSubmit,
    DecisionIn,
    DeclineIn,
    EvaluateIn,
    EvaluateOut,
    EvaluationOut,
    PatientCheckinsOut,
    PreferencesIn,
    PreferencesOut,
    ProposalOut,
    SubmittedOut,
    WarningSignOut,
    WarningSignsIn,
)
from tenfour.context import Ctx
from tenfour.core import relapse
from tenfour.core.errors import CoreError
from tenfour.errors import NotFound, ValidationFailed
from tenfour.patients import repository as patients_repository
from tenfour.patients import service as patients
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize
from tenfour.web.idempotency import IdempotencyKeyHeader, json_once

router = APIRouter(prefix="/api/v1", tags=["check-ins and relapse"])
Clinical = Annotated[Ctx, Depends(authorize(Permission.ALERT_READ))]
Read = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]
Write = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_WRITE))]
EditRecord = Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]
Prescribe = Annotated[Ctx, Depends(authorize(Permission.PLAN_SIGN))]
ScheduleView = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_VIEW))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
    404: {"description": "Not found in your clinics"}, 409: {"description": "Not possible now (the rule is named)"},
    422: {"description": "Bad input: each problem names the field and the rule"}}


def _clinic_id(ctx: Ctx) -> int:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("You do not work in a clinic yet.")
    return clinic_id


def checkin_out(row: CheckIn) -> CheckInOut:
    return CheckInOut.model_validate(row)


# --- The rules as a calculator ----------------------------------------------------------------------------


@router.post("/relapse/evaluate", response_model=EvaluateOut, responses=ERRORS)
def evaluate(data: EvaluateIn, db: DbSession, ctx: Clinical) -> EvaluateOut:
    """Relapse state and every reason for a history you send, by your clinic's policy (nothing is stored).
    Most severe wins: urgent > act > watch > non_responder > stable. Dates in the future (after ``as_of``) or before
    the course, and scores out of range, are refused (422) naming the field."""
    rules = detection.rules_for(db, _clinic_id(ctx))
    history = relapse.PatientHistory(
        baseline_pcl5=data.baseline_pcl5, course_start=data.course_start, course_end=data.course_end,
        as_of=data.as_of, next_due=data.next_due,
        checkins=[relapse.CheckIn(date=c.date, pcl5=c.pcl5, phq9_item9=c.phq9_item9, cssrs_risk=c.cssrs_risk,
                                  warning_signs=tuple(c.warning_signs or ()), warning_sign_count=c.warning_sign_count)
                  for c in data.checkins])
    try:
        result = relapse.evaluate(history, rules.relapse)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    return EvaluateOut(state=result.state.value, reasons=[{"rule": r.rule.value, "message": r.message}
                                                          for r in result.reasons],
                       responded=result.responded, best_pcl5=result.best_pcl5)


# --- A patient's check-ins -------------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/checkins", response_model=PatientCheckinsOut, responses=ERRORS)
def patient_checkins(patient_id: RecordId, db: DbSession, ctx: Read) -> dict[str, Any]:
    """The course, the relapse state with every reason, and every check-in (due, completed, missed, cancelled)."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action="checkin.list")
    course = repository.current_course(db, patient.id)
    evaluation = repository.evaluation(db, patient.id)
    return {"course": CourseOut.model_validate(course) if course else None,
            "evaluation": EvaluationOut.model_validate(evaluation) if evaluation else None,
            "checkins": [checkin_out(c) for c in repository.patient_checkins(db, patient.id)]}


SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 429: {"description": "Too many check-ins sent for this patient in the last hour (patients only)"}}


def limit_patient_submissions(db: DbSession, per_hour: int, patient_id: int) -> str:
    """Refuse (429) a patient's own check-in when many were stored for them this hour; the key to count one against.

    Staff entering a check-in (from paper, on the phone) are signed in, audited and not limited here."""
    key = f"patient:{patient_id}"
    ratelimit.enforce(db, ratelimit.CHECKIN_SUBMIT, key, per_hour, ratelimit.HOUR, ratelimit.CHECKIN_SUBMIT_MESSAGE)
    return key


@router.post("/patients/{patient_id}/checkins", response_model=SubmittedOut, status_code=201,
             responses=SUBMIT_ERRORS)
def submit_checkin(patient_id: RecordId, data: CheckInSubmit, request: Request, db: DbSession, ctx: Write,
                   idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Submit a check-in (the one due now unless ``checkin_id`` names it; an extra one when nothing is due).
    PHQ-9 item 9 > 0 needs the C-SSRS screen too (here, or later with .../cssrs). The same ``submission_key``
    again returns the first submission (``repeated``) and stores nothing; the same ``Idempotency-Key`` header again
    returns the first answer as it was."""
    answers = service.Answers(pcl5=data.answers.pcl5, phq9=data.answers.phq9, cssrs=data.answers.cssrs)
    assert ctx.principal is not None
    via = "api" if not ctx.principal.is_staff else "staff"

    def submit() -> SubmittedOut:
        # Inside the once-only wrapper: a replayed request (same Idempotency-Key) is neither limited nor counted.
        limit_key = (None if via == "staff" else
                     limit_patient_submissions(db, request.app.state.settings.checkin_submissions_per_hour, patient_id))
        result = service.submit(db, ctx, patient_id, answers, sign_ids=data.warning_signs, note=data.note,
                                checkin_id=data.checkin_id, submission_key=data.submission_key, via=via,
                                completed_at=data.completed_at)
        if limit_key is not None and not result.repeated:
            ratelimit.hit(db, ratelimit.CHECKIN_SUBMIT, limit_key)
        return _submitted(db, result)

    return json_once(request, db, ctx, idempotency_key, data, 201, submit)


def _submitted(db: DbSession, result: service.Submitted) -> SubmittedOut:
    evaluation = repository.evaluation(db, result.checkin.patient_id)
    return SubmittedOut(checkin=checkin_out(result.checkin), alerts_raised=[a.id for a in result.alerts],
                        state=evaluation.state if evaluation else None, repeated=result.repeated,
                        needs_cssrs=result.needs_cssrs, crisis=result.urgent)


@router.post("/patients/{patient_id}/checkins/{checkin_id}/cssrs", response_model=SubmittedOut, status_code=201,
             responses=ERRORS)
def submit_cssrs(patient_id: RecordId, checkin_id: RecordId, data: CssrsSubmit, db: DbSession,
                 ctx: Write) -> SubmittedOut:
    """The C-SSRS screen for a check-in saved with PHQ-9 item 9 above 0 but without it."""
    return _submitted(db, service.submit_cssrs(db, ctx, patient_id, checkin_id, data.answers))


# --- Warning signs ------------------------------------------------------------------------------------------------


def _signs_out(db: DbSession, patient_id: int) -> list[WarningSignOut]:
    return [WarningSignOut(id=s.sign.id, code=s.sign.code, label=s.sign.label, own_words=s.sign.is_own_words,
                           added_at=s.sign.added_at, removed_at=s.sign.removed_at, endorsed=s.endorsed, asked=s.asked)
            for s in service.sign_stats(db, patient_id)]


@router.get("/patients/{patient_id}/warning-signs", response_model=list[WarningSignOut], responses=ERRORS)
def warning_signs(patient_id: RecordId, db: DbSession, ctx: Read) -> list[WarningSignOut]:
    """The patient's warning signs (removed ones too) and how often each showed up in their check-ins."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action="checkin.warning_signs_view")
    return _signs_out(db, patient.id)


@router.put("/patients/{patient_id}/warning-signs", response_model=list[WarningSignOut], responses=ERRORS)
def set_warning_signs(patient_id: RecordId, data: WarningSignsIn, db: DbSession,
                      ctx: EditRecord) -> list[WarningSignOut]:
    """Set the warning signs chosen with the patient: codes from the taught list, and their own words."""
    service.set_warning_signs(db, ctx, patient_id, data.codes, data.own_words)
    return _signs_out(db, patient_id)


# --- The patient's reminder choices -----------------------------------------------------------------------------


def _own(db: DbSession, ctx: Ctx) -> Any:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet.")
    return patient


def _preferences_out(db: DbSession, patient: Any) -> PreferencesOut:
    policy = service.reminder_policy(db, patient.clinic_id)
    row = repository.preference(db, patient.id)
    hour = row.reminder_hour if row and row.reminder_hour is not None else policy.default_hour
    return PreferencesOut(reminder_hour=row.reminder_hour if row else None, effective_hour=hour,
                          reminders_enabled=row.reminders_enabled if row else True,
                          quiet_hours=f"{policy.quiet_start_h:02d}:00-{policy.quiet_end_h:02d}:00",
                          timezone=courses.patient_timezone(db, patient))


@router.get("/me/checkin-preferences", response_model=PreferencesOut, responses=ERRORS)
def my_preferences(db: DbSession, ctx: SelfRead) -> PreferencesOut:
    """When your check-in reminders are emailed (never at night, never during a shift on your roster)."""
    return _preferences_out(db, _own(db, ctx))


@router.put("/me/checkin-preferences", response_model=PreferencesOut, responses=ERRORS)
def set_my_preferences(data: PreferencesIn, db: DbSession, ctx: SelfWrite) -> PreferencesOut:
    patient = _own(db, ctx)
    service.set_preferences(db, ctx, patient, data.reminder_hour, data.reminders_enabled)
    return _preferences_out(db, patient)


# --- Boosters -------------------------------------------------------------------------------------------------


@router.get("/booster-proposals", response_model=list[ProposalOut], responses=ERRORS)
def booster_proposals(db: DbSession, ctx: Clinical) -> list[Any]:
    """Open booster proposals of your clinic, soonest window first."""
    return [p for p, _ in repository.clinic_proposals(db, _clinic_id(ctx), [ProposalStatus.PROPOSED.value])]


@router.post("/booster-proposals/{proposal_id}/accept", response_model=BoosterRequestOut, status_code=201,
             responses=ERRORS)
def accept_proposal(proposal_id: RecordId, data: DecisionIn, db: DbSession, ctx: Prescribe) -> Any:
    """Accept: a booster request (window and priority) goes to scheduling."""
    row = repository.proposal(db, proposal_id)
    course = repository.current_course(db, row.patient_id) if row else None
    return boosters.accept(db, ctx, proposal_id, data.note, service.today_for(course, "UTC"))


@router.post("/booster-proposals/{proposal_id}/decline", response_model=ProposalOut, responses=ERRORS)
def decline_proposal(proposal_id: RecordId, data: DeclineIn, db: DbSession, ctx: Prescribe) -> Any:
    """Decline with the reason (required)."""
    return boosters.decline(db, ctx, proposal_id, data.reason)


@router.get("/booster-requests", response_model=list[BoosterRequestOut], responses=ERRORS)
def booster_requests(db: DbSession, ctx: ScheduleView, status: str = "requested") -> list[Any]:
    """Booster requests of your clinic for scheduling (status requested, scheduled, cancelled or all)."""
    if status != "all" and status not in {s.value for s in BoosterRequestStatus}:
        raise ValidationFailed.single("status", "enum", "must be requested, scheduled, cancelled or all")
    statuses = None if status == "all" else [status]
    return [r for r, _ in repository.clinic_requests(db, _clinic_id(ctx), statuses)]

