"""The policy matrix for shift-aware scheduling: the roster preview, the patient's roster and duty changes, the waiting
list, scheduler runs, rescheduling, the patient's own slot choice, the calendar, settings, .ics and FHIR Appointment.

Built after the chairside (authz_chairside): the same frozen clock (the scheduling clock is the infusions clock), its
'scheduled' session to move, and the plans of authz_intake and authz_checkins to schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session
from tests.checkins_support import ctx_for
from tests.web.authz_chairside import at, the_day
from tests.web.authz_support import OTHER, OWN, SIGNED_IN, Matrix, Spec

from tenfour.policy import Permission
from tenfour.scheduling import planner, settings
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling import rosters as roster_service

P = Permission
ROSTER_PREVIEW = {"pattern": "kelly", "anchor_date": "2026-01-05", "shift_start": "07:00",
                  "timezone": "America/Chicago", "days": 9}

ROUTES: dict[tuple[str, str], Spec] = {
    ("POST", "/api/v1/rosters/preview"): Spec(SIGNED_IN, 200, payload="roster_preview"),
    # --- The patient's own roster, duty changes, slots and calendar file ------------------------------------------
    ("GET", "/api/v1/me/roster"): Spec(P.SELF_READ, 200),
    ("PUT", "/api/v1/me/roster"): Spec(P.SELF_WRITE, 200, payload="api_roster"),
    ("POST", "/api/v1/me/duty-changes"): Spec(P.SELF_WRITE, 201, payload="api_duty_change"),
    ("DELETE", "/api/v1/me/duty-changes/{change_id}"): Spec(P.SELF_WRITE, 204, scoped=True),
    ("GET", "/api/v1/me/scheduling/requests/{request_id}/slots"): Spec(P.SELF_READ, 200, scoped=True),
    ("POST", "/api/v1/me/scheduling/requests/{request_id}/book"): Spec(P.SELF_WRITE, 201, scoped=True,
                                                                       payload="api_self_book"),
    ("GET", "/api/v1/me/appointments.ics"): Spec(P.SELF_READ, 200),
    ("GET", "/me/roster"): Spec(P.SELF_READ, 200),
    ("POST", "/me/roster"): Spec(P.SELF_WRITE, 303, payload="roster_form"),
    ("POST", "/me/roster/changes"): Spec(P.SELF_WRITE, 303, payload="duty_change_form"),
    ("POST", "/me/roster/changes/{change_id}/delete"): Spec(P.SELF_WRITE, 303, scoped=True),
    ("GET", "/me/schedule"): Spec(P.SELF_READ, 200),
    ("GET", "/me/schedule/{request_id}"): Spec(P.SELF_READ, 200, scoped=True),
    ("POST", "/me/schedule/{request_id}/book"): Spec(P.SELF_WRITE, 303, scoped=True, payload="self_book_form"),
    ("GET", "/me/appointments.ics"): Spec(P.SELF_READ, 200),
    # --- The clinic's waiting list and the scheduler ---------------------------------------------------------------
    ("GET", "/api/v1/scheduling/requests"): Spec(P.SCHEDULE_VIEW, 200),
    ("POST", "/api/v1/scheduling/requests"): Spec(P.SCHEDULE_MANAGE, 201, payload="api_request"),
    ("POST", "/api/v1/scheduling/requests/{request_id}/cancel"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True,
                                                                      payload="cancel_reason"),
    ("POST", "/api/v1/scheduling/runs"): Spec(P.SCHEDULE_MANAGE, 201, payload="api_run"),
    ("GET", "/api/v1/scheduling/runs/{run_id}"): Spec(P.SCHEDULE_VIEW, 200, scoped=True),
    ("POST", "/api/v1/scheduling/runs/{run_id}/commit"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True),
    ("POST", "/api/v1/scheduling/runs/{run_id}/discard"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True),
    ("POST", "/api/v1/scheduling/sessions/{session_id}/reschedule"): Spec(
        P.SCHEDULE_MANAGE, 200, scoped=True, record="scheduled", payload="api_confirmed_move"),
    ("GET", "/schedule"): Spec(P.SCHEDULE_VIEW, 200),
    ("GET", "/schedule/requests/new"): Spec(P.SCHEDULE_MANAGE, 200),
    ("POST", "/schedule/requests/new"): Spec(P.SCHEDULE_MANAGE, 303, payload="request_form"),
    ("POST", "/schedule/requests/{request_id}/cancel"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True,
                                                             payload="cancel_reason"),
    ("POST", "/schedule/runs"): Spec(P.SCHEDULE_MANAGE, 303, payload="run_form"),
    ("GET", "/schedule/runs/{run_id}"): Spec(P.SCHEDULE_VIEW, 200, scoped=True),
    ("POST", "/schedule/runs/{run_id}/commit"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True),
    ("POST", "/schedule/runs/{run_id}/discard"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True),
    ("GET", "/schedule/sessions/{session_id}/reschedule"): Spec(P.SCHEDULE_MANAGE, 200, scoped=True,
                                                                record="scheduled"),
    ("POST", "/schedule/sessions/{session_id}/reschedule"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True,
                                                                 record="scheduled", payload="confirmed_move_form"),
    # --- Calendar, settings, files -----------------------------------------------------------------------------------
    ("GET", "/api/v1/scheduling/calendar"): Spec(P.SCHEDULE_VIEW, 200),
    ("GET", "/api/v1/scheduling/settings"): Spec(P.SCHEDULE_VIEW, 200),
    ("PUT", "/api/v1/scheduling/settings/nurses"): Spec(P.SCHEDULE_MANAGE, 200, payload="api_nurses"),
    ("POST", "/api/v1/scheduling/closures"): Spec(P.SCHEDULE_MANAGE, 201, payload="api_closure"),
    ("DELETE", "/api/v1/scheduling/closures/{closure_id}"): Spec(P.SCHEDULE_MANAGE, 204, scoped=True),
    ("GET", "/schedule/calendar"): Spec(P.SCHEDULE_VIEW, 200),
    ("GET", "/schedule/settings"): Spec(P.SCHEDULE_VIEW, 200),
    ("POST", "/schedule/settings/nurses"): Spec(P.SCHEDULE_MANAGE, 303, payload="nurses_form"),
    ("POST", "/schedule/settings/closures"): Spec(P.SCHEDULE_MANAGE, 303, payload="closure_form"),
    ("POST", "/schedule/settings/closures/{closure_id}/delete"): Spec(P.SCHEDULE_MANAGE, 303, scoped=True),
    ("GET", "/api/v1/patients/{patient_id}/appointments.ics"): Spec(P.SCHEDULE_VIEW, 200, scoped=True),
    ("GET", "/patients/{patient_id}/appointments.ics"): Spec(P.SCHEDULE_VIEW, 200, scoped=True),
    ("GET", "/api/v1/fhir/Appointment/{session_id}"): Spec(P.SCHEDULE_VIEW, 200, scoped=True, record="scheduled"),
    ("GET", "/api/v1/fhir/Appointment"): Spec(P.SCHEDULE_VIEW, 200, scoped=True, query="patient={patient_id}"),
}


def build(m: Matrix, db: Session) -> None:
    """Per clinic: the test patient's waiting request for one session from tomorrow (their signed plan is their
    check-in course's), a duty change of theirs, a closure, and a scheduler preview (which also waits the signed plan
    without sessions of authz_intake). The slot the matrix's patient would choose."""
    world = m.world
    tomorrow = the_day() + timedelta(days=1)
    for scope, patient, clinic in ((OWN, world.patient_north, world.north), (OTHER, world.patient_south,
                                                                             world.south)):
        staff = ctx_for(world.user("coordinator", clinic.slug))
        request = requests_service.create(db, staff, clinic, patient_id=patient.id, kind="single", earliest=tomorrow,
                                          latest=None, priority=2, preferred_time="any", sessions=None, note=None)
        own = ctx_for(world.patient_user if scope == OWN else world.other_patient_user)
        change = roster_service.add_duty_change(db, own, patient, kind="leave", start=at(0, day=tomorrow),
                                                end=at(0, day=tomorrow + timedelta(days=1)), note=None)
        closure = settings.add_closure(db, staff, clinic, the_day() + timedelta(days=50), "Staff training")
        run = planner.run(db, staff, clinic, time_limit_s=2, horizon_days=14)
        m.ids[scope].update(request_id=request.id, change_id=change.id, closure_id=closure.id, run_id=run.id)
    db.commit()
    slots = m.client.get(f"/api/v1/me/scheduling/requests/{m.ids[OWN]['request_id']}/slots",
                         headers=m.bearer("patient"))
    assert slots.status_code == 200, slots.text
    m.ids[OWN]["slot"] = next(start for starts in slots.json()["slots"].values() for start in starts)


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    tomorrow = the_day() + timedelta(days=1)
    chair = m.ids[OWN]["chair_id"]
    slot = m.ids[OWN]["slot"]
    change = {"kind": "leave", "start": at(0, day=tomorrow + timedelta(days=2)),
              "end": at(0, day=tomorrow + timedelta(days=3))}
    request = {"patient_id": m.world.patient_north.id, "kind": "single", "earliest": tomorrow.isoformat()}
    return {
        "roster_preview": lambda role, scope: dict(ROSTER_PREVIEW),
        "api_roster": lambda role, scope: {"pattern": None},
        "roster_form": lambda role, scope: {"pattern": ""},
        "api_duty_change": lambda role, scope: {k: (v.isoformat() if k != "kind" else v) for k, v in change.items()},
        "duty_change_form": lambda role, scope: {"kind": "leave", "start_date": change["start"].date().isoformat(),
                                                 "end_date": change["end"].date().isoformat()},
        "api_self_book": lambda role, scope: {"starts": [slot]},
        "self_book_form": lambda role, scope: {"starts": slot},
        "api_request": lambda role, scope: dict(request),
        "request_form": lambda role, scope: {**{k: str(v) for k, v in request.items()}, "priority": "2",
                                             "preferred_time": "any"},
        "cancel_reason": lambda role, scope: {"reason": "Not needed any more"},
        "api_run": lambda role, scope: {"time_limit_s": 1, "horizon_days": 14},
        "run_form": lambda role, scope: {"time_limit_s": "1", "horizon_days": "14"},
        "api_confirmed_move": lambda role, scope: {"chair_id": chair, "start": at(10, day=tomorrow).isoformat(),
                                                   "confirm": True},
        "confirmed_move_form": lambda role, scope: {"chair_id": str(chair), "date": tomorrow.isoformat(),
                                                    "time": "10:00", "confirm": "yes"},
        "api_nurses": lambda role, scope: {"nurses": {"5": 2}},
        "nurses_form": lambda role, scope: {f"nurses_{d}": "2" for d in range(7)},
        "api_closure": lambda role, scope: {"day": (the_day() + timedelta(days=40)).isoformat()},
        "closure_form": lambda role, scope: {"day": (the_day() + timedelta(days=40)).isoformat(),
                                             "reason": "Staff training"},
    }
