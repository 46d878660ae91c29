"""Pages: a patient's treatment plans; a prescriber drafts, signs and supersedes them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import repository as accounts_repository
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import treatment_plans as core
from tenfour.eligibility import service as eligibility
from tenfour.errors import ReauthRequired, TenFourError
from tenfour.patients import service as patients
from tenfour.patients.models import Patient
from tenfour.plans import repository, service
from tenfour.plans.models import TreatmentPlan
from tenfour.plans.schemas import PlanIn, PlanUpdate
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, reauth_if_posted, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Read = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
Sign = Annotated[Ctx, Depends(authorize(Permission.PLAN_SIGN))]
FIELDS = ("protocol", "infusions_planned", "dose_mg_per_kg", "infusion_duration_min", "max_infusions_per_week",
          "notes")


def _names(db: Session, plans: list[TreatmentPlan]) -> dict[int, str]:
    ids = {p.signed_by_id for p in plans} | {p.created_by_id for p in plans}
    users = (accounts_repository.user_by_id(db, i) for i in ids if i is not None)
    return {u.id: u.full_name for u in users if u is not None}


@router.get("/patients/{patient_id}/plans")
def plans_page(request: Request, db: DbSession, ctx: Read, patient_id: RecordId) -> Response:
    book = service.plans_for(db, ctx, patient_id)
    return render(request, db, "plans/plans.html", {
        "book": book, "patient": book.patient, "names": _names(db, book.plans), "labels": core.PROTOCOL_LABELS,
        "decision": eligibility.latest(db, book.patient.id)}, nav_key="patients")


def _form_context(db: Session, patient: Patient, values: dict[str, Any], errors: FormErrors,
                  plan: TreatmentPlan | None) -> dict[str, Any]:
    plan_policy = service.plan_policy(db, patient.clinic_id)
    return {"patient": patient, "values": values, "errors": errors, "plan": plan, "policy": plan_policy,
            "protocol_options": list(core.PROTOCOL_LABELS.items()), "decision": eligibility.latest(db, patient.id),
            "action": f"/patients/{patient.id}/plans/{plan.id}/edit" if plan else f"/patients/{patient.id}/plans/new"}


def _form_values(raw: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in raw.items() if k in FIELDS}
    values["pregnancy_check_required"] = raw.get("pregnancy_check_required") in ("true", "on")
    return values


def _plan_values(plan: TreatmentPlan) -> dict[str, Any]:
    return {"protocol": plan.protocol, "infusions_planned": plan.infusions_planned,
            "dose_mg_per_kg": plan.dose_mg_per_kg.normalize(), "infusion_duration_min": plan.infusion_duration_min,
            "max_infusions_per_week": plan.max_infusions_per_week,
            "pregnancy_check_required": plan.pregnancy_check_required, "notes": plan.notes or ""}


@router.get("/patients/{patient_id}/plans/new")
def plan_new(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId) -> Response:
    book = service.plans_for(db, ctx, patient_id, audit=False)
    if book.draft is not None:
        return RedirectResponse(f"/patients/{patient_id}/plans/{book.draft.id}/edit", status_code=303)
    values = service.defaults_for(db, book.patient)
    return render(request, db, "plans/form.html", _form_context(db, book.patient, values, FormErrors(), None),
                  nav_key="patients")


@router.post("/patients/{patient_id}/plans/new")
async def plan_create(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId) -> Response:
    await reauth_if_posted(request, db, ctx)
    raw = form_values(await request.form())
    values = _form_values(raw)
    model, errors = parse(PlanIn, {**values, "sign": raw.get("action") == "sign"})
    if model is not None:
        try:
            plan = service.create_plan(db, ctx, patient_id, model)
        except TenFourError as error:
            if error.status_code == 404 or isinstance(error, ReauthRequired):
                raise
            errors = errors_from(error)
        else:
            message = f"Plan version {plan.version_number} signed." if plan.is_signed else "Draft saved."
            return flash(request, RedirectResponse(f"/patients/{patient_id}/plans", status_code=303), message)
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    return render(request, db, "plans/form.html", _form_context(db, patient, values, errors, None), status_code=422,
                  nav_key="patients")


@router.get("/patients/{patient_id}/plans/{plan_id}/edit")
def plan_edit(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId, plan_id: RecordId) -> Response:
    book = service.plans_for(db, ctx, patient_id, audit=False)
    plan = next((p for p in book.plans if p.id == plan_id), None)
    if plan is None or plan.is_signed:
        return RedirectResponse(f"/patients/{patient_id}/plans", status_code=303)
    return render(request, db, "plans/form.html", _form_context(db, book.patient, _plan_values(plan), FormErrors(),
                                                                plan), nav_key="patients")


@router.post("/patients/{patient_id}/plans/{plan_id}/edit")
async def plan_update(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId,
                      plan_id: RecordId) -> Response:
    await reauth_if_posted(request, db, ctx)
    raw = form_values(await request.form())
    values = _form_values(raw)
    model, errors = parse(PlanUpdate, values)
    if model is not None:
        try:
            with db.begin_nested():  # saved and signed together, or nothing changes
                service.update_draft(db, ctx, patient_id, plan_id, model)
                plan = service.sign(db, ctx, patient_id, plan_id) if raw.get("action") == "sign" else None
        except TenFourError as error:
            if error.status_code == 404 or isinstance(error, ReauthRequired):
                raise
            errors = errors_from(error)
        else:
            message = f"Plan version {plan.version_number} signed." if plan else "Draft saved."
            return flash(request, RedirectResponse(f"/patients/{patient_id}/plans", status_code=303), message)
    book = service.plans_for(db, ctx, patient_id, audit=False)
    plan_row = next((p for p in book.plans if p.id == plan_id), None)
    return render(request, db, "plans/form.html", _form_context(db, book.patient, values, errors, plan_row),
                  status_code=422, nav_key="patients")


def _action(request: Request, patient_id: int, done: str, error: TenFourError | None = None) -> Response:
    response = RedirectResponse(f"/patients/{patient_id}/plans", status_code=303)
    if error is not None:
        return flash(request, response, error.message, "error")
    return flash(request, response, done)


@router.post("/patients/{patient_id}/plans/{plan_id}/sign")
async def plan_sign(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId, plan_id: RecordId) -> Response:
    await reauth_if_posted(request, db, ctx)
    try:
        plan = service.sign(db, ctx, patient_id, plan_id)
    except TenFourError as error:
        if error.status_code == 404 or isinstance(error, ReauthRequired):
            raise
        return _action(request, patient_id, "", error)
    return _action(request, patient_id, f"Plan version {plan.version_number} signed.")


@router.post("/patients/{patient_id}/plans/{plan_id}/supersede")
def plan_supersede(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId, plan_id: RecordId) -> Response:
    try:
        draft = service.supersede(db, ctx, patient_id, plan_id)
    except TenFourError as error:
        if error.status_code == 404 or isinstance(error, ReauthRequired):
            raise
        return _action(request, patient_id, "", error)
    return flash(request, RedirectResponse(f"/patients/{patient_id}/plans/{draft.id}/edit", status_code=303),
                 f"Draft version {draft.version_number} started from the signed plan.")


@router.post("/patients/{patient_id}/plans/{plan_id}/discard")
def plan_discard(request: Request, db: DbSession, ctx: Sign, patient_id: RecordId, plan_id: RecordId) -> Response:
    try:
        service.discard_draft(db, ctx, patient_id, plan_id)
    except TenFourError as error:
        if error.status_code == 404 or isinstance(error, ReauthRequired):
            raise
        return _action(request, patient_id, "", error)
    return _action(request, patient_id, "Draft discarded.")


@patient_panel("plan", "plans/_chart_panel.html", order=7, permission=Permission.REFERRAL_TRIAGE)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    current = repository.current_signed_plan(db, patient.id)
    draft = repository.draft_for_patient(db, patient.id)
    decision = eligibility.latest(db, patient.id)
    if current is None and draft is None and (decision is None or decision.final_outcome != "eligible"):
        return None
    return {"current": current, "draft": draft, "labels": core.PROTOCOL_LABELS,
            "names": _names(db, [p for p in (current, draft) if p is not None])}


@own_panel("plan", "plans/_own_panel.html", order=15)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    plan = service.current_for_own(db, patient)
    if plan is None:
        return None
    return {"plan": plan, "no_duty_h": effective_policy(db, patient.clinic_id)["duty.no_duty_window_h"]}
