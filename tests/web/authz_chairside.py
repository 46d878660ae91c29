"""The policy matrix at the chairside: the dose and vitals calculators, booking, and every step of an infusion session.

A session's steps need it in a particular state, so each clinic gets one session in each state, walked there through
the API by helper staff (not the matrix's own nurse and prescriber, so either may verify a dose as the second
person). Everything happens on one recent Wednesday, on a clock the matrix holds still at 12:05 in Chicago (10:05 in
Los Angeles, where the other clinic is): both clinics are open, and every step is due:

    10:00  sessions to be 'ready for discharge' and 'discharged' are booked, checked in, pre-checked, dosed, verified
    10:20  their infusions start; 11:01 end; 11:41 recovery vitals, one of each pair discharged
    11:41  the 'infusing' session is walked to verified; 12:01 starts; 12:02 a reading is taken
    12:02  sessions are booked and walked to 'scheduled', 'arrived', 'pre-checks passed', 'dosed' and 'verified'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session
from tests import factories
from tests.web.authz_support import OTHER, OWN, Matrix, Spec
from tests.web.infusion_helpers import (
    CHICAGO,
    GOOD_PRECHECKS,
    GOOD_VITALS,
    Clock,
    Walker,
    recent_wednesday_0830,
    sign_plan,
)
from tests.web.support import open_token
from tests.web.test_infusions_auth import CADSS, EVENT

from tenfour.clinics.models import Chair
from tenfour.policy import Permission

P = Permission
HELPERS = ("nurse", "prescriber", "coordinator")
EXTRA_CHAIRS = 5  # three chairs per test clinic, eight sessions on the day
DOSE_BASE = {"dose_mg_per_kg": 0.5, "duration_min": 40, "concentration_mg_per_ml": 1, "weight_kg": 80}

ROUTES: dict[tuple[str, str], Spec] = {
    ("POST", "/api/v1/dosing/calculate"): Spec(P.INFUSION_CHART, 200, payload="dose_calculation"),
    ("POST", "/api/v1/vitals/evaluate"): Spec(P.INFUSION_CHART, 200, payload="vitals_evaluation"),
    ("GET", "/api/v1/infusion-sessions"): Spec(P.SCHEDULE_VIEW, 200),
    ("POST", "/api/v1/infusion-sessions"): Spec(P.SCHEDULE_MANAGE, 201, payload="api_booking"),
    ("GET", "/api/v1/patients/{patient_id}/infusion-sessions"): Spec(P.INFUSION_CHART, 200, scoped=True),
    ("GET", "/api/v1/infusion-sessions/{session_id}"): Spec(P.INFUSION_CHART, 200, scoped=True, record="infusing"),
    ("GET", "/api/v1/infusion-sessions/{session_id}/fhir"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                 record="discharged"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/reschedule"): Spec(P.SCHEDULE_MANAGE, 201, scoped=True,
                                                                        record="scheduled", payload="api_move"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/cancel"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True,
                                                                    record="scheduled", payload="reason"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/arrive"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                    record="scheduled"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/prechecks"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                       record="arrived", payload="api_prechecks"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/duty-override"): Spec(P.DOSE_CHANGE, 200, scoped=True,
                                                                           record="arrived", payload="reason"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/dose"): Spec(P.INFUSION_CHART, 201, scoped=True,
                                                                  record="prechecked", payload="empty"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/dose/{dose_id}/verify"): Spec(P.INFUSION_CHART, 200,
                                                                                   scoped=True, record="dosed"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/start"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                   record="verified"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/pump"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                  record="infusing", payload="api_pause"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/vitals"): Spec(P.INFUSION_CHART, 201, scoped=True,
                                                                    record="infusing", payload="api_vitals"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/vitals/{reading_id}/actions"): Spec(
        P.INFUSION_CHART, 200, scoped=True, record="infusing", payload="api_actions"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/adverse-events"): Spec(P.INFUSION_CHART, 201, scoped=True,
                                                                            record="infusing", payload="api_event"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/end"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                 record="infusing", payload="empty"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/cadss6"): Spec(P.INFUSION_CHART, 201, scoped=True,
                                                                    record="recovering", payload="api_cadss6"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/discharge"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                       record="recovering", payload="api_discharge"),
    ("POST", "/api/v1/infusion-sessions/{session_id}/abort"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                   record="infusing", payload="reason"),
    # --- Pages ------------------------------------------------------------------------------------------------------
    ("GET", "/chairside"): Spec(P.INFUSION_CHART, 200),
    ("GET", "/chairside/book"): Spec(P.SCHEDULE_MANAGE, 200),
    ("POST", "/chairside/book"): Spec(P.SCHEDULE_MANAGE, 303, payload="booking_form"),
    ("GET", "/infusions/{session_id}"): Spec(P.INFUSION_CHART, 200, scoped=True, record="infusing"),
    ("GET", "/infusions/{session_id}/discharge-sheet"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                             record="discharged"),
    ("GET", "/infusions/{session_id}/discharge-sheet.pdf"): Spec(P.INFUSION_CHART, 200, scoped=True,
                                                                 record="discharged"),
    ("GET", "/infusions/{session_id}/reschedule"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True, record="scheduled"),
    ("POST", "/infusions/{session_id}/reschedule"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True, record="scheduled",
                                                         payload="move_form"),
    ("POST", "/infusions/{session_id}/cancel"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True, record="scheduled",
                                                     payload="reason"),
    ("POST", "/infusions/{session_id}/arrive"): Spec(P.INFUSION_CHART, 303, scoped=True, record="scheduled"),
    ("POST", "/infusions/{session_id}/prechecks"): Spec(P.INFUSION_CHART, 303, scoped=True, record="arrived",
                                                        payload="prechecks_form"),
    ("POST", "/infusions/{session_id}/duty-override"): Spec(P.DOSE_CHANGE, 303, scoped=True, record="arrived",
                                                            payload="reason"),
    ("POST", "/infusions/{session_id}/dose"): Spec(P.INFUSION_CHART, 303, scoped=True, record="prechecked"),
    ("POST", "/infusions/{session_id}/dose/{dose_id}/verify"): Spec(P.INFUSION_CHART, 303, scoped=True,
                                                                    record="dosed"),
    ("POST", "/infusions/{session_id}/start"): Spec(P.INFUSION_CHART, 303, scoped=True, record="verified"),
    ("POST", "/infusions/{session_id}/pump"): Spec(P.INFUSION_CHART, 303, scoped=True, record="infusing",
                                                   payload="api_pause"),
    ("POST", "/infusions/{session_id}/vitals"): Spec(P.INFUSION_CHART, 303, scoped=True, record="infusing",
                                                     payload="vitals_form"),
    ("POST", "/infusions/{session_id}/vitals/{reading_id}/actions"): Spec(P.INFUSION_CHART, 303, scoped=True,
                                                                          record="infusing", payload="api_actions"),
    ("POST", "/infusions/{session_id}/adverse-events"): Spec(P.INFUSION_CHART, 303, scoped=True, record="infusing",
                                                             payload="event_form"),
    ("POST", "/infusions/{session_id}/end"): Spec(P.INFUSION_CHART, 303, scoped=True, record="infusing"),
    ("POST", "/infusions/{session_id}/cadss6"): Spec(P.INFUSION_CHART, 303, scoped=True, record="recovering",
                                                     payload="cadss6_form"),
    ("POST", "/infusions/{session_id}/discharge"): Spec(P.INFUSION_CHART, 303, scoped=True, record="recovering",
                                                        payload="discharge_form"),
    ("POST", "/infusions/{session_id}/abort"): Spec(P.INFUSION_CHART, 303, scoped=True, record="infusing",
                                                    payload="reason"),
}


def the_day() -> date:
    """The matrix's Wednesday (recent and past, so real time is always later)."""
    return recent_wednesday_0830().astimezone(CHICAGO).date()


def at(hour: int, minute: int = 0, day: date | None = None) -> datetime:
    """A time on the matrix's day (or `day`), Chicago time."""
    return datetime.combine(day or the_day(), time(hour, minute), tzinfo=CHICAGO)


NOW = at(12, 5)  # the clock of every cell


def build(m: Matrix, db: Session, clock: Clock) -> None:
    """Sessions in each state in both clinics (see the module's docstring); `clock` is the frozen infusions clock."""
    world = m.world
    tokens: dict[tuple[str, str], str] = {}
    chairs: dict[str, list[int]] = {}  # by position: the first is the matrix's chair_id
    patients: dict[tuple[str, str], Any] = {}
    for scope, clinic in ((OWN, world.north), (OTHER, world.south)):
        for n in range(EXTRA_CHAIRS):
            clinic.chairs.append(Chair(name=f"Matrix chair {n + 4}", position=n + 4))
        for role in HELPERS:
            helper = factories.make_user(db, role=role, clinics=[clinic], full_name=f"Helper {role.title()}")
            tokens[(role, clinic.slug)] = open_token(db, helper, "api")
        prescriber = world.user("prescriber", clinic.slug).id
        for state in ("scheduled", "arrived", "prechecked", "dosed", "verified", "infusing", "recovering",
                      "discharged"):
            patient = factories.make_patient(db, clinic, first_name="Chris", status="active")
            sign_plan(db, patient, prescriber)
            patients[(scope, state)] = patient
        db.flush()
        chairs[scope] = [c.id for c in sorted(clinic.chairs, key=lambda c: c.position)]
    db.commit()

    def as_api(role: str, clinic: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[(role, clinic)]}"}

    slugs = {OWN: world.north.slug, OTHER: world.south.slug}
    walkers: dict[tuple[str, str], Walker] = {}

    def walker(scope: str, state: str, chair: int) -> Walker:
        made = Walker(m.client, as_api, clock, patients[(scope, state)], chairs[scope][chair], clinic=slugs[scope])
        walkers[(scope, state)] = made
        return made

    scopes = (OWN, OTHER)
    clock.now = at(10)
    for scope in scopes:
        walker(scope, "recovering", 0).to("verified")
        walker(scope, "discharged", 1).to("verified")
    pairs = [walkers[(s, state)] for s in scopes for state in ("recovering", "discharged")]
    clock.now = at(10, 20)
    for w in pairs:
        w.post("/start")
    clock.now = at(11, 1)
    for w in pairs:
        w.post("/end", {})
    clock.now = at(11, 41)
    for w in pairs:
        w.post("/vitals", GOOD_VITALS, expect=201)
    for scope in scopes:
        walkers[(scope, "discharged")].post("/discharge", {"alert_and_oriented": True, "escort_present": True})
        walker(scope, "infusing", 2).to("verified")
    clock.now = at(12, 1)
    for scope in scopes:
        walkers[(scope, "infusing")].post("/start")
    clock.now = at(12, 2)
    for scope in scopes:
        walkers[(scope, "infusing")].post("/vitals", GOOD_VITALS, expect=201)
        for chair, (state, step) in enumerate((("scheduled", "scheduled"), ("arrived", "arrived"),
                                               ("prechecked", "prechecks_passed"), ("dosed", "dosed"),
                                               ("verified", "verified")), start=3):
            walker(scope, state, chair).to(step)
    clock.now = NOW

    for state in ("scheduled", "arrived", "prechecked", "dosed", "verified", "infusing", "recovering", "discharged"):
        m.records[state] = {scope: {"session_id": walkers[(scope, state)].session_id} for scope in scopes}
    for scope in scopes:
        m.records["dosed"][scope]["dose_id"] = walkers[(scope, "dosed")].body["doses"][-1]["id"]
        m.records["infusing"][scope]["reading_id"] = walkers[(scope, "infusing")].body["vitals"][-1]["id"]
    m.helpers.update(tokens)


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    """A booking for a patient with a signed plan and no session, this afternoon; a move to tomorrow morning."""
    bookable = m.records["plan_signed"][OWN]["patient_id"]
    first_chair = m.ids[OWN]["chair_id"]
    afternoon, tomorrow = at(15), at(10, day=the_day() + timedelta(days=1))
    move = {"chair_id": first_chair, "start": tomorrow.isoformat(), "reason": "The patient asked for tomorrow"}
    return {
        "dose_calculation": lambda role, scope: dict(DOSE_BASE),
        "vitals_evaluation": lambda role, scope: {"phase": "infusing", **{k: v for k, v in GOOD_VITALS.items()}},
        "api_booking": lambda role, scope: {"patient_id": bookable, "chair_id": first_chair,
                                            "start": afternoon.isoformat()},
        "booking_form": lambda role, scope: {"patient_id": str(bookable), "chair_id": str(first_chair),
                                             "date": the_day().isoformat(), "time": "15:00"},
        "api_move": lambda role, scope: dict(move),
        "move_form": lambda role, scope: {"chair_id": str(first_chair), "date": tomorrow.date().isoformat(),
                                          "time": "10:00", "reason": move["reason"]},
        "reason": lambda role, scope: {"reason": "Unwell today"},
        "empty": lambda role, scope: {},
        "api_prechecks": lambda role, scope: dict(GOOD_PRECHECKS),
        "prechecks_form": lambda role, scope: {k: ("on" if v is True else str(v)) for k, v in GOOD_PRECHECKS.items()},
        "api_pause": lambda role, scope: {"action": "pause"},
        "api_vitals": lambda role, scope: dict(GOOD_VITALS),
        "vitals_form": lambda role, scope: {k: str(v) for k, v in GOOD_VITALS.items()},
        "api_actions": lambda role, scope: {"actions": ["prescriber_called"]},
        "api_event": lambda role, scope: dict(EVENT),
        "event_form": lambda role, scope: dict(EVENT),
        "api_cadss6": lambda role, scope: {"answers": dict(CADSS["answers"])},
        "cadss6_form": lambda role, scope: {k: str(v) for k, v in CADSS["answers"].items()},
        "api_discharge": lambda role, scope: {"alert_and_oriented": True, "escort_present": True},
        "discharge_form": lambda role, scope: {"alert_and_oriented": "on", "escort_present": "on"},
    }
