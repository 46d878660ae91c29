"""Pages: a patient fills a questionnaire on a phone; staff administer on a tablet; results; the score chart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import crisis
from tenfour.alerts import repository as alerts_repository
from tenfour.assessments import repository, service
from tenfour.assessments.charts import Point, trajectory_svg
from tenfour.assessments.models import Assessment, AssessmentContext
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core.instruments.base import CLINICIAN, Instrument
from tenfour.errors import NotFound, TenFourError
from tenfour.patients import repository as patients_repository
from tenfour.patients import service as patients
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.idempotency import form_once, principal_of
from tenfour.web.panels import own_panel, patient_panel, treatment_times
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PATIENT_INSTRUMENTS = ("pcl5", "phq9", "gad7")
STAFF_INSTRUMENTS = ("pcl5", "pcl5-week", "pcl5-8", "phq9", "gad7", "cssrs-screen", "cadss6")
CHART_INSTRUMENTS = ("pcl5", "pcl5-week", "phq9", "gad7")
FAMILY = {"pcl5": ("pcl5", "pcl5-week"), "phq9": ("phq9",), "gad7": ("gad7",)}
Read = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]
Write = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_WRITE))]
Correct = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_CORRECT))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]

MEANING = {
    "pcl5": "The PCL-5 measures PTSD symptoms in the past month (0-80). It is a screening score, not a diagnosis.",
    "pcl5-week": "The PCL-5 measures PTSD symptoms in the past week (0-80). It is a screening score, not a diagnosis.",
    "pcl5-8": "The short PCL-5 (8 questions) tracks PTSD symptoms between visits (0-32).",
    "phq9": "The PHQ-9 measures depression symptoms in the past two weeks (0-27).",
    "gad7": "The GAD-7 measures anxiety symptoms in the past two weeks (0-21).",
    "cssrs-screen": "The C-SSRS screener asks about suicidal thoughts and behaviour.",
    "cadss6": "The CADSS-6 measures dissociation during an infusion (0-24).",
}


def _instrument(instrument_id: str, allowed: tuple[str, ...]) -> Instrument:
    if instrument_id not in allowed:
        raise NotFound("No such questionnaire.")
    return instruments.get(instrument_id)


def _answers_from_form(values: dict[str, Any], instrument: Instrument) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in instrument.items:
        raw = values.get(item.id)
        if raw in (None, ""):
            continue
        answers[item.id] = int(raw) if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() else raw
    return answers


def _chart_points(db: Session, patient_id: int) -> list[Point]:
    rows = repository.for_patient(db, patient_id, CHART_INSTRUMENTS, current_only=True)
    return [Point(a.instrument_id, a.administered_at, a.total) for a in rows if a.total is not None]


def _crisis_lines(db: Session, patient: Patient) -> list[crisis.CrisisLine]:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return [*crisis.NATIONAL_LINES, *crisis.parse_clinic_lines(clinic.crisis_lines if clinic else None)]


def _form_context(instrument: Instrument, values: dict[str, Any], errors: FormErrors, **extra: Any) -> dict:
    return {"instrument": instrument, "values": values, "errors": errors, "meaning": MEANING[instrument.id],
            "contexts": list(AssessmentContext), **extra}


# --- The patient's own questionnaires ---------------------------------------------------------------


def _own(db: Session, ctx: Ctx) -> Patient:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patient


@router.get("/me/questionnaires/{instrument_id}")
def own_form(request: Request, db: DbSession, ctx: SelfWrite, instrument_id: str) -> Response:
    _own(db, ctx)
    instrument = _instrument(instrument_id, PATIENT_INSTRUMENTS)
    return render(request, db, "assessments/fill.html", _form_context(
        instrument, {}, FormErrors(), action=f"/me/questionnaires/{instrument.id}", for_patient=True),
        nav_key="me")


@router.post("/me/questionnaires/{instrument_id}")
async def own_submit(request: Request, db: DbSession, ctx: SelfWrite, instrument_id: str) -> Response:
    patient = _own(db, ctx)
    instrument = _instrument(instrument_id, PATIENT_INSTRUMENTS)
    values = form_values(await request.form())
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:  # the same form sent again: the answer the first one got, nothing stored twice
        return once.replay
    try:
        assessment, _ = service.submit(db, ctx, patient.id, instrument_id=instrument.id,
                                       answers=_answers_from_form(values, instrument), version=values.get("version"),
                                       context=AssessmentContext.AD_HOC)
    except TenFourError as error:
        return render(request, db, "assessments/fill.html", _form_context(
            instrument, values, errors_from(error), action=f"/me/questionnaires/{instrument.id}", for_patient=True),
            status_code=422, nav_key="me")
    return once.done(RedirectResponse(f"/me/results/{assessment.id}", status_code=303))


@router.get("/me/results/{assessment_id}")
def own_result(request: Request, db: DbSession, ctx: SelfRead, assessment_id: RecordId) -> Response:
    patient = _own(db, ctx)
    assessment = service.get_assessment(db, ctx, assessment_id, patient.id)
    return render(request, db, "assessments/result.html", {
        "assessment": assessment, "instrument": instruments.get(assessment.instrument_id),
        "meaning": MEANING[assessment.instrument_id], "for_patient": True,
        "crisis_lines": _crisis_lines(db, patient), "urgent": _is_urgent(assessment)}, nav_key="me")


@router.get("/me/charts/scores.svg")
def own_chart(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = _own(db, ctx)
    return _chart_response(db, patient)


def _is_urgent(assessment: Assessment) -> bool:
    flags = set(assessment.flags or [])
    return "imminent_risk" in flags or (assessment.instrument_id == "phq9" and "suicidal_ideation" in flags)


def _chart_response(db: Session, patient: Patient) -> Response:
    cutoff = int(effective_policy(db, patient.clinic_id)["pcl5.provisional_cutoff"])
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    svg = trajectory_svg(_chart_points(db, patient.id), cutoff, treatment_times(db, patient.id),
                         tz=patient.timezone or (clinic.timezone if clinic else "UTC"))
    return Response(svg, media_type="image/svg+xml")


@own_panel("questionnaires", "assessments/_own_panel.html", order=20)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any]:
    current = repository.for_patient(db, patient.id, CHART_INSTRUMENTS, current_only=True)
    return {"questionnaires": [instruments.get(i) for i in PATIENT_INSTRUMENTS], "has_scores": bool(current),
            "latest": {i: next((a for a in reversed(current) if a.instrument_id in FAMILY[i]), None)
                       for i in ("pcl5", "phq9", "gad7")}}


# --- Staff: administer, view, correct ---------------------------------------------------------------


def _staff_form_context(patient: Patient, instrument: Instrument, values: dict[str, Any],
                        errors: FormErrors) -> dict[str, Any]:
    return _form_context(instrument, values, errors, patient=patient, for_patient=False,
                         action=f"/patients/{patient.id}/assessments/new?instrument={instrument.id}",
                         staff_instruments=[instruments.get(i) for i in STAFF_INSTRUMENTS])


@router.get("/patients/{patient_id}/assessments/new")
def staff_form(request: Request, db: DbSession, ctx: Write, patient_id: RecordId,
               instrument: Annotated[str, Query(max_length=30)] = "pcl5") -> Response:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    chosen = _instrument(instrument, STAFF_INSTRUMENTS)
    return render(request, db, "assessments/fill.html", _staff_form_context(patient, chosen, {"context": "ad_hoc"},
                                                                            FormErrors()), nav_key="patients")


@router.post("/patients/{patient_id}/assessments/new")
async def staff_submit(request: Request, db: DbSession, ctx: Write, patient_id: RecordId,
                       instrument: Annotated[str, Query(max_length=30)] = "pcl5") -> Response:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    chosen = _instrument(instrument, STAFF_INSTRUMENTS)
    values = form_values(await request.form())
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:
        return once.replay
    try:
        context = AssessmentContext(values.get("context") or "ad_hoc")
    except ValueError:
        context = AssessmentContext.AD_HOC
    try:
        assessment, raised = service.submit(db, ctx, patient.id, instrument_id=chosen.id,
                                            answers=_answers_from_form(values, chosen), version=values.get("version"),
                                            context=context)
    except TenFourError as error:
        return render(request, db, "assessments/fill.html",
                      _staff_form_context(patient, chosen, values, errors_from(error)), status_code=422,
                      nav_key="patients")
    response = RedirectResponse(f"/patients/{patient.id}/assessments/{assessment.id}", status_code=303)
    if raised:
        return once.done(flash(request, response, "Urgent alert raised for this patient: see the alert banner.",
                               "error"))
    return once.done(flash(request, response, f"{chosen.short_title} saved."))


@router.get("/patients/{patient_id}/assessments/{assessment_id}")
def staff_result(request: Request, db: DbSession, ctx: Read, patient_id: RecordId, assessment_id: RecordId) -> Response:
    assessment = service.get_assessment(db, ctx, assessment_id, patient_id)
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    versions = [a for a in repository.for_patient(db, patient.id, [assessment.instrument_id])
                if a.administered_at == assessment.administered_at]
    superseded = repository.superseded_ids(db, patient.id)
    return render(request, db, "assessments/result.html", {
        "assessment": assessment, "instrument": instruments.get(assessment.instrument_id), "patient": patient,
        "meaning": MEANING[assessment.instrument_id], "for_patient": False, "versions": versions,
        "superseded": superseded, "urgent": _is_urgent(assessment), "crisis_lines": [],
        "alerts": [a for a in alerts_repository.for_patient(db, patient.id)
                   if a.source_type == "assessment" and a.source_id == assessment.id],
        "errors": FormErrors(), "values": dict(assessment.answers)}, nav_key="patients")


@router.post("/patients/{patient_id}/assessments/{assessment_id}/correct")
async def staff_correct(request: Request, db: DbSession, ctx: Correct, patient_id: RecordId,
                        assessment_id: RecordId) -> Response:
    original = service.get_assessment(db, ctx, assessment_id, patient_id)
    instrument = instruments.get(original.instrument_id)
    values = form_values(await request.form())
    try:
        correction, _ = service.correct(db, ctx, assessment_id, _answers_from_form(values, instrument),
                                        str(values.get("reason") or ""))
    except TenFourError as error:
        patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
        return render(request, db, "assessments/result.html", {
            "assessment": original, "instrument": instrument, "patient": patient,
            "meaning": MEANING[original.instrument_id], "for_patient": False, "versions": [original],
            "superseded": repository.superseded_ids(db, patient.id), "urgent": _is_urgent(original),
            "crisis_lines": [], "alerts": [], "errors": errors_from(error), "values": values,
            "show_correction": True}, status_code=422, nav_key="patients")
    return flash(request, RedirectResponse(f"/patients/{patient_id}/assessments/{correction.id}", status_code=303),
                 "Correction saved as a new version; the original is kept.")


@router.get("/patients/{patient_id}/charts/scores.svg")
def staff_chart(request: Request, db: DbSession, ctx: Read, patient_id: RecordId) -> Response:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    return _chart_response(db, patient)


@patient_panel("scores", "assessments/_chart_panel.html", order=20, permission=Permission.ASSESSMENT_READ)
def _scores_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any]:
    rows = repository.for_patient(db, patient.id)
    superseded = {a.supersedes_id for a in rows if a.supersedes_id is not None}  # rows: all of the patient's
    return {"assessments": list(reversed(rows)), "superseded": superseded,
            "staff_instruments": [instruments.get(i) for i in STAFF_INSTRUMENTS],
            "has_chart": any(a.instrument_id in CHART_INSTRUMENTS and a.id not in superseded for a in rows),
            "instrument_titles": {i.id: i.short_title for i in instruments.all_instruments()},
            "clinician_only": {i.id for i in instruments.all_instruments() if i.administration == CLINICIAN}}
