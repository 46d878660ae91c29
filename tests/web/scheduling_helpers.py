"""Helpers for the scheduling tests: a firefighter on 24/48 with a signed plan and no sessions (so an induction series
waits), a clinic open every day, and the independent checker run over what was booked."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests import factories
from tests.web.infusion_helpers import CHICAGO, sign_plan

from tenfour.core import rosters
from tenfour.core import scheduling as core
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.scheduling import repository
from tenfour.scheduling.instance import duty_for, local_midnight, picture, policy_for, session_request
from tenfour.scheduling.models import SchedulingRequest

EVERY_DAY = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def clinic_day(now: datetime) -> date:
    return now.astimezone(CHICAGO).date()


def put_on_24_48(patient: Patient, now: datetime) -> None:
    """Platoon A, first shift 07:00 the day after the clock's day: shifts on days 1, 4, 7, ... (Chicago)."""
    patient.roster_pattern, patient.roster_platoon = "24/48", "A"
    patient.roster_anchor_date, patient.roster_shift_start = clinic_day(now) + timedelta(days=1), time(7, 0)


def roster_of(patient: Patient) -> rosters.Roster:
    return rosters.Roster(pattern=patient.roster_pattern, anchor_date=patient.roster_anchor_date,
                          shift_start=patient.roster_shift_start, platoon=patient.roster_platoon or "A",
                          timezone="America/Chicago")


@pytest.fixture
def firefighter(db: Session, world: Any, clock: Any) -> Patient:
    """The north test patient on 24/48 with a signed induction plan and no session; the north clinic opens every
    day 08:00-18:00 (three chairs, one nurse)."""
    world.north.opening_hours = EVERY_DAY
    patient = world.patient_north
    put_on_24_48(patient, clock.now)
    sign_plan(db, patient, world.user("prescriber").id)
    db.commit()
    return patient


def second_patient(db: Session, world: Any, clock: Any, **overrides: Any) -> Patient:
    patient = factories.make_patient(db, world.north, first_name="Otto", **overrides)
    sign_plan(db, patient, world.user("prescriber").id)
    db.commit()
    return patient


def verify_booked(db: Session, clinic: Any, request_ids: list[int]) -> list[core.Violation]:
    """The independent checker over the sessions booked for ``request_ids`` (every other booking as fixed)."""
    rows: list[SchedulingRequest] = [r for r in (repository.request(db, rid) for rid in request_ids) if r]
    booked: list[tuple[SchedulingRequest, int, InfusionSession]] = []
    for row in rows:
        booked += [(row, link.session_index, s) for link, s in repository.request_sessions(db, row.id)]
    assert booked, "nothing booked"
    first = min(s.scheduled_start for _, _, s in booked).astimezone(CHICAGO).date()
    last = max(s.scheduled_start for _, _, s in booked).astimezone(CHICAGO).date()
    start = local_midnight(first, CHICAGO)
    days = (last - first).days + 1
    rules = policy_for(db, clinic)
    pic = picture(db, clinic, start, days, rules, exclude_session_ids={s.id for _, _, s in booked})
    patients = repository.patients(db, {r.patient_id for r in rows})
    duty = duty_for(db, pic, list(patients.values()))
    for fixed in pic.fixed:
        duty.setdefault(fixed.patient_id, ())
    requests = tuple(session_request(r, min(r.earliest_start, start)) for r in rows)
    placed = tuple(core.PlacedSession(str(r.id), str(r.patient_id), index, str(s.chair_id), s.scheduled_start,
                                      s.scheduled_end, s.scheduled_start + timedelta(minutes=rules.prep_min),
                                      s.scheduled_start + timedelta(minutes=rules.prep_min + rules.infusion_min))
                   for r, index, s in booked)
    instance = core.SchedulingInstance(pic.core_clinic, start, days, requests, duty, pic.fixed, rules)
    return core.check_schedule(instance, core.Schedule("booked", "test", placed, ()))


def shift_starts(patient: Patient, start: datetime, end: datetime) -> list[datetime]:
    return [i.start for i in rosters.expand(roster_of(patient), start, end)]
