"""Booking a chair for an infusion (until the scheduler of issue 7 proposes bookings): a patient with a signed plan,
a date and time, a chair. Never commits.

Two sessions never hold one chair at one time, even when two people book at the same moment: the chair's row is
locked (SELECT ... FOR UPDATE on PostgreSQL; on SQLite every write transaction starts with BEGIN IMMEDIATE and so
holds the database's write lock) before the overlap check, so concurrent bookings of a chair run one after the other
and the second sees the first. The patient's row is locked next (always chair first, then patient: no deadlock), so
one patient is never booked into two chairs at once either.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import WEEKDAYS, Clinic
from tenfour.context import Ctx
from tenfour.core import rosters
from tenfour.core.errors import CoreError
from tenfour.errors import Conflict, Problem, ValidationFailed
from tenfour.infusions import clock, repository
from tenfour.infusions.models import InfusionSession, InfusionTransition
from tenfour.infusions.service import Step, abort, get_session, require_step, rules_for
from tenfour.patients import service as patients
from tenfour.plans import repository as plans_repository
from tenfour.scheduling.rosters import patient_roster

BOOK_AHEAD = timedelta(days=366)
LATE_BOOKING = timedelta(minutes=30)  # a walk-in may be booked up to half an hour after its start time


def _fits_opening_hours(clinic: Clinic, start: datetime, end: datetime) -> bool:
    zone = ZoneInfo(clinic.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date() and local_end.time() != time(0, 0):
        return False
    day = WEEKDAYS[local_start.weekday()]
    for opens, closes in clinic.opening_hours.get(day) or []:
        if time.fromisoformat(opens) <= local_start.time() and local_end.time() <= time.fromisoformat(closes) \
                and local_start.date() == local_end.date():
            return True
    return False


def _hours_text(clinic: Clinic, start: datetime) -> str:
    day = WEEKDAYS[start.astimezone(ZoneInfo(clinic.timezone)).weekday()]
    hours = clinic.opening_hours.get(day) or []
    return ", ".join(f"{a}-{b}" for a, b in hours) or "closed"


def book(db: Session, ctx: Ctx, *, patient_id: int, chair_id: int, start: datetime,
         rescheduled_from: InfusionSession | None = None) -> InfusionSession:
    """Book ``chair_id`` for the patient from ``start`` (aware) for preparation + the plan's infusion + recovery
    (``schedule.prep_min``, plan duration, ``schedule.recovery_min``). Refused: no signed plan (422
    ``signed_plan_required``), outside opening hours, in the past, a roster conflict with the no-duty window (422
    naming the roster rule), the chair or the patient already booked then (409 ``chair_taken`` /
    ``patient_double_booked``)."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    plan = plans_repository.current_signed_plan(db, patient.id)
    if plan is None:
        raise ValidationFailed.single("patient_id", "signed_plan_required",
                                      "this patient has no signed treatment plan yet; a prescriber signs it first")
    if start.tzinfo is None:
        raise ValidationFailed.single("start", "timezone_aware", "must include a time zone")
    now = clock.now()
    problems: list[Problem] = []
    if start < now - LATE_BOOKING:
        problems.append(Problem("start", "not_in_past", "cannot be in the past"))
    elif start > now + BOOK_AHEAD:
        problems.append(Problem("start", "book_ahead", "can be at most a year ahead"))
    rules = rules_for(db, clinic)
    infusion_start = start + timedelta(minutes=rules.prep_min)
    infusion_end = infusion_start + timedelta(minutes=plan.infusion_duration_min)
    end = infusion_end + timedelta(minutes=rules.recovery_min)
    if not problems and not _fits_opening_hours(clinic, start, end):
        local = start.astimezone(ZoneInfo(clinic.timezone))
        problems.append(Problem("start", "opening_hours",
                                f"the session ({local:%H:%M} for {int((end - start).total_seconds() // 60)} min) "
                                f"does not fit the clinic's opening hours that day ({_hours_text(clinic, start)})"))
    roster = patient_roster(db, patient, clinic.timezone)  # with one-off changes (overtime, leave) and custom
    if not problems and roster is not None:
        try:
            conflict = rosters.duty_conflict(roster, infusion_start, infusion_end, rules.prechecks.no_duty_window_h)
        except CoreError as error:
            raise ValidationFailed.from_core(error) from None
        if conflict is not None:
            problems.append(Problem("start", conflict.rule.value, conflict.message))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)

    chair = repository.lock_chair(db, clinic.id, chair_id)
    if chair is None or not chair.is_active:
        raise ValidationFailed.single("chair_id", "active_chair", "is not an active chair of this clinic")
    repository.lock_patient(db, patient.id)
    taken = repository.overlapping(db, start=start, end=end, chair_id=chair.id)
    if taken:
        other = taken[0].scheduled_start.astimezone(ZoneInfo(clinic.timezone))
        raise Conflict(f"{chair.name} is already booked then (a session from {other:%H:%M}).",
                       [Problem("chair_id", "chair_taken", f"{chair.name} is already booked from {other:%H:%M}")])
    if repository.overlapping(db, start=start, end=end, patient_id=patient.id):
        raise Conflict("The patient already has a session at that time.",
                       [Problem("start", "patient_double_booked", "the patient already has a session then")])
    session = InfusionSession(clinic_id=clinic.id, patient_id=patient.id, chair_id=chair.id, plan_id=plan.id,
                              status=Step.SCHEDULED.value, scheduled_start=start, scheduled_end=end,
                              infusion_duration_min=plan.infusion_duration_min, booked_by_id=ctx.actor.user_id,
                              created_at=now, updated_at=now,
                              rescheduled_from_id=rescheduled_from.id if rescheduled_from else None)
    session.transitions.append(
        InfusionTransition(from_status=None, to_status=Step.SCHEDULED.value, at=now, by_user_id=ctx.actor.user_id,
                           note=f"rescheduled from session {rescheduled_from.id}" if rescheduled_from else None))
    db.add(session)
    db.flush()
    record(db, ctx.actor, "infusion.book", clinic_id=clinic.id, patient_id=patient.id,
           record_type="infusion_session", record_id=session.id,
           detail={"chair_id": chair.id, "start": start.isoformat(), "plan_id": plan.id})
    return session


def reschedule(db: Session, ctx: Ctx, session_id: int, *, chair_id: int, start: datetime,
               reason: str | None) -> InfusionSession:
    """Move a session that has not started: the old one is aborted ('Rescheduled ...') and a new one booked,
    linked to it. Both stay on record. Refused like a new booking; then the old session is left as it was."""
    old = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(old, (Step.SCHEDULED, Step.ARRIVED, Step.PRECHECKS_PASSED), "reschedule_before_start",
                 "a session can be rescheduled")
    text = (reason or "").strip() or "no reason given"
    when = start.astimezone(ZoneInfo(_clinic_tz(db, old))) if start.tzinfo else start
    abort(db, ctx, old.id, f"Rescheduled to {when:%a %d %b %H:%M}: {text}"[:500])
    return book(db, ctx, patient_id=old.patient_id, chair_id=chair_id, start=start, rescheduled_from=old)


def _clinic_tz(db: Session, session: InfusionSession) -> str:
    clinic = clinics_repository.by_id(db, session.clinic_id)
    return clinic.timezone if clinic else "UTC"
