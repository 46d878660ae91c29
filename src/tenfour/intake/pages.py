"""Pages: the invitation (set a password), the patient's resumable intake on a phone, the staff's invitation button
and the intake panels of the chart and of the patient's home."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import crisis, ratelimit
from tenfour.accounts import service as accounts
from tenfour.assessments.pages import MEANING, _answers_from_form, _is_urgent
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core.instruments.base import Instrument
from tenfour.eligibility import service as eligibility
from tenfour.errors import NotFound, TenFourError, ValidationFailed
from tenfour.intake import screening, service
from tenfour.intake.schemas import AboutIn, HealthIn, MeasurementsIn, WorkIn
from tenfour.links.service import LinkInvalid, LinkProblem
from tenfour.patients.models import ContactMethod, Patient, ResponderRole
from tenfour.patients.pages import PATTERN_LABELS
from tenfour.patients.schemas import ROSTER_PATTERNS
from tenfour.policy import Permission
from tenfour.referrals import service as referrals
from tenfour.web.deps import DbSession, RecordId, authorize, public, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.idempotency import form_once, principal_of
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.security import SESSION_COOKIE, is_https
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Public = Annotated[Ctx, Depends(public)]
Triage = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]

CONTACT_LABELS = {"phone": "Phone call", "text": "Text message", "email": "Email"}
SEX_LABELS = {"female": "Female", "male": "Male", "unknown": "Prefer not to say"}
# Patients pick from the fixed patterns; a schedule that fits none is set up with the team ("custom").
PATTERN_OPTIONS = [(p, PATTERN_LABELS[p]) for p in ROSTER_PATTERNS if p != "custom"] + [
    ("custom", "Something else (the team will set it up with you)")]
PLATOON_OPTIONS = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]
PATIENT_INSTRUCTIONS = {
    "cssrs-screen": "These questions ask about thoughts of death or suicide, and about anything you may have done to "
                    "end your life. Answer yes or no. Your care team reads your answers; if some are yes, the team "
                    "will contact you today. You are not in trouble for answering honestly.",
}


def _safe_return(target: str | None, fallback: str) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


def _step_context(intake_form: Any, current: str, **extra: Any) -> dict[str, Any]:
    keys = [s.key for s in service.STEPS]
    return {"steps": service.STEPS, "done": set(intake_form.steps_done), "current": current,
            "number": keys.index(current) + 1 if current in keys else None, "total": len(keys), **extra}


def _sent(form: Any) -> RedirectResponse | None:
    """A sent intake is the clinic's now: its step pages lead back to the summary."""
    return RedirectResponse("/me/intake", status_code=303) if form.is_submitted else None


def _after(form: Any) -> RedirectResponse:
    step = service.next_step(form)
    return RedirectResponse(step.path if step else "/me/intake/review", status_code=303)


def _crisis_lines(db: Session, patient: Patient) -> list[crisis.CrisisLine]:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return [*crisis.NATIONAL_LINES, *crisis.parse_clinic_lines(clinic.crisis_lines if clinic else None)]


# --- The invitation -------------------------------------------------------------------------------------------


def _invalid_link(request: Request, db: Session, problem: LinkProblem) -> Response:
    return render(request, db, "intake/invite_invalid.html", {"problem": problem.value,
                                                              "message": LinkInvalid.MESSAGES[problem]},
                  status_code=410)


def _limit_attempts(request: Request, db: Session, ctx: Ctx) -> str:
    """Refuse (429) an address that has tried many invitation links this hour; the key to count a try against."""
    key = ratelimit.address_key(ctx.actor.ip_address)
    ratelimit.enforce(db, ratelimit.INVITATION_ATTEMPT, key, request.app.state.settings.invitation_attempts_per_hour,
                      ratelimit.HOUR, ratelimit.INVITATION_ATTEMPT_MESSAGE)
    return key


@router.get("/invite/{token}")
def invitation_page(request: Request, db: DbSession, ctx: Public, token: str) -> Response:
    key = _limit_attempts(request, db, ctx)
    try:
        link, patient = service.check_invitation(db, token)
    except LinkInvalid as error:
        ratelimit.hit(db, ratelimit.INVITATION_ATTEMPT, key)  # a wrong or spent link counts; opening yours does not
        return _invalid_link(request, db, error.problem)
    return render(request, db, "intake/invite.html", {"patient": patient, "token": token, "errors": FormErrors(),
                                                      "expires_at": link.expires_at,
                                                      "clinic": clinics_repository.by_id(db, patient.clinic_id)})


@router.post("/invite/{token}")
def invitation_accept(request: Request, db: DbSession, ctx: Public, token: str,
                      password: Annotated[str, Form(max_length=256)] = "",
                      password_confirm: Annotated[str, Form(max_length=256)] = "") -> Response:
    ratelimit.hit(db, ratelimit.INVITATION_ATTEMPT, _limit_attempts(request, db, ctx))  # every try counts
    try:
        user = service.accept_invitation(db, ctx, token, password, password_confirm)
    except LinkInvalid as error:
        return _invalid_link(request, db, error.problem)
    except TenFourError as error:
        link, patient = service.check_invitation(db, token)
        return render(request, db, "intake/invite.html", {
            "patient": patient, "token": token, "errors": errors_from(error), "expires_at": link.expires_at,
            "clinic": clinics_repository.by_id(db, patient.clinic_id)}, status_code=error.status_code)
    settings = request.app.state.settings
    session_token, _ = accounts.open_session(db, user, kind="browser", ip_address=ctx.actor.ip_address,
                                             user_agent=ctx.actor.user_agent)
    response = RedirectResponse("/me/intake", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_token, httponly=True, samesite="lax", path="/",
                        secure=is_https(request, settings))
    return flash(request, response, "Your password is set and you are signed in.")


@router.post("/patients/{patient_id}/invitation")
async def invitation_send(request: Request, db: DbSession, ctx: Triage, patient_id: RecordId) -> Response:
    values = form_values(await request.form())
    target = _safe_return(values.get("return_to"), f"/patients/{patient_id}")
    try:
        service.send_invitation(db, ctx, patient_id, request.app.state.settings.base_url,
                                per_hour=request.app.state.settings.invitations_sent_per_hour)
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return flash(request, RedirectResponse(target, status_code=303), error.message, "error")
    return flash(request, RedirectResponse(target, status_code=303),
                 f"Invitation emailed. The link works once, for {service.INVITATION_TTL.days} days.")


# --- The patient's intake --------------------------------------------------------------------------------------


@router.get("/me/intake")
def intake_home(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient, form = service.own_intake(db, ctx)
    decision = eligibility.latest(db, patient.id) if form.is_submitted else None
    return render(request, db, "intake/hub.html", {
        **_step_context(form, ""), "patient": patient, "form": form, "next": service.next_step(form),
        "decision": decision, "clear_saved": [f"/me/intake/questionnaires/{k}" for k in service.QUESTIONNAIRES],
    }, nav_key="me")


def _about_values(patient: Patient) -> dict[str, Any]:
    return {"preferred_name": patient.preferred_name or "", "date_of_birth": patient.date_of_birth.isoformat(),
            "sex": patient.sex, "preferred_contact": patient.preferred_contact, "phone": patient.phone or "",
            "contact_times": patient.contact_times or ""}


def _about_context(patient: Patient, form: Any, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    return _step_context(form, "about", patient=patient, values=values, errors=errors,
                         sex_options=list(SEX_LABELS.items()),
                         contact_options=[(c.value, CONTACT_LABELS[c.value]) for c in ContactMethod])


@router.get("/me/intake/about")
def about_form(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    if redirect := _sent(form):
        return redirect
    return render(request, db, "intake/about.html", _about_context(patient, form, _about_values(patient),
                                                                   FormErrors()), nav_key="me")


@router.post("/me/intake/about")
async def about_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    values = {k: v for k, v in form_values(await request.form()).items() if k in AboutIn.model_fields}
    model, errors = parse(AboutIn, values)
    if model is not None:
        try:
            return _after(service.save_about(db, ctx, model))
        except ValidationFailed as error:
            errors = errors_from(error)
    return render(request, db, "intake/about.html", _about_context(patient, form, values, errors),
                  status_code=422, nav_key="me")


def _work_values(patient: Patient) -> dict[str, Any]:
    return {"responder_role": patient.responder_role, "agency": patient.agency or "",
            "years_of_service": "" if patient.years_of_service is None else patient.years_of_service,
            "roster_pattern": patient.roster_pattern or "",
            "roster_anchor_date": patient.roster_anchor_date.isoformat() if patient.roster_anchor_date else "",
            "roster_shift_start": patient.roster_shift_start.strftime("%H:%M") if patient.roster_shift_start else "",
            "roster_platoon": patient.roster_platoon or ""}


def _work_context(db: Session, patient: Patient, form: Any, values: dict[str, Any], errors: FormErrors,
                  check: bool = False) -> dict[str, Any]:
    tz = patient.timezone or (clinics_repository.by_id(db, patient.clinic_id).timezone)  # type: ignore[union-attr]
    return _step_context(form, "work", patient=patient, values=values, errors=errors, check=check,
                         shifts=service.upcoming_shifts(db, patient) if check else [], roster_tz=tz,
                         role_options=[(r.value, r.label) for r in ResponderRole], pattern_options=PATTERN_OPTIONS,
                         platoon_options=PLATOON_OPTIONS, next=service.next_step(form),
                         no_duty_h=effective_policy(db, patient.clinic_id)["duty.no_duty_window_h"])


@router.get("/me/intake/work")
def work_form(request: Request, db: DbSession, ctx: SelfWrite, check: bool = False) -> Response:
    patient, form = service.own_intake(db, ctx)
    if redirect := _sent(form):
        return redirect
    return render(request, db, "intake/work.html", _work_context(db, patient, form, _work_values(patient),
                                                                 FormErrors(), check), nav_key="me")


@router.post("/me/intake/work")
async def work_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    values = {k: v for k, v in form_values(await request.form()).items() if k in WorkIn.model_fields}
    model, errors = parse(WorkIn, values)
    if model is not None:
        try:
            form = service.save_work(db, ctx, model)
        except ValidationFailed as error:
            errors = errors_from(error)
        else:
            if model.roster_pattern and model.roster_pattern != "custom":
                return RedirectResponse("/me/intake/work?check=true", status_code=303)  # "are these your shifts?"
            return _after(form)
    return render(request, db, "intake/work.html", _work_context(db, patient, form, values, errors),
                  status_code=422, nav_key="me")


def _intake_instrument(instrument_id: str) -> Instrument:
    if instrument_id not in service.QUESTIONNAIRES:
        raise NotFound("No such questionnaire in intake.")
    instrument = instruments.get(instrument_id)
    if instrument_id in PATIENT_INSTRUCTIONS:  # the staff-facing instructions, worded for the person answering
        instrument = dataclasses.replace(instrument, instructions=PATIENT_INSTRUCTIONS[instrument_id])
    return instrument


def _questionnaire_context(form: Any, instrument: Instrument, values: dict[str, Any], errors: FormErrors,
                           answered: Any = None) -> dict[str, Any]:
    return _step_context(form, instrument.id, instrument=instrument, values=values, errors=errors,
                         meaning=MEANING[instrument.id], contexts=[], for_patient=True, answered=answered,
                         action=f"/me/intake/questionnaires/{instrument.id}")


@router.get("/me/intake/questionnaires/{instrument_id}")
def questionnaire_form(request: Request, db: DbSession, ctx: SelfWrite, instrument_id: str) -> Response:
    patient, form = service.own_intake(db, ctx)
    instrument = _intake_instrument(instrument_id)
    answered = service.intake_assessments(db, patient.id).get(instrument.id)
    template = "intake/answered.html" if instrument.id in form.steps_done else "intake/questionnaire.html"
    return render(request, db, template, _questionnaire_context(form, instrument, {}, FormErrors(), answered),
                  nav_key="me")


@router.post("/me/intake/questionnaires/{instrument_id}")
async def questionnaire_submit(request: Request, db: DbSession, ctx: SelfWrite, instrument_id: str) -> Response:
    patient, form = service.own_intake(db, ctx)
    instrument = _intake_instrument(instrument_id)
    values = form_values(await request.form())
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:  # the same questionnaire sent again: stored once
        return once.replay
    try:
        _, raised = service.submit_questionnaire(db, ctx, instrument.id, _answers_from_form(values, instrument),
                                                 values.get("version"))
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return render(request, db, "intake/questionnaire.html",
                      _questionnaire_context(form, instrument, values, errors_from(error)),
                      status_code=error.status_code, nav_key="me")
    if raised:  # PHQ-9 item 9 above 0 or a high C-SSRS: crisis resources first, at once
        return once.done(RedirectResponse("/me/intake/support", status_code=303))
    return once.done(_after(form))


@router.get("/me/intake/support")
def support_page(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient, form = service.own_intake(db, ctx)
    urgent = any(_is_urgent(a) for a in service.intake_assessments(db, patient.id).values())
    if not urgent:
        return RedirectResponse("/me/intake", status_code=303)
    return render(request, db, "intake/support.html", {**_step_context(form, ""), "patient": patient,
                                                       "crisis_lines": _crisis_lines(db, patient),
                                                       "next": service.next_step(form)}, nav_key="me")


def _health_context(form: Any, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    return _step_context(form, "health", values=values, errors=errors, groups=screening.GROUPS)


@router.get("/me/intake/health")
def health_form(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    _, form = service.own_intake(db, ctx)
    if redirect := _sent(form):
        return redirect
    values = {"conditions": list(form.conditions), "medications": list(form.medications),
              "other_medications": form.other_medications or "", "health_notes": form.health_notes or "",
              "reviewed": "true" if "health" in form.steps_done else ""}
    return render(request, db, "intake/health.html", _health_context(form, values, FormErrors()), nav_key="me")


@router.post("/me/intake/health")
async def health_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    _, form = service.own_intake(db, ctx)
    values = form_values(await request.form(), multi=frozenset({"conditions", "medications"}))
    values = {k: v for k, v in values.items() if k in HealthIn.model_fields}
    model, errors = parse(HealthIn, values)
    if model is not None:
        try:
            return _after(service.save_health(db, ctx, model))
        except ValidationFailed as error:
            errors = errors_from(error)
    return render(request, db, "intake/health.html", _health_context(form, values, errors), status_code=422,
                  nav_key="me")


def _measurement_context(form: Any, values: dict[str, Any], errors: FormErrors, today: date) -> dict[str, Any]:
    return _step_context(form, "measurements", values=values, errors=errors, today=today.isoformat())


@router.get("/me/intake/measurements")
def measurements_form(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    if redirect := _sent(form):
        return redirect
    values: dict[str, Any] = {"weight_unit": "lb", "height_unit": "in"}
    if "measurements" in form.steps_done:
        values.update(systolic_bp=form.systolic_bp or "", diastolic_bp=form.diastolic_bp or "",
                      bp_measured_on=form.bp_measured_on.isoformat() if form.bp_measured_on else "",
                      bp_unknown="true" if form.bp_unknown else "", weight=form.weight_kg or "", weight_unit="kg",
                      weight_measured_on=form.weight_measured_on.isoformat() if form.weight_measured_on else "",
                      height=form.height_cm or "", height_unit="cm")
    return render(request, db, "intake/measurements.html",
                  _measurement_context(form, values, FormErrors(), service.today_for(db, patient)), nav_key="me")


@router.post("/me/intake/measurements")
async def measurements_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    values = {k: v for k, v in form_values(await request.form()).items() if k in MeasurementsIn.model_fields}
    model, errors = parse(MeasurementsIn, values)
    if model is not None:
        try:
            return _after(service.save_measurements(db, ctx, model))
        except ValidationFailed as error:
            errors = errors_from(error)
    return render(request, db, "intake/measurements.html",
                  _measurement_context(form, values, errors, service.today_for(db, patient)), status_code=422,
                  nav_key="me")


def _review_context(db: Session, patient: Patient, form: Any, errors: FormErrors) -> dict[str, Any]:
    return _step_context(form, "", patient=patient, form=form, errors=errors,
                         assessments=service.intake_assessments(db, patient.id),
                         condition_labels=service.screening_labels(form.conditions),
                         medication_labels=service.screening_labels(form.medications),
                         role_labels={r.value: r.label for r in ResponderRole}, pattern_labels=PATTERN_LABELS,
                         contact_labels=CONTACT_LABELS, sex_labels=SEX_LABELS)


@router.get("/me/intake/review")
def review_page(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient, form = service.own_intake(db, ctx)
    return render(request, db, "intake/review.html", _review_context(db, patient, form, FormErrors()), nav_key="me")


@router.post("/me/intake/submit")
async def intake_submit(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient, form = service.own_intake(db, ctx)
    once = form_once(request, db, form_values(await request.form()), principal_of(ctx))
    if once.replay is not None:  # sent twice (a double tap): the first answer, sent once
        return once.replay
    try:
        service.submit_intake(db, ctx)
    except TenFourError as error:
        return render(request, db, "intake/review.html", _review_context(db, patient, form, errors_from(error)),
                      status_code=error.status_code, nav_key="me")
    return once.done(flash(request, RedirectResponse("/me/intake", status_code=303),
                           "Thank you. Your intake is sent."))


# --- Panels ------------------------------------------------------------------------------------------------------


@patient_panel("intake", "intake/_chart_panel.html", order=8, permission=Permission.REFERRAL_TRIAGE)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any]:
    view = service.for_staff(db, patient, chart=True)
    form = view.form
    return {
        "form": form, "invitation": view.invitation, "invitation_state": service.invitation_state(view.invitation),
        "referral": referrals.for_patient(db, patient.id), "assessments": view.assessments,
        "steps": service.STEPS, "done": set(form.steps_done) if form else set(),
        "conditions": [(t, screening.LABELS.get(t, t)) for t in (form.conditions if form else [])],
        "medications": [(t, screening.LABELS.get(t, t)) for t in (form.medications if form else [])],
    }


@own_panel("intake", "intake/_own_panel.html", order=5)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    if patient.status not in service.BEFORE_TREATMENT:
        return None  # treatment has started: the plan and the check-ins speak now
    form = service.repository.form_for_patient(db, patient.id)
    if form is None and patient.status not in service.INTAKE_STATUSES:
        return None  # registered by the clinic without an online intake
    submitted = form is not None and form.is_submitted
    return {"form": form, "submitted": submitted, "done": len(form.steps_done) if form else 0,
            "total": len(service.STEPS), "decision": eligibility.latest(db, patient.id) if submitted else None}
