"""Check-in pages: the check-in on a phone (from a reminder's link, or signed in), the patient's own view, the chart
panel, the clinic's board and booster proposals, and staff entering a check-in taken by phone."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import crisis, ratelimit
from tenfour.accounts import repository as accounts_repository
from tenfour.audit.service import record
from tenfour.checkins import boosters, clock, courses, reminders, repository, service, views
from tenfour.checkins.models import CheckIn, CheckinCourse, ProposalStatus
from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.errors import Conflict, Forbidden, NotFound, TenFourError, ValidationFailed
from tenfour.links import service as links
from tenfour.links.service import LinkInvalid
from tenfour.patients import repository as patients_repository
from tenfour.patients import service as patients
from tenfour.patients.models import Patient
from tenfour.policy import Permission, Principal, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize, public, verify_csrf
from tenfour.web.forms import FormErrors, form_values
from tenfour.web.idempotency import form_once, link_principal, principal_of
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Public = Annotated[Ctx, Depends(public)]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]
Clinical = Annotated[Ctx, Depends(authorize(Permission.ALERT_READ))]
Read = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]
Write = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_WRITE))]
EditRecord = Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]
Prescribe = Annotated[Ctx, Depends(authorize(Permission.PLAN_SIGN))]
RECEIPT_TTL_S = 2 * 3600  # the thank-you page after a link check-in (and its C-SSRS follow-up) works this long
MULTI = frozenset({"sign", "codes"})


# --- Helpers --------------------------------------------------------------------------------------------------


def _crisis_lines(db: Session, patient: Patient) -> list[crisis.CrisisLine]:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return [*crisis.NATIONAL_LINES, *crisis.parse_clinic_lines(clinic.crisis_lines if clinic else None)]


def _answers(values: dict[str, Any], pcl5_form: str, keep_cssrs: bool = True) -> service.Answers:
    def take(prefix: str, instrument_id: str) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for item in instruments.get(instrument_id).items:
            raw = values.get(f"{prefix}-{item.id}")
            if raw in (None, ""):
                continue
            answers[item.id] = int(raw) if isinstance(raw, str) and raw.strip().isdigit() else raw
        return answers

    phq9 = take("phq9", "phq9")
    cssrs = take("cssrs", "cssrs-screen")
    # On the page the C-SSRS is shown only when PHQ-9 question 9 is above 0; without JavaScript it is always on the
    # page, so answers given with question 9 at 0 are set aside rather than refused (the API refuses them).
    asked = bool(cssrs) and phq9.get("q9") != 0 and keep_cssrs
    return service.Answers(pcl5=take("pcl5", pcl5_form), phq9=phq9, cssrs=cssrs if asked else None)


def _errors(error: TenFourError) -> FormErrors:
    """Problems keyed as the form names its fields: pcl5.q3 -> pcl5-q3 (beside question 3 of the PCL-5)."""
    errors = FormErrors()
    for problem in error.problems:
        key = problem.field.replace(".", "-")
        if key.startswith("cssrs-screen-"):
            key = key.replace("cssrs-screen-", "cssrs-", 1)
        errors.setdefault(key, problem.message)
    if not errors:
        errors["form"] = error.message
    return errors


def _form_context(db: Session, patient: Patient, course: CheckinCourse | None, checkin: CheckIn | None,
                  values: dict[str, Any], errors: FormErrors, *, mode: str, action: str, **extra: Any) -> dict:
    pcl5_form = checkin.pcl5_form if checkin else "pcl5-week"
    sections = [("pcl5", instruments.get(pcl5_form)), ("phq9", instruments.get("phq9"))]
    names = {"pcl5": "Stress question", "phq9": "Mood question", "cssrs": "Safety question"}
    labels = {f"{prefix}-{item.id}": f"{names[prefix]} {item.number}"
              for prefix, instrument in (*sections, ("cssrs", instruments.get("cssrs-screen")))
              for item in instrument.items}
    labels.update({"warning_signs": "Warning signs", "note": "Anything else", "completed_at": "When",
                   "cssrs": "Safety questions", "checkin_id": "Check-in", "submission_key": "This form"})
    return {
        "labels": labels,
        "patient": patient, "course": course, "checkin": checkin, "values": values, "errors": errors, "mode": mode,
        "action": action, "sections": sections, "cssrs": instruments.get("cssrs-screen"),
        "signs": repository.warning_signs(db, patient.id), "chosen_signs": set(values.get("sign") or []),
        "nonce": values.get("submission_key") or secrets.token_urlsafe(18),
        "crisis_lines": _crisis_lines(db, patient), "kind_label": views.kind_label(checkin) if checkin else None,
        "clinic": clinics_repository.by_id(db, patient.clinic_id), **extra,
    }


def _receipt(secret: str, checkin_id: int, expires: int | None = None) -> str:
    expires = expires or int(time.time()) + RECEIPT_TTL_S
    payload = f"{checkin_id}.{expires}"
    signature = hmac.new(secret.encode(), f"checkin-receipt:{payload}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{payload}.{signature}"


def _read_receipt(secret: str, receipt: str) -> int:
    """The check-in a receipt names, if it is genuine and fresh (NotFound otherwise: nothing to show)."""
    parts = receipt.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(receipt) > 100:
        raise NotFound("This page has expired.")
    checkin_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(_receipt(secret, checkin_id, expires), receipt) or expires < time.time():
        raise NotFound("This page has expired. Your answers were saved; sign in to see your check-ins.")
    return checkin_id


def _link_ctx(request: Request, db: Session, patient: Patient, ctx: Ctx) -> Ctx:
    """Who is answering through a reminder's link: the patient's own account, for this check-in only."""
    user = accounts_repository.user_by_id(db, patient.user_id) if patient.user_id else None
    if user is None or not user.is_active:
        raise LinkInvalid(links.LinkProblem.UNKNOWN)
    return Ctx.for_principal(Principal(user, "link"), ctx.actor.ip_address, ctx.actor.user_agent)


def _invalid(request: Request, db: Session, problem: links.LinkProblem) -> Response:
    return render(request, db, "checkins/link_invalid.html", {"problem": problem.value,
                                                              "message": LinkInvalid.MESSAGES[problem]},
                  status_code=410)


def _own(db: Session, ctx: Ctx) -> Patient:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patient


def _done_context(db: Session, row: CheckIn, patient: Patient, *, for_signed_in: bool, cssrs_action: str,
                  values: dict[str, Any] | None = None, errors: FormErrors | None = None) -> dict[str, Any]:
    course = repository.current_course(db, patient.id)
    plan = views.schedule(db, course)
    urgent = (row.phq9_item9 or 0) > 0 or row.cssrs_risk == "high"
    evaluation = repository.evaluation(db, patient.id) if for_signed_in else None
    labels = {f"cssrs-{item.id}": f"Safety question {item.number}" for item in instruments.get("cssrs-screen").items}
    return {"row": row, "patient": patient, "urgent": urgent, "labels": labels,
            "crisis_lines": _crisis_lines(db, patient),
            "next": plan.upcoming[0] if plan.upcoming else None, "reminders": views.reminder_view(db, patient),
            "for_signed_in": for_signed_in, "cssrs": instruments.get("cssrs-screen"), "cssrs_action": cssrs_action,
            "values": values or {}, "errors": errors or FormErrors(), "evaluation": evaluation,
            "clinic": clinics_repository.by_id(db, patient.clinic_id)}


# --- The check-in from a reminder's link (no sign-in: the link is the key, once) -------------------------------


def _limit_bad_links(request: Request, db: Session, ctx: Ctx) -> str:
    """Refuse (429) an address that has tried many bad check-in links this hour; the key to count one against."""
    key = ratelimit.address_key(ctx.actor.ip_address)
    ratelimit.enforce(db, ratelimit.CHECKIN_LINK_FAILURE, key,
                      request.app.state.settings.checkin_link_failures_per_hour, ratelimit.HOUR,
                      ratelimit.CHECKIN_LINK_MESSAGE)
    return key


def _limit_submissions(request: Request, db: Session, patient_id: int) -> str:
    """Refuse (429) a check-in from the patient's side when many were stored for them this hour."""
    key = f"patient:{patient_id}"
    ratelimit.enforce(db, ratelimit.CHECKIN_SUBMIT, key, request.app.state.settings.checkin_submissions_per_hour,
                      ratelimit.HOUR, ratelimit.CHECKIN_SUBMIT_MESSAGE)
    return key


def _count_submission(db: Session, key: str, result: service.Submitted) -> None:
    if not result.repeated:
        ratelimit.hit(db, ratelimit.CHECKIN_SUBMIT, key)


@router.get("/checkin/{token}")
def link_form(request: Request, db: DbSession, ctx: Public, token: str) -> Response:
    bad_links = _limit_bad_links(request, db, ctx)
    try:
        link = links.check(db, token, reminders.LINK_PURPOSE)
        patient = patients_repository.by_id(db, link.patient_id) if link.patient_id else None
        if patient is None:
            raise LinkInvalid(links.LinkProblem.UNKNOWN)
        _link_ctx(request, db, patient, ctx)
    except LinkInvalid as error:
        ratelimit.hit(db, ratelimit.CHECKIN_LINK_FAILURE, bad_links)
        return _invalid(request, db, error.problem)
    record(db, ctx.actor, "checkin.link_open", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="access_link", record_id=link.id)
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    return render(request, db, "checkins/checkin.html", _form_context(
        db, patient, course, checkin, {}, FormErrors(), mode="link", action=f"/checkin/{token}",
        expires_at=link.expires_at))


@router.post("/checkin/{token}")
async def link_submit(request: Request, db: DbSession, ctx: Public, token: str) -> Response:
    values = form_values(await request.form(), MULTI)
    once = form_once(request, db, values, link_principal(token))
    if once.replay is not None:  # the same form sent again: the answer the first one got
        return once.replay
    key = values.get("submission_key") or None
    secret = request.app.state.secret_key
    bad_links = _limit_bad_links(request, db, ctx)
    try:
        link = links.check(db, token, reminders.LINK_PURPOSE)
    except LinkInvalid as error:
        # The same form sent twice (a double tap, a retry on a bad connection): show what the first one stored.
        repeated = repository.by_submission_key(db, key) if key else None
        if repeated is not None and error.problem == links.LinkProblem.USED:
            return RedirectResponse(f"/checkin/done/{_receipt(secret, repeated.id)}", status_code=303)
        ratelimit.hit(db, ratelimit.CHECKIN_LINK_FAILURE, bad_links)
        return _invalid(request, db, error.problem)
    patient = patients_repository.by_id(db, link.patient_id) if link.patient_id else None
    if patient is None:
        ratelimit.hit(db, ratelimit.CHECKIN_LINK_FAILURE, bad_links)
        return _invalid(request, db, links.LinkProblem.UNKNOWN)
    try:
        answering = _link_ctx(request, db, patient, ctx)
    except LinkInvalid as error:
        ratelimit.hit(db, ratelimit.CHECKIN_LINK_FAILURE, bad_links)
        return _invalid(request, db, error.problem)
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    try:
        limit_key = _limit_submissions(request, db, patient.id)  # refused: the form again, answers kept, with why
        result = service.submit(db, answering, patient.id, _answers(values, checkin.pcl5_form if checkin else
                                                                    "pcl5-week"),
                                sign_ids=_ints(values.get("sign")), note=values.get("note"),
                                checkin_id=checkin.id if checkin else None, submission_key=key, via="link")
    except Conflict as error:
        repeated = repository.by_submission_key(db, key) if key else None
        if repeated is not None:
            return RedirectResponse(f"/checkin/done/{_receipt(secret, repeated.id)}", status_code=303)
        return render(request, db, "checkins/checkin.html", _form_context(
            db, patient, course, checkin, values, _errors(error), mode="link", action=f"/checkin/{token}",
            expires_at=link.expires_at), status_code=409)
    except TenFourError as error:
        return render(request, db, "checkins/checkin.html", _form_context(
            db, patient, course, checkin, values, _errors(error), mode="link", action=f"/checkin/{token}",
            expires_at=link.expires_at), status_code=error.status_code)
    links.redeem(db, token, reminders.LINK_PURPOSE)
    _count_submission(db, limit_key, result)
    return once.done(RedirectResponse(f"/checkin/done/{_receipt(secret, result.checkin.id)}", status_code=303))


def _ints(raw: Any) -> list[int]:
    items = raw if isinstance(raw, list) else ([raw] if raw else [])
    out = []
    for item in items:
        try:
            out.append(int(item))
        except (TypeError, ValueError):
            out.append(-1)  # refused by the service as an unknown sign, named in the error
    return out


@router.get("/checkin/done/{receipt}")
def link_done(request: Request, db: DbSession, _: Public, receipt: str) -> Response:
    row = repository.checkin(db, _read_receipt(request.app.state.secret_key, receipt))
    patient = patients_repository.by_id(db, row.patient_id) if row else None
    if row is None or patient is None:
        raise NotFound("This page has expired.")
    return render(request, db, "checkins/done.html", _done_context(
        db, row, patient, for_signed_in=False, cssrs_action=f"/checkin/done/{receipt}/cssrs"))


@router.post("/checkin/done/{receipt}/cssrs")
async def link_cssrs(request: Request, db: DbSession, ctx: Public, receipt: str) -> Response:
    row = repository.checkin(db, _read_receipt(request.app.state.secret_key, receipt))
    patient = patients_repository.by_id(db, row.patient_id) if row else None
    if row is None or patient is None:
        raise NotFound("This page has expired.")
    values = form_values(await request.form())
    try:
        service.submit_cssrs(db, _link_ctx(request, db, patient, ctx), patient.id, row.id,
                             _answers(values, row.pcl5_form).cssrs or {})
    except LinkInvalid as error:
        return _invalid(request, db, error.problem)
    except TenFourError as error:
        return render(request, db, "checkins/done.html", _done_context(
            db, row, patient, for_signed_in=False, cssrs_action=f"/checkin/done/{receipt}/cssrs", values=values,
            errors=_errors(error)), status_code=error.status_code)
    return RedirectResponse(f"/checkin/done/{receipt}", status_code=303)


# --- The check-in, signed in ------------------------------------------------------------------------------------


@router.get("/me/checkin")
def own_form(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = _own(db, ctx)
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    return render(request, db, "checkins/checkin.html", _form_context(
        db, patient, course, checkin, {}, FormErrors(), mode="own", action="/me/checkin"), nav_key="me")


@router.post("/me/checkin")
async def own_submit(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = _own(db, ctx)
    values = form_values(await request.form(), MULTI)
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:
        return once.replay
    key = values.get("submission_key") or None
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    try:
        limit_key = _limit_submissions(request, db, patient.id)  # refused: the form again, answers kept, with why
        result = service.submit(db, ctx, patient.id, _answers(values, checkin.pcl5_form if checkin else "pcl5-week"),
                                sign_ids=_ints(values.get("sign")), note=values.get("note"),
                                checkin_id=checkin.id if checkin else None, submission_key=key, via="signed_in")
    except TenFourError as error:
        repeated = repository.by_submission_key(db, key) if key and isinstance(error, Conflict) else None
        if repeated is not None and repeated.patient_id == patient.id:
            return RedirectResponse(f"/me/checkin/{repeated.id}/done", status_code=303)
        return render(request, db, "checkins/checkin.html", _form_context(
            db, patient, course, checkin, values, _errors(error), mode="own", action="/me/checkin"),
            status_code=error.status_code, nav_key="me")
    _count_submission(db, limit_key, result)
    return once.done(RedirectResponse(f"/me/checkin/{result.checkin.id}/done", status_code=303))


def _own_checkin(db: Session, ctx: Ctx, checkin_id: int) -> tuple[Patient, CheckIn]:
    patient = _own(db, ctx)
    row = repository.checkin(db, checkin_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound("No such check-in.")
    return patient, row


@router.get("/me/checkin/{checkin_id}/done")
def own_done(request: Request, db: DbSession, ctx: SelfRead, checkin_id: RecordId) -> Response:
    patient, row = _own_checkin(db, ctx, checkin_id)
    return render(request, db, "checkins/done.html", _done_context(
        db, row, patient, for_signed_in=True, cssrs_action=f"/me/checkin/{row.id}/cssrs"), nav_key="me")


@router.post("/me/checkin/{checkin_id}/cssrs")
async def own_cssrs(request: Request, db: DbSession, ctx: SelfWrite, checkin_id: RecordId) -> Response:
    patient, row = _own_checkin(db, ctx, checkin_id)
    values = form_values(await request.form())
    try:
        service.submit_cssrs(db, ctx, patient.id, row.id, _answers(values, row.pcl5_form).cssrs or {})
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return render(request, db, "checkins/done.html", _done_context(
            db, row, patient, for_signed_in=True, cssrs_action=f"/me/checkin/{row.id}/cssrs", values=values,
            errors=_errors(error)), status_code=error.status_code, nav_key="me")
    return RedirectResponse(f"/me/checkin/{row.id}/done", status_code=303)


# --- The patient's own view ---------------------------------------------------------------------------------------


@router.get("/me/checkins")
def own_view(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = _own(db, ctx)
    patients.get_patient(db, ctx, patient.id, audit_action="checkin.view_self")
    data = views.chart(db, patient)
    return render(request, db, "checkins/mine.html", {
        "patient": patient, "view": data, "crisis_lines": _crisis_lines(db, patient),
        "kind_label": views.kind_label, "errors": FormErrors(), "accepted": [
            r for r in data.maintenance.requests if r.status != "cancelled"]}, nav_key="me")


@router.post("/me/checkins/preferences")
async def own_preferences(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = _own(db, ctx)
    values = form_values(await request.form())
    raw = values.get("reminder_hour") or ""
    try:
        hour = int(raw) if raw.strip() else None
    except ValueError:
        hour = -1  # refused with the rule's message
    try:
        service.set_preferences(db, ctx, patient, hour, values.get("reminders_enabled") == "on")
    except TenFourError as error:
        data = views.chart(db, patient)
        return render(request, db, "checkins/mine.html", {
            "patient": patient, "view": data, "crisis_lines": _crisis_lines(db, patient),
            "kind_label": views.kind_label, "errors": _errors(error), "accepted": []},
            status_code=error.status_code, nav_key="me")
    return flash(request, RedirectResponse("/me/checkins#reminders", status_code=303), "Reminder choices saved.")


@router.get("/me/checkins/trajectory.svg")
def own_chart(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    return Response(views.trajectory_svg(db, _own(db, ctx), for_patient=True), media_type="image/svg+xml")


@own_panel("checkins", "checkins/_own_panel.html", order=8)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    course = repository.current_course(db, patient.id)
    if course is None:
        return None
    plan = views.schedule(db, course)
    evaluation = repository.evaluation(db, patient.id)
    return {"schedule": plan, "evaluation": evaluation, "kind_label": views.kind_label}


# --- Staff: the chart panel, warning signs, entering a phone check-in ---------------------------------------------


@patient_panel("checkins", "checkins/_chart_panel.html", order=8, permission=Permission.ASSESSMENT_READ)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    data = views.chart(db, patient)
    if data.course is None and not data.signs:
        return {"view": data, "empty": True, "kind_label": views.kind_label}
    return {"view": data, "empty": False, "kind_label": views.kind_label}


@router.get("/patients/{patient_id}/checkins/trajectory.svg")
def staff_chart(request: Request, db: DbSession, ctx: Read, patient_id: RecordId) -> Response:
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    return Response(views.trajectory_svg(db, patient, for_patient=False), media_type="image/svg+xml")


@router.post("/patients/{patient_id}/checkins/warning-signs")
async def staff_signs(request: Request, db: DbSession, ctx: EditRecord, patient_id: RecordId) -> Response:
    patients.get_patient(db, ctx, patient_id, audit_action=None)
    values = form_values(await request.form(), MULTI)
    codes = values.get("codes") or []
    own_words = [w for w in str(values.get("own_words") or "").splitlines() if w.strip()]
    target = f"/patients/{patient_id}#checkins"
    try:
        signs = service.set_warning_signs(db, ctx, patient_id, list(codes), own_words)
    except TenFourError as error:
        message = "; ".join(p.message for p in error.problems) or error.message
        return flash(request, RedirectResponse(target, status_code=303), f"Warning signs not saved: {message}",
                     "error")
    return flash(request, RedirectResponse(target, status_code=303),
                 f"Warning signs saved ({len(signs)} on the list).")


def _staff_patient(db: Session, ctx: Ctx, patient_id: int) -> Patient:
    assert ctx.principal is not None
    if not ctx.principal.is_staff:
        raise Forbidden("Check-ins taken by phone are entered by clinic staff.")
    return patients.get_patient(db, ctx, patient_id, audit_action=None)


@router.get("/patients/{patient_id}/checkins/enter")
def staff_form(request: Request, db: DbSession, ctx: Write, patient_id: RecordId) -> Response:
    patient = _staff_patient(db, ctx, patient_id)
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    return render(request, db, "checkins/checkin.html", _form_context(
        db, patient, course, checkin, {}, FormErrors(), mode="staff",
        action=f"/patients/{patient.id}/checkins/enter"), nav_key="patients")


@router.post("/patients/{patient_id}/checkins/enter")
async def staff_submit(request: Request, db: DbSession, ctx: Write, patient_id: RecordId) -> Response:
    patient = _staff_patient(db, ctx, patient_id)
    values = form_values(await request.form(), MULTI)
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:
        return once.replay
    course = repository.current_course(db, patient.id)
    checkin = service.open_checkin(db, patient, course)
    key = values.get("submission_key") or None
    completed_at = _local_datetime(values.get("completed_at"), course.timezone if course else "UTC")
    try:
        if completed_at == "bad":
            raise ValidationFailed.single("completed_at", "datetime", "must be a date and time")
        result = service.submit(db, ctx, patient.id, _answers(values, checkin.pcl5_form if checkin else "pcl5-week"),
                                sign_ids=_ints(values.get("sign")), note=values.get("note"),
                                checkin_id=checkin.id if checkin else None, submission_key=key, via="staff",
                                completed_at=completed_at if isinstance(completed_at, datetime) else None)
    except TenFourError as error:
        if error.status_code == 404:
            raise
        repeated = repository.by_submission_key(db, key) if key and isinstance(error, Conflict) else None
        if repeated is not None and repeated.patient_id == patient.id:
            return RedirectResponse(f"/patients/{patient.id}#checkins", status_code=303)
        return render(request, db, "checkins/checkin.html", _form_context(
            db, patient, course, checkin, values, _errors(error), mode="staff",
            action=f"/patients/{patient.id}/checkins/enter"), status_code=error.status_code, nav_key="patients")
    message = "Check-in saved."
    if result.urgent:
        message += " Urgent alert raised: see the alert banner."
    elif result.alerts:
        message += " An alert was raised: see the alert inbox."
    return once.done(flash(request, RedirectResponse(f"/patients/{patient.id}#checkins", status_code=303), message,
                           "error" if result.urgent else "success"))


def _local_datetime(raw: Any, tz: str) -> datetime | str | None:
    if not raw or not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return "bad"
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


# --- The clinic: board and boosters ---------------------------------------------------------------------------


def _clinic(db: Session, ctx: Ctx) -> Any:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    clinic = clinics_repository.by_id(db, clinic_id) if clinic_id else None
    if clinic is None:
        raise NotFound("You do not work in a clinic yet.")
    return clinic


@router.get("/checkins")
def board(request: Request, db: DbSession, ctx: Clinical) -> Response:
    clinic = _clinic(db, ctx)
    return render(request, db, "checkins/board.html", {"board": views.board(db, clinic.id, clinic.timezone),
                                                       "labels": views.STATE_LABELS_PLURAL,
                                                       "short": views.STATE_LABELS_SHORT}, nav_key="checkins")


@router.get("/checkins/boosters")
def booster_list(request: Request, db: DbSession, ctx: Clinical) -> Response:
    clinic = _clinic(db, ctx)
    return render(request, db, "checkins/boosters.html", {
        "proposals": repository.clinic_proposals(db, clinic.id, [ProposalStatus.PROPOSED.value]),
        "requests": repository.clinic_requests(db, clinic.id),
        "today": courses.local_today(clinic.timezone, clock.now()),
    }, nav_key="checkins")


@router.post("/checkins/boosters/{proposal_id}/accept")
async def booster_accept(request: Request, db: DbSession, ctx: Prescribe, proposal_id: RecordId) -> Response:
    values = form_values(await request.form())
    target = _back(request, values.get("return_to"), "/checkins/boosters")
    row = repository.proposal(db, proposal_id)
    course = repository.current_course(db, row.patient_id) if row else None
    try:
        request_row = boosters.accept(db, ctx, proposal_id, values.get("note"), service.today_for(course, "UTC"))
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return flash(request, RedirectResponse(target, status_code=303), f"Not accepted: {error.message}", "error")
    return flash(request, RedirectResponse(target, status_code=303),
                 f"Booster requested for {request_row.window_start:%d %b} to {request_row.window_end:%d %b} "
                 f"({request_row.priority} priority): it is with scheduling now.")


@router.post("/checkins/boosters/{proposal_id}/decline")
async def booster_decline(request: Request, db: DbSession, ctx: Prescribe, proposal_id: RecordId) -> Response:
    values = form_values(await request.form())
    target = _back(request, values.get("return_to"), "/checkins/boosters")
    try:
        boosters.decline(db, ctx, proposal_id, values.get("reason"))
    except TenFourError as error:
        if error.status_code == 404:
            raise
        reason = error.problems[0].message if error.problems else error.message
        return flash(request, RedirectResponse(target, status_code=303), f"Not declined: {reason}", "error")
    return flash(request, RedirectResponse(target, status_code=303), "Proposal declined; the reason is kept.")


def _back(request: Request, raw: Any, default: str) -> str:
    if isinstance(raw, str) and raw.startswith("/") and not raw.startswith("//"):
        return raw
    return default

