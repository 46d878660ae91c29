"""The nurse's session screen on a tablet: one page per session that shows the step it is at on top (pre-checks,
dose, pump and vitals, recovery and discharge) and everything charted below. Every form posts back here; an error is
shown beside its field on the same page and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import policy
from tenfour.assessments import repository as assessments_repository
from tenfour.context import Ctx
from tenfour.core import infusion as core
from tenfour.core import instruments
from tenfour.errors import NotFound, ReauthRequired, TenFourError, ValidationFailed
from tenfour.infusions import clock, doses, monitoring, prechecks, repository, service, views
from tenfour.infusions.models import AdverseEventType, AdverseOutcome, AdverseSeverity, VitalsAction
from tenfour.infusions.schemas import AdverseEventIn, DischargeIn, DoseIn, PrecheckIn, VitalsIn
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, confirm_recent_sign_in, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Chart = Annotated[Ctx, Depends(authorize(Permission.INFUSION_CHART))]
Prescribe = Annotated[Ctx, Depends(authorize(Permission.DOSE_CHANGE))]
SEDATION = [("alert", "Alert"), ("drowsy", "Drowsy"), ("responds_to_voice", "Responds to voice"),
            ("responds_to_touch", "Responds to touch"), ("unresponsive", "Unresponsive")]
LEVEL_WORDS = {"ok": "OK", "caution": "Caution", "notify": "NOTIFY", "hold": "HOLD", "stop": "STOP"}


def local_input(value: str | None, tz: str, field: str) -> datetime | None:
    """A datetime-local form value read in the clinic's time zone."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(field, "datetime", "use a date and time like 2026-11-25T14:30") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(tz))


def page_context(db: Session, ctx: Ctx, session_id: int, *, audit: bool = True) -> dict[str, Any]:
    session = service.get_session(db, ctx, session_id, audit_action="infusion.view" if audit else None)
    clinic = service.clinic_of(db, session)
    rules = service.rules_for(db, clinic)
    patient = service.patient_of(db, ctx, session)
    now = clock.now()
    state = views.load_state(db, session, patient, rules, now)
    plan = repository.plan(db, session.plan_id)
    checks = repository.prechecks(db, session.id)
    all_doses = repository.doses(db, session.id)
    readings = repository.vitals(db, session.id)
    step = session.step
    weight_on_file = repository.latest_weight(db, patient.id)
    if weight_on_file is not None:
        age = (now - weight_on_file.weight_measured_at).days
        if age > rules.prechecks.max_weight_age_days:
            weight_on_file = None
    duty = None
    if step is core.Step.ARRIVED:
        duty = prechecks.duty_preview(db, session, patient, clinic, rules, now)
    readiness = None
    if step is core.Step.RECOVERY:
        readiness = service.readiness(db, session, rules, alert_and_oriented=True, escort_present=True, now=now)
    cadss = (assessments_repository.by_id(db, session.cadss_assessment_id)
             if session.cadss_assessment_id else None)
    last_round = checks[-1] if checks else None
    return {
        "session": session, "patient": patient, "clinic": clinic, "plan": plan, "rules": rules, "state": state,
        "step": step, "steps": core.ORDER, "prechecks": checks, "latest_precheck": checks[-1] if checks else None,
        "doses": all_doses, "dose": state.dose, "readings": readings, "pump": repository.pump_events(db, session.id),
        "adverse_events": repository.adverse_events(db, session.id), "discharge": repository.discharge(db, session.id),
        "duty": duty, "readiness": readiness, "cadss": cadss, "cadss_instrument": instruments.get("cadss6"),
        "weight_on_file": weight_on_file, "names": views.people(db, session), "now": now,
        "needs_height": rules.dosing.weight_basis in ("ideal", "adjusted"),
        "sedation_choices": SEDATION, "level_words": LEVEL_WORDS,
        "event_type_choices": [(t.value, t.label) for t in AdverseEventType],
        "severity_choices": [(s.value, s.value.capitalize()) for s in AdverseSeverity],
        "outcome_choices": [(o.value, o.label) for o in AdverseOutcome], "actions": list(VitalsAction),
        "n": views.number,
        "errors": {}, "values": {}, "Step": core.Step,
        "precheck_defaults": precheck_defaults(last_round, readings, clinic.timezone) if last_round else {},
    }


def precheck_defaults(last: Any, readings: list[Any], tz: str) -> dict[str, Any]:
    """What the last (failed) round recorded, so the nurse only changes what blocked it."""
    values: dict[str, Any] = {"weight_kg": views.number(last.weight_kg), "fasting_hours": views.number(
        last.fasting_hours), "escort_name": last.escort_name, "escort_confirmed": last.escort_confirmed,
        "pregnancy_result": last.pregnancy_result, "height_cm": views.number(last.height_cm)}
    if last.next_shift_source == "asked":
        if last.next_shift_at:
            values["next_shift_at"] = last.next_shift_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
        else:
            values["no_shift_in_window"] = True
    reading = next((r for r in readings if r.id == last.vitals_id), None)
    if reading is not None:
        values.update({"systolic_bp": reading.systolic_bp, "diastolic_bp": reading.diastolic_bp,
                       "heart_rate": reading.heart_rate, "spo2": reading.spo2,
                       "respiratory_rate": reading.respiratory_rate, "sedation": reading.sedation})
    return {k: v for k, v in values.items() if v not in (None, "")}


def show(request: Request, db: Session, ctx: Ctx, session_id: int, *, form: str | None = None,
         errors: FormErrors | None = None, values: dict[str, Any] | None = None, status_code: int = 200,
         audit: bool = True) -> Response:
    context = page_context(db, ctx, session_id, audit=audit)
    if form is not None:
        context["errors"] = {form: errors or FormErrors()}
        context["values"] = {form: values or {}}
    return render(request, db, "infusions/session.html", context, status_code=status_code, nav_key="chairside")


@router.get("/infusions/{session_id}")
def session_page(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return show(request, db, ctx, session_id)


def _back(request: Request, session_id: int, message: str, kind: str = "success",
          anchor: str = "now") -> Response:
    return flash(request, RedirectResponse(f"/infusions/{session_id}#{anchor}", status_code=303), message, kind)


async def _act(request: Request, db: Session, ctx: Ctx, session_id: int, form: str,
               action: Callable[[dict[str, Any]], str | tuple[str, str]]) -> Response:
    """Run one form's action; on a refusal show the page again with the errors beside the form's fields. A
    refusal rolls back everything this request did (the page is re-rendered after the rollback)."""
    form_data = await request.form()
    if "reauth_password" in form_data:  # re-posted from the re-authentication page (a dose override)
        await confirm_recent_sign_in(request, db, ctx)
    values = form_values(form_data, multi=frozenset({"actions"}))
    values.pop("reauth_password", None)
    values.pop("reauth_code", None)
    try:
        outcome = action(values)
    except (NotFound, ReauthRequired):
        raise
    except TenFourError as error:
        db.rollback()
        return show(request, db, ctx, session_id, form=form, errors=errors_from(error), values=values,
                    status_code=error.status_code, audit=False)
    message, kind = outcome if isinstance(outcome, tuple) else (outcome, "success")
    if values.get("return_to") == "board":
        chair = str(values.get("chair_id") or "")
        anchor = f"#chair-{chair}" if chair.isdigit() else ""
        return flash(request, RedirectResponse(f"/chairside{anchor}", status_code=303), message, kind)
    return _back(request, session_id, message, kind)


def _model(model: type[BaseModel], values: dict[str, Any]) -> Any:
    data, errors = parse(model, values)
    if data is None:
        from tenfour.errors import Problem

        problems = [Problem(field, "invalid", message) for field, message in errors.items()]
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    return data


def _decimal(values: dict[str, Any], field: str) -> Decimal | None:
    raw = values.get(field) or None
    if raw is None:
        return None
    try:
        number = Decimal(str(raw).strip())
    except ArithmeticError:
        raise ValidationFailed.single(field, "number", "must be a number") from None
    if not number.is_finite():
        raise ValidationFailed.single(field, "number", "must be a finite number")
    return number


def _only(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in names}


@router.post("/infusions/{session_id}/arrive")
async def arrive(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "arrive",
                      lambda v: (service.arrive(db, ctx, session_id), "Checked in: start the pre-checks.")[1])


PRECHECK_FIELDS = ("weight_kg", "height_cm", "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate",
                   "sedation", "fasting_hours", "escort_confirmed", "escort_name", "pregnancy_result",
                   "no_shift_in_window")


@router.post("/infusions/{session_id}/prechecks")
async def record_prechecks(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> tuple[str, str]:
        session = service.get_session(db, ctx, session_id, audit_action=None)
        tz = service.clinic_of(db, session).timezone
        fields = _only(values, *PRECHECK_FIELDS)
        for box in ("escort_confirmed", "no_shift_in_window"):
            fields[box] = bool(values.get(box))
        measured = None
        if values.get("use_weight_on_file"):
            on_file = repository.latest_weight(db, session.patient_id)
            if on_file is None:
                raise ValidationFailed.single("weight_kg", "required", "no weight on file: weigh the patient")
            fields["weight_kg"] = str(on_file.weight_kg)
            measured = on_file.weight_measured_at
        data = _model(PrecheckIn, fields)
        shift = local_input(values.get("next_shift_at"), tz, "next_shift_at")
        row, result = prechecks.record_prechecks(db, ctx, session_id, prechecks.PrecheckInput(
            **{**data.model_dump(), "weight_measured_at": measured, "next_shift_at": shift}))
        if row.passed:
            return ("Pre-checks passed" + (" with the prescriber's override." if row.passed_by_override else ".")
                    + " Calculate the dose next.", "success")
        return (f"Pre-checks not passed: {len(result.blocking)} check(s) block the infusion. See below.", "error")

    return await _act(request, db, ctx, session_id, "prechecks", action)


@router.post("/infusions/{session_id}/duty-override")
async def duty_override(request: Request, db: DbSession, ctx: Prescribe, session_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "override", lambda v: (
        prechecks.record_duty_override(db, ctx, session_id, v.get("reason")),
        "Override of the no-duty window recorded.")[1])


@router.post("/infusions/{session_id}/dose")
async def calculate_dose(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> str:
        data = _model(DoseIn, _only(values, "dose_mg_per_kg", "duration_min", "concentration_mg_per_ml",
                                    "weight_basis", "height_cm", "change_reason"))
        dose = doses.calculate_for_session(db, ctx, session_id, doses.DoseInput(**data.model_dump()))
        return (f"Dose {dose.dose_mg} mg: {dose.volume_ml} mL at {dose.rate_ml_per_h} mL/h. "
                "A second person verifies it next.")

    return await _act(request, db, ctx, session_id, "dose", action)


@router.post("/infusions/{session_id}/dose/{dose_id}/verify")
async def verify_dose(request: Request, db: DbSession, ctx: Chart, session_id: RecordId,
                      dose_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "verify", lambda v: (
        doses.verify(db, ctx, session_id, dose_id), "Dose verified by a second person.")[1])


@router.post("/infusions/{session_id}/start")
async def start(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "start", lambda v: (
        service.start_infusion(db, ctx, session_id), "Infusion started. First vitals are due in 10 minutes.")[1])


@router.post("/infusions/{session_id}/pump")
async def pump(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> str:
        parsed = _decimal(values, "rate_ml_per_h")
        event = service.pump_action(db, ctx, session_id, str(values.get("action") or ""), rate_ml_per_h=parsed,
                                    note=values.get("note"))
        return {"pause": "Infusion paused.", "resume": "Infusion resumed.",
                "rate": f"Rate set to {event.rate_ml_per_h} mL/h."}[event.action]

    return await _act(request, db, ctx, session_id, "pump", action)


def _vitals_message(row: Any) -> tuple[str, str]:
    level = row.level
    if level == "stop":
        return ("STOP level: stop the infusion now and call the prescriber; record what you did below.", "error")
    if level == "notify":
        return ("NOTIFY level: tell the prescriber now; record what you did below.", "error")
    if level == "caution":
        return ("Vitals recorded: caution.", "warning")
    return ("Vitals recorded: within the lines.", "success")


@router.post("/infusions/{session_id}/vitals")
async def record_vitals(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> tuple[str, str]:
        data = _model(VitalsIn, _only(values, "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate",
                                      "sedation"))
        row, _ = monitoring.record_vitals(db, ctx, session_id, monitoring.VitalsInput(**data.model_dump()))
        return _vitals_message(row)

    return await _act(request, db, ctx, session_id, "vitals", action)


@router.post("/infusions/{session_id}/vitals/{reading_id}/actions")
async def record_actions(request: Request, db: DbSession, ctx: Chart, session_id: RecordId,
                         reading_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> str:
        parsed = _decimal(values, "new_rate_ml_per_h")
        actions = values.get("actions") or []
        monitoring.record_actions(db, ctx, session_id, reading_id, list(actions), values.get("note"), parsed)
        return "Actions recorded; the alert is resolved."

    return await _act(request, db, ctx, session_id, f"actions-{reading_id}", action)


@router.post("/infusions/{session_id}/end")
async def end(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "end", lambda v: (
        service.end_infusion(db, ctx, session_id, note=v.get("note") or None),
        "Infusion complete: recovery has begun. Record the CADSS-6.")[1])


@router.post("/infusions/{session_id}/cadss6")
async def cadss6(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> str:
        instrument = instruments.get("cadss6")
        answers = {}
        for item in instrument.items:
            raw = values.get(item.id)
            if raw not in (None, ""):
                answers[item.id] = int(raw) if str(raw).isdigit() else raw
        assessment = monitoring.record_cadss6(db, ctx, session_id, answers)
        return f"CADSS-6 recorded: {assessment.total} of 24."

    return await _act(request, db, ctx, session_id, "cadss6", action)


@router.post("/infusions/{session_id}/adverse-events")
async def adverse_event(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> tuple[str, str]:
        session = service.get_session(db, ctx, session_id, audit_action=None)
        tz = service.clinic_of(db, session).timezone
        data = _model(AdverseEventIn, _only(values, "event_type", "severity", "action_taken", "outcome",
                                            "description"))
        onset = local_input(values.get("onset_at"), tz, "onset_at")
        event, alert = monitoring.record_adverse_event(db, ctx, session_id, monitoring.AdverseEventInput(
            **{**data.model_dump(), "onset_at": onset}))
        if alert is not None:
            return ("Severe adverse event recorded: an urgent alert is on every staff screen.", "error")
        return ("Adverse event recorded.", "success")

    return await _act(request, db, ctx, session_id, "adverse", action)


@router.post("/infusions/{session_id}/discharge")
async def discharge(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    def action(values: dict[str, Any]) -> str:
        data = _model(DischargeIn, {"alert_and_oriented": bool(values.get("alert_and_oriented")),
                                    "escort_present": bool(values.get("escort_present")),
                                    **_only(values, "escort_name", "instructions")})
        row = service.discharge(db, ctx, session_id, alert_and_oriented=data.alert_and_oriented,
                                escort_present=data.escort_present, escort_name=data.escort_name,
                                instructions=data.instructions)
        tz = service.clinic_of(db, service.get_session(db, ctx, session_id, audit_action=None)).timezone
        back = row.return_to_duty_at.astimezone(ZoneInfo(tz))
        return f"Discharged. No duty and no driving before {back:%a %d %b %H:%M}. Print the discharge sheet."

    return await _act(request, db, ctx, session_id, "discharge", action)


@router.post("/infusions/{session_id}/abort")
async def abort(request: Request, db: DbSession, ctx: Chart, session_id: RecordId) -> Response:
    return await _act(request, db, ctx, session_id, "abort", lambda v: (
        service.abort(db, ctx, session_id, v.get("reason")), ("Session aborted.", "warning"))[1])


def can(ctx: Ctx, permission: Permission) -> bool:
    return policy.can(ctx.principal, permission)
