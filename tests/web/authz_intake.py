"""The policy matrix, from referral to plan: the public referral form and the triage queue, the invitation and the
patient's intake, eligibility decisions and treatment plans. Rows, the records they name, and request bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests import factories
from tests.checkins_support import ctx_for
from tests.web.authz_support import OTHER, OWN, PUBLIC, Matrix, Spec
from tests.web.support import form_fields
from tests.web.test_intake import ABOUT, HEALTH, WORK, measurements

from tenfour.assessments import service as assessments_service
from tenfour.assessments.models import AssessmentContext
from tenfour.context import Ctx
from tenfour.eligibility import service as eligibility_service
from tenfour.eligibility.schemas import PatientEvaluateIn
from tenfour.intake import service as intake_service
from tenfour.intake.models import IntakeForm
from tenfour.intake.repository import INVITATION_PURPOSE
from tenfour.links import service as links
from tenfour.plans import service as plans_service
from tenfour.plans.schemas import PlanIn
from tenfour.policy import Permission
from tenfour.referrals import service as referrals_service
from tenfour.referrals.schemas import ReferralIn

P = Permission
REFERRAL = {"referrer_relation": "peer_support", "referrer_name": "Petra Peer", "referrer_contact": "petra@example.com",
            "first_name": "Luis", "last_name": "Ortega", "preferred_contact": "email",
            "email": "luis.ortega@example.com", "reason": "Withdrawn since the bus crash call."}
SELF_REFERRAL = {"referrer_relation": "self", "first_name": "Dana", "last_name": "Whitfield",
                 "preferred_contact": "text", "phone": "(555) 010-2233", "responder_role": "firefighter",
                 "reason": "Nightmares since the warehouse fire.", "consent_to_contact": True, "clinic": "north-test"}
GAD7 = {f"q{n}": 1 for n in range(1, 8)}
SCREEN = {"conditions": [], "systolic_bp": 120, "diastolic_bp": 75}
PASSWORD = "engine nine coffee sunrise"
OVERRIDE_REASON = "Reviewed in clinic; benefits outweigh the risk."
# The intake of the matrix's patient: everything done but the GAD-7 (so it can still be answered); submitting needs
# it done (setup "intake_complete").
OPEN_STEP = "gad7"

ROUTES: dict[tuple[str, str], Spec] = {
    # --- Referrals: anyone may refer, without an account; the answer is a reference and nothing else -------------
    ("POST", "/api/v1/referrals"): Spec(PUBLIC, 201, payload="api_referral"),
    ("GET", "/refer"): Spec(PUBLIC, 200),
    ("POST", "/refer"): Spec(PUBLIC, 303, payload="referral_form"),
    ("GET", "/refer/thanks"): Spec(PUBLIC, 200, query="ref=R-AAAA-BBBB"),
    ("GET", "/api/v1/referrals"): Spec(P.REFERRAL_TRIAGE, 200),
    ("GET", "/api/v1/referrals/{referral_id}"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True),
    ("POST", "/api/v1/referrals/{referral_id}/status"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True,
                                                             payload="referral_status"),
    ("POST", "/api/v1/referrals/{referral_id}/notes"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True,
                                                            payload="referral_note"),
    ("POST", "/api/v1/referrals/{referral_id}/patient"): Spec(P.REFERRAL_TRIAGE, 201, scoped=True,
                                                              payload="referral_convert"),
    ("GET", "/referrals"): Spec(P.REFERRAL_TRIAGE, 200),
    ("GET", "/referrals/{referral_id}"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True),
    ("POST", "/referrals/{referral_id}/status"): Spec(P.REFERRAL_TRIAGE, 303, scoped=True,
                                                      payload="referral_status"),
    ("POST", "/referrals/{referral_id}/notes"): Spec(P.REFERRAL_TRIAGE, 303, scoped=True, payload="referral_note"),
    ("POST", "/referrals/{referral_id}/patient"): Spec(P.REFERRAL_TRIAGE, 303, scoped=True,
                                                       payload="referral_convert"),
    # --- The invitation: the single-use link is the key, whoever holds it (signed in or not) ----------------------
    ("POST", "/api/v1/patients/{patient_id}/invitation"): Spec(P.REFERRAL_TRIAGE, 201, scoped=True, record="invitee"),
    ("POST", "/patients/{patient_id}/invitation"): Spec(P.REFERRAL_TRIAGE, 303, scoped=True, record="invitee"),
    ("GET", "/invite/{token}"): Spec(PUBLIC, 200, record="invitation_link"),
    ("POST", "/invite/{token}"): Spec(PUBLIC, 303, record="invitation_link", payload="invitation_password"),
    # --- The patient's own intake (no clinic scope: always their own record) --------------------------------------
    ("GET", "/api/v1/patients/{patient_id}/intake"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True),
    ("GET", "/me/intake"): Spec(P.SELF_READ, 200),
    ("GET", "/me/intake/about"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/intake/about"): Spec(P.SELF_WRITE, 303, payload="intake_about"),
    ("GET", "/me/intake/work"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/intake/work"): Spec(P.SELF_WRITE, 303, payload="intake_work"),
    ("GET", "/me/intake/questionnaires/{instrument_id}"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/intake/questionnaires/{instrument_id}"): Spec(P.SELF_WRITE, 303, payload="intake_gad7"),
    ("GET", "/me/intake/support"): Spec(P.SELF_READ, 200),
    ("GET", "/me/intake/health"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/intake/health"): Spec(P.SELF_WRITE, 303, payload="intake_health"),
    ("GET", "/me/intake/measurements"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/intake/measurements"): Spec(P.SELF_WRITE, 303, payload="intake_measurements"),
    ("GET", "/me/intake/review"): Spec(P.SELF_READ, 200),
    ("POST", "/me/intake/submit"): Spec(P.SELF_WRITE, 303, setup="intake_complete"),
    # --- Eligibility: triage staff follow it, prescribers decide ----------------------------------------------------
    ("POST", "/api/v1/eligibility/evaluate"): Spec(P.REFERRAL_TRIAGE, 200, payload="eligibility_screen"),
    ("GET", "/api/v1/patients/{patient_id}/eligibility"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True, record="review"),
    ("POST", "/api/v1/patients/{patient_id}/eligibility"): Spec(P.ELIGIBILITY_DECIDE, 201, scoped=True,
                                                                record="review", payload="api_evaluate"),
    ("POST", "/api/v1/patients/{patient_id}/eligibility/{decision_id}/override"): Spec(
        P.ELIGIBILITY_DECIDE, 200, scoped=True, record="review", payload="api_override"),
    ("GET", "/patients/{patient_id}/eligibility"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True, record="review"),
    ("POST", "/patients/{patient_id}/eligibility"): Spec(P.ELIGIBILITY_DECIDE, 303, scoped=True, record="review",
                                                         payload="evaluate_form"),
    ("POST", "/patients/{patient_id}/eligibility/{decision_id}/override"): Spec(
        P.ELIGIBILITY_DECIDE, 303, scoped=True, record="review", payload="override_form"),
    # --- Treatment plans: triage staff read, prescribers draft and sign ---------------------------------------------
    ("GET", "/api/v1/patients/{patient_id}/plans"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True, record="plan_draft"),
    ("POST", "/api/v1/patients/{patient_id}/plans"): Spec(P.PLAN_SIGN, 201, scoped=True, record="plan_fresh",
                                                          payload="api_plan"),
    ("PATCH", "/api/v1/patients/{patient_id}/plans/{plan_id}"): Spec(P.PLAN_SIGN, 200, scoped=True,
                                                                     record="plan_draft", payload="api_plan_change"),
    ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/sign"): Spec(P.PLAN_SIGN, 200, scoped=True,
                                                                         record="plan_draft"),
    ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/supersede"): Spec(P.PLAN_SIGN, 201, scoped=True,
                                                                              record="plan_signed"),
    ("DELETE", "/api/v1/patients/{patient_id}/plans/{plan_id}"): Spec(P.PLAN_SIGN, 204, scoped=True,
                                                                      record="plan_draft"),
    ("GET", "/patients/{patient_id}/plans"): Spec(P.REFERRAL_TRIAGE, 200, scoped=True, record="plan_draft"),
    ("GET", "/patients/{patient_id}/plans/new"): Spec(P.PLAN_SIGN, 200, scoped=True, record="plan_fresh"),
    ("POST", "/patients/{patient_id}/plans/new"): Spec(P.PLAN_SIGN, 303, scoped=True, record="plan_fresh",
                                                       payload="plan_form"),
    ("GET", "/patients/{patient_id}/plans/{plan_id}/edit"): Spec(P.PLAN_SIGN, 200, scoped=True, record="plan_draft"),
    ("POST", "/patients/{patient_id}/plans/{plan_id}/edit"): Spec(P.PLAN_SIGN, 303, scoped=True, record="plan_draft",
                                                                  payload="plan_edit_form"),
    ("POST", "/patients/{patient_id}/plans/{plan_id}/sign"): Spec(P.PLAN_SIGN, 303, scoped=True, record="plan_draft"),
    ("POST", "/patients/{patient_id}/plans/{plan_id}/supersede"): Spec(P.PLAN_SIGN, 303, scoped=True,
                                                                       record="plan_signed"),
    ("POST", "/patients/{patient_id}/plans/{plan_id}/discard"): Spec(P.PLAN_SIGN, 303, scoped=True,
                                                                     record="plan_draft"),
}


def build(m: Matrix, db: Session) -> None:
    """Per clinic: a new referral; a referred patient with an email (to invite); patients with an eligible decision
    and no plan, a draft plan, a signed plan; one with a decision for prescriber review. The matrix's own patient
    has an intake with one questionnaire left, an urgent intake PHQ-9 (so the support page shows) and a live
    invitation link."""
    world = m.world
    records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in (
        "invitee", "plan_fresh", "plan_draft", "plan_signed", "review")}
    for scope, clinic in ((OWN, world.north), (OTHER, world.south)):
        referral = referrals_service.submit(db, Ctx.system("matrix"), ReferralIn(**REFERRAL, clinic=clinic.slug))
        m.ids[scope]["referral_id"] = referral.id
        invitee = factories.make_patient(db, clinic, first_name="Ivy", status="referred",
                                         email=f"ivy.invitee.{clinic.slug}@example.com")
        records["invitee"][scope] = {"patient_id": invitee.id}
        prescriber = ctx_for(world.user("prescriber", clinic.slug))
        for name, plan in (("plan_fresh", None), ("plan_draft", PlanIn()), ("plan_signed", PlanIn(sign=True))):
            patient = _screened(db, clinic, prescriber, "Pat")
            decision = eligibility_service.evaluate_patient(db, prescriber, patient.id, PatientEvaluateIn(**SCREEN))
            assert decision.outcome == "eligible", decision.reasons
            records[name][scope] = {"patient_id": patient.id}
            if plan is not None:
                records[name][scope]["plan_id"] = plans_service.create_plan(db, prescriber, patient.id, plan).id
        reviewed = _screened(db, clinic, prescriber, "Rae")
        decision = eligibility_service.evaluate_patient(db, prescriber, reviewed.id, PatientEvaluateIn(
            **SCREEN, medications=["lamotrigine"]))  # may blunt the response: for a prescriber's review
        assert decision.outcome == "review", decision.reasons
        records["review"][scope] = {"patient_id": reviewed.id, "decision_id": decision.id}
    m.records.update(records)

    own = world.patient_north
    for patient in (own, world.patient_south):  # the other clinic's too: its 404 must come from the scope
        db.add(IntakeForm(clinic_id=patient.clinic_id, patient_id=patient.id, conditions=[], medications=[],
                          bp_unknown=True, weight_g=80_000, weight_measured_on=date.today(),
                          steps_done=[s.key for s in intake_service.STEPS if s.key != OPEN_STEP]))
    assessments_service.submit(db, ctx_for(world.patient_user), own.id, instrument_id="phq9",
                               answers={**{f"q{n}": 1 for n in range(1, 9)}, "q9": 1},
                               context=AssessmentContext.INTAKE)
    token, _ = links.issue(db, purpose=INVITATION_PURPOSE, ttl=intake_service.INVITATION_TTL,
                           patient_id=records["invitee"][OWN]["patient_id"])
    m.records["invitation_link"] = {OWN: {"token": token}}
    db.commit()

    def intake_complete(session: Session) -> None:
        form = session.scalars(select(IntakeForm).where(IntakeForm.patient_id == own.id)).one()
        form.steps_done = [s.key for s in intake_service.STEPS]

    m.setups["intake_complete"] = intake_complete


def _screened(db: Session, clinic: Any, ctx: Ctx, first_name: str) -> Any:
    """A patient of the clinic with a C-SSRS screen on file (no risk): an eligibility decision rests on one."""
    patient = factories.make_patient(db, clinic, first_name=first_name, status="assessment")
    assessments_service.submit(db, ctx, patient.id, instrument_id="cssrs-screen", answers={"q1": 0, "q2": 0, "q6": 0})
    return patient


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    """Bodies that succeed for a permitted role on its own clinic's record; plan forms are read from the pages."""
    fresh, draft = m.records["plan_fresh"][OWN], m.records["plan_draft"][OWN]
    new_plan = form_fields(m.page("prescriber", f"/patients/{fresh['patient_id']}/plans/new"),
                           f"/patients/{fresh['patient_id']}/plans/new")
    edit_action = f"/patients/{draft['patient_id']}/plans/{draft['plan_id']}/edit"
    edit_plan = form_fields(m.page("prescriber", edit_action), edit_action)
    return {
        "api_referral": lambda role, scope: {**SELF_REFERRAL},
        "referral_form": lambda role, scope: {k: ("true" if v is True else v) for k, v in SELF_REFERRAL.items()},
        "referral_status": lambda role, scope: {"status": "contacted", "note": "Spoke by text; will call Friday."},
        "referral_note": lambda role, scope: {"note": "Prefers evenings."},
        "referral_convert": lambda role, scope: {"date_of_birth": "1986-03-14"},
        "invitation_password": lambda role, scope: {"password": PASSWORD, "password_confirm": PASSWORD},
        "intake_about": lambda role, scope: dict(ABOUT),
        "intake_work": lambda role, scope: dict(WORK),
        "intake_gad7": lambda role, scope: {k: str(v) for k, v in GAD7.items()},
        "intake_health": lambda role, scope: dict(HEALTH),
        "intake_measurements": lambda role, scope: measurements(),
        "eligibility_screen": lambda role, scope: {"conditions": [], "medications": [], "age_years": 40,
                                                   "systolic_bp": 120, "diastolic_bp": 75, "cssrs_risk": "none"},
        "api_evaluate": lambda role, scope: dict(SCREEN),
        "evaluate_form": lambda role, scope: {"systolic_bp": "120", "diastolic_bp": "75"},
        "api_override": lambda role, scope: {"outcome": "eligible", "reason": OVERRIDE_REASON},
        "override_form": lambda role, scope: {"outcome": "eligible", "reason": OVERRIDE_REASON},
        "api_plan": lambda role, scope: {},
        "api_plan_change": lambda role, scope: {"notes": "Escort is the spouse."},
        "plan_form": lambda role, scope: {**new_plan, "action": "save"},
        "plan_edit_form": lambda role, scope: {**edit_plan, "notes": "Escort is the spouse.", "action": "save"},
    }

