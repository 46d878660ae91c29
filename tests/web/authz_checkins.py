"""The policy matrix for check-ins, relapse early warning and boosters: rows, the records they name, request bodies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session
from tests.checkins_support import CSSRS_LOW, ctx_for, give_course, monday_weeks_ago, pcl5_answers, phq9_answers, sync
from tests.web.authz_support import OTHER, OWN, PUBLIC, Matrix, Spec
from tests.web.test_checkins_auth import EVALUATE, answers_form, answers_json

from tenfour.checkins import reminders, service
from tenfour.checkins.models import BoosterProposal
from tenfour.checkins.pages import _receipt
from tenfour.links import service as links
from tenfour.policy import Permission

P = Permission
CSSRS_FORM = {f"cssrs-{k}": str(v) for k, v in CSSRS_LOW.items()}
# A patient's check-ins from the clinic's phone line are entered by staff; the declared permission (assessment
# write) is one a patient holds for their own record, so the route refuses patients itself (403, both scopes).
STAFF_ENTRY = {("patient", OWN): 403, ("patient", OTHER): 403}

ROUTES: dict[tuple[str, str], Spec] = {
    ("POST", "/api/v1/relapse/evaluate"): Spec(P.ALERT_READ, 200, payload="relapse_history"),
    ("GET", "/api/v1/patients/{patient_id}/checkins"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
    ("POST", "/api/v1/patients/{patient_id}/checkins"): Spec(P.ASSESSMENT_WRITE, 201, scoped=True,
                                                             payload="api_checkin"),
    ("POST", "/api/v1/patients/{patient_id}/checkins/{checkin_id}/cssrs"): Spec(P.ASSESSMENT_WRITE, 201, scoped=True,
                                                                                payload="api_cssrs"),
    ("GET", "/api/v1/patients/{patient_id}/warning-signs"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
    ("PUT", "/api/v1/patients/{patient_id}/warning-signs"): Spec(P.PATIENT_WRITE, 200, scoped=True,
                                                                 payload="api_signs"),
    ("GET", "/api/v1/me/checkin-preferences"): Spec(P.SELF_READ, 200),
    ("PUT", "/api/v1/me/checkin-preferences"): Spec(P.SELF_WRITE, 200, payload="api_preferences"),
    ("GET", "/api/v1/booster-proposals"): Spec(P.ALERT_READ, 200),
    ("POST", "/api/v1/booster-proposals/{proposal_id}/accept"): Spec(P.PLAN_SIGN, 201, scoped=True,
                                                                     payload="no_note"),
    ("POST", "/api/v1/booster-proposals/{proposal_id}/decline"): Spec(P.PLAN_SIGN, 200, scoped=True,
                                                                      payload="decline"),
    ("GET", "/api/v1/booster-requests"): Spec(P.SCHEDULE_VIEW, 200),
    # --- Pages of the patient ---------------------------------------------------------------------------------------
    ("GET", "/me/checkin"): Spec(P.SELF_WRITE, 200),
    ("POST", "/me/checkin"): Spec(P.SELF_WRITE, 303, payload="checkin_form"),
    ("GET", "/me/checkin/{checkin_id}/done"): Spec(P.SELF_READ, 200, scoped=True),
    ("POST", "/me/checkin/{checkin_id}/cssrs"): Spec(P.SELF_WRITE, 303, scoped=True, payload="cssrs_form"),
    ("GET", "/me/checkins"): Spec(P.SELF_READ, 200),
    ("POST", "/me/checkins/preferences"): Spec(P.SELF_WRITE, 303, payload="preferences_form"),
    ("GET", "/me/checkins/trajectory.svg"): Spec(P.SELF_READ, 200),
    # A reminder's link is the key (single use, one patient's check-in): whoever holds it, signed in or not.
    ("GET", "/checkin/{token}"): Spec(PUBLIC, 200, record="checkin_link"),
    ("POST", "/checkin/{token}"): Spec(PUBLIC, 303, record="checkin_link", payload="checkin_form"),
    ("GET", "/checkin/done/{receipt}"): Spec(PUBLIC, 200),
    ("POST", "/checkin/done/{receipt}/cssrs"): Spec(PUBLIC, 303, payload="cssrs_form"),
    # --- Pages of the staff -----------------------------------------------------------------------------------------
    ("GET", "/checkins"): Spec(P.ALERT_READ, 200),
    ("GET", "/checkins/boosters"): Spec(P.ALERT_READ, 200),
    ("POST", "/checkins/boosters/{proposal_id}/accept"): Spec(P.PLAN_SIGN, 303, scoped=True),
    ("POST", "/checkins/boosters/{proposal_id}/decline"): Spec(P.PLAN_SIGN, 303, scoped=True, payload="decline"),
    ("GET", "/patients/{patient_id}/checkins/trajectory.svg"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
    ("POST", "/patients/{patient_id}/checkins/warning-signs"): Spec(P.PATIENT_WRITE, 303, scoped=True,
                                                                    payload="signs_form"),
    ("GET", "/patients/{patient_id}/checkins/enter"): Spec(P.ASSESSMENT_WRITE, 200, scoped=True,
                                                           special=STAFF_ENTRY),
    ("POST", "/patients/{patient_id}/checkins/enter"): Spec(P.ASSESSMENT_WRITE, 303, scoped=True,
                                                            payload="checkin_form", special=STAFF_ENTRY),
}


def build(m: Matrix, db: Session) -> None:
    """Per clinic, for the clinic's test patient: an induction course given three weeks ago, a check-in waiting for
    its C-SSRS follow-up (PHQ-9 item 9 above 0) and an open booster proposal. A reminder's link and the receipt of
    the waiting check-in, for the matrix's own patient."""
    world = m.world
    for scope, patient, clinic in ((OWN, world.patient_north, world.north), (OTHER, world.patient_south,
                                                                             world.south)):
        first = monday_weeks_ago(3)
        course = give_course(db, patient, world.user("prescriber", clinic.slug), first)
        sync(db, course, first - timedelta(days=1))
        flagged = service.submit(db, ctx_for(world.user("nurse", clinic.slug)), patient.id,
                                 service.Answers(pcl5_answers(30), phq9_answers(6, 1)))
        proposal = BoosterProposal(clinic_id=clinic.id, patient_id=patient.id, window_start=date.today(),
                                   window_end=date.today() + timedelta(days=7), latest_treatment_end=date.today(),
                                   median_durability_days=28, n_episodes=1, n_censored=0, explanation="matrix")
        db.add(proposal)
        db.flush()
        m.ids[scope].update(checkin_id=flagged.checkin.id, proposal_id=proposal.id)
    token, _ = links.issue(db, purpose=reminders.LINK_PURPOSE, ttl=timedelta(hours=12),
                           patient_id=world.patient_north.id)
    m.records["checkin_link"] = {OWN: {"token": token}}
    m.ids[OWN]["receipt"] = _receipt(m.secret, m.ids[OWN]["checkin_id"])
    db.commit()


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    return {
        "relapse_history": lambda role, scope: dict(EVALUATE),
        "api_checkin": lambda role, scope: answers_json(),
        "api_cssrs": lambda role, scope: {"answers": dict(CSSRS_LOW)},
        "api_signs": lambda role, scope: {"codes": ["sleep"]},
        "api_preferences": lambda role, scope: {"reminder_hour": 18},
        "no_note": lambda role, scope: {},
        "decline": lambda role, scope: {"reason": "Doing well"},
        "checkin_form": lambda role, scope: answers_form(),
        "cssrs_form": lambda role, scope: dict(CSSRS_FORM),
        "preferences_form": lambda role, scope: {"reminder_hour": "9"},
        "signs_form": lambda role, scope: {"codes": "sleep"},
    }
