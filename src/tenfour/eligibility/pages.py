"""Pages: a patient's eligibility decisions with reasons and sources, a prescriber's evaluation and override."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import repository as accounts_repository
from tenfour.context import Ctx
from tenfour.core import eligibility as rules
from tenfour.eligibility import service
from tenfour.eligibility.models import EligibilityDecision
from tenfour.eligibility.schemas import OverrideIn, PatientEvaluateIn
from tenfour.errors import ReauthRequired, TenFourError
from tenfour.intake import repository as intake_repository
from tenfour.intake import screening
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, reauth_if_posted, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.panels import patient_panel
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Follow = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
Decide = Annotated[Ctx, Depends(authorize(Permission.ELIGIBILITY_DECIDE))]
OUTCOME_LABELS = {"eligible": "Eligible", "review": "Prescriber review", "excluded": "Excluded"}
RULE_OUTCOME_LABELS = {"exclude": "Exclude", "review": "Review", "note": "Note"}


def _names(db: Session, decisions: list[EligibilityDecision]) -> dict[int, str]:
    ids = {d.created_by_id for d in decisions} | {d.overridden_by_id for d in decisions}
    users = (accounts_repository.user_by_id(db, i) for i in ids if i is not None)
    return {u.id: u.full_name for u in users if u is not None}


def _evaluate_values(db: Session, patient: Patient, latest: EligibilityDecision | None) -> dict[str, Any]:
    form = intake_repository.form_for_patient(db, patient.id)
    source: dict[str, Any] = dict(latest.inputs) if latest else {
        "conditions": list(form.conditions) if form else [], "medications": list(form.medications) if form else [],
        "systolic_bp": form.systolic_bp if form else None, "diastolic_bp": form.diastolic_bp if form else None}
    return {"conditions": source.get("conditions") or [], "medications": source.get("medications") or [],
            "systolic_bp": "" if source.get("systolic_bp") is None else f"{source['systolic_bp']:g}",
            "diastolic_bp": "" if source.get("diastolic_bp") is None else f"{source['diastolic_bp']:g}"}


def _context(db: Session, ctx: Ctx, patient_id: int, **extra: Any) -> dict[str, Any]:
    patient, decisions = service.decisions(db, ctx, patient_id)
    latest = decisions[0] if decisions else None
    context: dict[str, Any] = {
        "patient": patient, "decisions": decisions, "latest": latest, "names": _names(db, decisions),
        "outcome_labels": OUTCOME_LABELS, "rule_outcome_labels": RULE_OUTCOME_LABELS, "labels": screening.LABELS,
        "groups": screening.GROUPS, "cssrs_risk": service.latest_cssrs_risk(db, patient.id),
        "rules_version": rules.RULES_VERSION, "crisis_rule": service.CRISIS_RULE,
        "values": _evaluate_values(db, patient, latest), "errors": FormErrors(), "form_name": None,
    }
    context.update(extra)
    return context


@router.get("/patients/{patient_id}/eligibility")
def eligibility_page(request: Request, db: DbSession, ctx: Follow, patient_id: RecordId) -> Response:
    return render(request, db, "eligibility/decisions.html", _context(db, ctx, patient_id), nav_key="patients")


@router.post("/patients/{patient_id}/eligibility")
async def eligibility_evaluate(request: Request, db: DbSession, ctx: Decide, patient_id: RecordId) -> Response:
    values = form_values(await request.form(), multi=frozenset({"conditions", "medications"}))
    data = {"conditions": values.get("conditions", []), "medications": values.get("medications", []),
            "systolic_bp": values.get("systolic_bp") or None, "diastolic_bp": values.get("diastolic_bp") or None}
    model, errors = parse(PatientEvaluateIn, data, drop_blank=False)
    if model is not None:
        try:
            decision = service.evaluate_patient(db, ctx, patient_id, model)
        except TenFourError as error:
            if error.status_code == 404:
                raise
            errors = errors_from(error)
        else:
            return flash(request, RedirectResponse(f"/patients/{patient_id}/eligibility", status_code=303),
                         f"Decision recorded: {OUTCOME_LABELS[decision.outcome].lower()}.")
    return render(request, db, "eligibility/decisions.html",
                  _context(db, ctx, patient_id, values=values, errors=errors, form_name="evaluate"),
                  status_code=422, nav_key="patients")


@router.post("/patients/{patient_id}/eligibility/{decision_id}/override")
async def eligibility_override(request: Request, db: DbSession, ctx: Decide, patient_id: RecordId,
                               decision_id: RecordId) -> Response:
    await reauth_if_posted(request, db, ctx)
    values = form_values(await request.form())
    model, errors = parse(OverrideIn, {k: v for k, v in values.items() if k in OverrideIn.model_fields})
    status = 422
    if model is not None:
        try:
            service.override(db, ctx, patient_id, decision_id, model.outcome, model.reason)
        except TenFourError as error:
            if error.status_code == 404 or isinstance(error, ReauthRequired):
                raise
            errors, status = errors_from(error), error.status_code
        else:
            return flash(request, RedirectResponse(f"/patients/{patient_id}/eligibility", status_code=303),
                         f"Override recorded: {OUTCOME_LABELS[model.outcome].lower()}.")
    return render(request, db, "eligibility/decisions.html",
                  _context(db, ctx, patient_id, override_values=values, errors=errors, form_name="override"),
                  status_code=status, nav_key="patients")


@patient_panel("eligibility", "eligibility/_chart_panel.html", order=6, permission=Permission.REFERRAL_TRIAGE)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    latest = service.latest(db, patient.id)
    if latest is None and patient.status not in ("assessment", "ineligible"):
        return None
    return {"decision": latest, "names": _names(db, [latest]) if latest else {}, "outcome_labels": OUTCOME_LABELS}
