"""A patient books their own waiting request from the slots the model allows, one session at a time on the phone.

Every slot offered keeps the clinic's rules and the patient's: off duty, no shift starting within the no-duty window
after the session, one session a day, the series' spacing, weekly maximum and window, a chair and a nurse free; and
the rest of the series can still be booked after it (``core.scheduling.choices``). Before anything is booked, the
whole series is checked by the independent checker; then every session goes through the infusion booking service.
Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import scheduling as core
from tenfour.core.errors import CoreError
from tenfour.core.scheduling.choices import SlotChoice, chosen_schedule, series_choices
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.infusions import booking
from tenfour.infusions.models import InfusionSession
from tenfour.patients import repository as patients_repository
from tenfour.patients import service as patients
from tenfour.patients.models import Patient
from tenfour.plans import repository as plans_repository
from tenfour.scheduling import clock, repository
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling.instance import duty_for, picture, policy_for, session_request
from tenfour.scheduling.models import RequestStatus, SchedulingRequest, SchedulingRequestSession
from tenfour.scheduling.planner import horizon_start

EXTRA_DAYS = 14  # a series may start up to two weeks after the first possible day (then the clinic plans it)
MAX_STARTS = 12


def own_patient(db: Session, ctx: Ctx) -> Patient:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patients.get_patient(db, ctx, patient.id, audit_action=None)


def own_request(db: Session, ctx: Ctx, patient: Patient, request_id: int) -> SchedulingRequest:
    row = repository.request(db, request_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound("No such scheduling request.")
    return row


@dataclass(frozen=True)
class Offer:
    request: SchedulingRequest
    choice: SlotChoice
    chosen: list[datetime]
    instance: core.SchedulingInstance


def _instance(db: Session, clinic: Clinic, patient: Patient, row: SchedulingRequest) -> core.SchedulingInstance:
    plan = plans_repository.by_id(db, row.plan_id) if row.plan_id else None
    rules = policy_for(db, clinic, plan.infusion_duration_min if plan else None)
    start = horizon_start(clinic, clock.now())
    days = rules.series_window_days + EXTRA_DAYS
    if row.latest_end is not None:
        days = max(1, min(days, (row.latest_end - start).days + 1))
    pic = picture(db, clinic, start, days, rules)
    duty = duty_for(db, pic, [patient])
    for fixed in pic.fixed:
        duty.setdefault(fixed.patient_id, ())
    return core.SchedulingInstance(pic.core_clinic, start, days, (session_request(row, start),), duty, pic.fixed, rules)


def _parse_chosen(raw: list[str]) -> list[datetime]:
    out = []
    for i, value in enumerate(raw[:MAX_STARTS]):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationFailed.single(f"starts[{i}]", "datetime", "is not a date and time") from None
        if moment.tzinfo is None:
            raise ValidationFailed.single(f"starts[{i}]", "timezone_aware", "must include a time zone")
        out.append(moment)
    return out


def offer(db: Session, ctx: Ctx, request_id: int, chosen_raw: list[str]) -> Offer:
    """The slots for the next session of the patient's waiting request, after the starts chosen so far."""
    patient = own_patient(db, ctx)
    row = own_request(db, ctx, patient, request_id)
    if row.status != RequestStatus.WAITING.value:
        raise Conflict(f"This request is {row.status}.", [Problem("request_id", "request_waiting", row.status)])
    clinic = clinics_repository.by_id(db, row.clinic_id)
    assert clinic is not None
    chosen = _parse_chosen(chosen_raw)
    instance = _instance(db, clinic, patient, row)
    try:
        choice = series_choices(instance, str(row.id), chosen)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    record(db, ctx.actor, "scheduling.slots_view", clinic_id=clinic.id, patient_id=patient.id,
           record_type="scheduling_request", record_id=row.id)
    return Offer(row, choice, chosen, instance)


def book(db: Session, ctx: Ctx, request_id: int, starts_raw: list[str]) -> list[InfusionSession]:
    """Book the chosen starts (all of the series): each must have been offered; the independent checker verifies
    the whole series; each session goes through the booking service (chairs locked)."""
    patient = own_patient(db, ctx)
    row = own_request(db, ctx, patient, request_id)
    row = repository.request(db, row.id, for_update=True) or row
    if row.status != RequestStatus.WAITING.value:
        raise Conflict(f"This request is {row.status}.", [Problem("request_id", "request_waiting", row.status)])
    clinic = clinics_repository.by_id(db, row.clinic_id)
    assert clinic is not None
    starts = _parse_chosen(starts_raw)
    instance = _instance(db, clinic, patient, row)
    try:
        schedule = chosen_schedule(instance, str(row.id), starts)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    violations = core.check_schedule(instance, schedule)
    if violations:  # never expected: the offer and the checker are written apart
        raise ValidationFailed("; ".join(v.message for v in violations),
                               [Problem("starts", v.rule, v.message) for v in violations])
    booked = []
    for placed in schedule.sessions:
        session = booking.book(db, ctx, patient_id=patient.id, chair_id=int(placed.chair_id), start=placed.start)
        db.add(SchedulingRequestSession(request_id=row.id, infusion_session_id=session.id,
                                        session_index=placed.session_index))
        booked.append(session)
    requests_service.mark_scheduled(db, row, clock.now())
    db.flush()
    record(db, ctx.actor, "scheduling.self_book", clinic_id=clinic.id, patient_id=patient.id,
           record_type="scheduling_request", record_id=row.id, detail={"sessions": len(booked)})
    return booked


def waiting_requests(db: Session, ctx: Ctx, patient: Patient) -> list[SchedulingRequest]:
    """The patient's waiting requests, after creating the ones their signed plan or accepted booster calls for."""
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    if clinic is not None:
        requests_service.sync(db, ctx, clinic, patient_id=patient.id)
    return repository.patient_requests(db, patient.id, [RequestStatus.WAITING.value])


def upcoming(db: Session, patient: Patient, now: datetime) -> list[InfusionSession]:
    return [s for s in repository.patient_sessions(db, patient.id) if s.scheduled_end > now - timedelta(hours=12)]


def zone_of(db: Session, patient: Patient) -> ZoneInfo:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return ZoneInfo(patient.timezone or (clinic.timezone if clinic else "UTC"))
