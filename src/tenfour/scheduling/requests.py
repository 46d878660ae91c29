"""The waiting list: requests for chair time. Never commits.

Requests come from three places:
- a signed induction plan with no session yet becomes an induction series request (``sync``);
- an accepted booster proposal (the check-ins domain's ``BoosterRequest``) becomes a booster request in its window;
- staff add a single session or a series by hand.
``sync`` is idempotent and runs before the queue is shown and before every scheduling run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.checkins.models import BoosterRequestStatus
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.patients import service as patients
from tenfour.plans import repository as plans_repository
from tenfour.policy import ensure_clinic
from tenfour.scheduling import clock, repository
from tenfour.scheduling.instance import local_midnight
from tenfour.scheduling.models import PreferredTime, RequestKind, RequestStatus, SchedulingRequest

BOOSTER_PRIORITY = {"high": 1, "normal": 2}
NOTE_MAX = 500
MAX_WINDOW_DAYS = 120


def sync(db: Session, ctx: Ctx, clinic: Clinic, *, patient_id: int | None = None) -> list[SchedulingRequest]:
    """Create the requests that signed plans and accepted boosters call for (idempotent); only one patient's with
    ``patient_id`` (the patient's own pages, so a plan signed a minute ago can be booked at once)."""
    created = []
    now = clock.now()
    zone = ZoneInfo(clinic.timezone)
    for patient, plan in repository.plans_without_sessions(db, clinic.id, patient_id):
        row = SchedulingRequest(clinic_id=clinic.id, patient_id=patient.id, plan_id=plan.id,
                                kind=RequestKind.INDUCTION.value, sessions=plan.infusions_planned,
                                earliest_start=max(plan.signed_at or now, now), priority=2,
                                source="plan", created_at=plan.signed_at or now,
                                note=f"Induction plan v{plan.version_number} signed")
        db.add(row)
        created.append(row)
    for booster in repository.booster_requests_without_request(db, clinic.id, patient_id):
        plan = plans_repository.current_signed_plan(db, booster.patient_id)
        row = SchedulingRequest(clinic_id=clinic.id, patient_id=booster.patient_id,
                                plan_id=plan.id if plan else None, booster_request_id=booster.id,
                                kind=RequestKind.BOOSTER.value, sessions=1,
                                earliest_start=local_midnight(booster.window_start, zone),
                                latest_end=local_midnight(booster.window_end + timedelta(days=1), zone),
                                priority=BOOSTER_PRIORITY.get(booster.priority, 2), source="booster",
                                created_at=booster.requested_at, note=booster.note)
        db.add(row)
        created.append(row)
    if created:
        db.flush()
        for row in created:
            record(db, ctx.actor, "scheduling.request_create", clinic_id=clinic.id, patient_id=row.patient_id,
                   record_type="scheduling_request", record_id=row.id, detail={"kind": row.kind, "source": row.source})
    return created


def get(db: Session, ctx: Ctx, request_id: int, *, for_update: bool = False) -> SchedulingRequest:
    """A request in one of the staff member's clinics, or the patient's own (404 otherwise)."""
    assert ctx.principal is not None
    row = repository.request(db, request_id, for_update=for_update)
    if row is None:
        raise NotFound("No such scheduling request.")
    try:
        if ctx.principal.is_staff:
            ensure_clinic(ctx.principal, row.clinic_id)
        else:
            patients.get_patient(db, ctx, row.patient_id, audit_action=None)
    except NotFound:
        raise NotFound("No such scheduling request.") from None
    return row


def create(db: Session, ctx: Ctx, clinic: Clinic, *, patient_id: int, kind: str, earliest: date,
           latest: date | None, priority: int, preferred_time: str, sessions: int | None,
           note: str | None) -> SchedulingRequest:
    """Staff add a request by hand: a single session, an induction series or a booster, from ``earliest`` (local
    date) and, for a booster or a single session with a deadline, up to the end of ``latest``."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    if patient.clinic_id != clinic.id:
        raise NotFound("No such patient.")
    plan = plans_repository.current_signed_plan(db, patient.id)
    problems: list[Problem] = []
    if plan is None:
        problems.append(Problem("patient_id", "signed_plan_required",
                                "this patient has no signed treatment plan yet; a prescriber signs it first"))
    if kind not in {k.value for k in RequestKind}:
        problems.append(Problem("kind", "request_kind", "choose induction, booster or single"))
    if priority not in (1, 2, 3):
        problems.append(Problem("priority", "priority_range", "choose 1 (urgent), 2 (soon) or 3 (routine)"))
    if preferred_time not in {p.value for p in PreferredTime}:
        problems.append(Problem("preferred_time", "preferred_time", "choose any, morning or afternoon"))
    zone = ZoneInfo(clinic.timezone)
    today = clock.now().astimezone(zone).date()
    if earliest < today:
        problems.append(Problem("earliest", "not_in_past", "cannot be before today"))
    if latest is not None and latest < earliest:
        problems.append(Problem("latest", "window_order", "must be on or after the earliest date"))
    elif latest is not None and (latest - earliest).days > MAX_WINDOW_DAYS:
        problems.append(Problem("latest", "window_max_days", f"a window is at most {MAX_WINDOW_DAYS} days"))
    if kind == RequestKind.BOOSTER.value and latest is None:
        problems.append(Problem("latest", "booster_window", "a booster needs the last day of its window"))
    count = 1
    if kind == RequestKind.INDUCTION.value:
        count = sessions if sessions is not None else (plan.infusions_planned if plan else 6)
        if not 1 <= count <= 12:
            problems.append(Problem("sessions", "series_length", "a series has 1 to 12 sessions"))
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        problems.append(Problem("note", "max_length", f"must be at most {NOTE_MAX} characters"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    now = clock.now()
    row = SchedulingRequest(clinic_id=clinic.id, patient_id=patient.id, plan_id=plan.id if plan else None,
                            kind=kind, sessions=count, earliest_start=max(local_midnight(earliest, zone), now),
                            latest_end=local_midnight(latest + timedelta(days=1), zone) if latest else None,
                            priority=priority, preferred_time=preferred_time, note=note, source="manual",
                            created_at=now, created_by_id=ctx.actor.user_id)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "scheduling.request_create", clinic_id=clinic.id, patient_id=patient.id,
           record_type="scheduling_request", record_id=row.id, detail={"kind": kind, "source": "manual"})
    return row


def cancel(db: Session, ctx: Ctx, request_id: int, reason: str | None) -> SchedulingRequest:
    row = get(db, ctx, request_id, for_update=True)
    if row.status != RequestStatus.WAITING.value:
        raise Conflict(f"This request is {row.status}; only a waiting request can be cancelled.",
                       [Problem("status", "request_waiting", f"the request is {row.status}")])
    text = (reason or "").strip()
    if len(text) < 3:
        raise ValidationFailed.single("reason", "required", "say why (at least 3 characters)")
    if len(text) > NOTE_MAX:
        raise ValidationFailed.single("reason", "max_length", f"must be at most {NOTE_MAX} characters")
    row.status, row.cancelled_at, row.cancel_reason = RequestStatus.CANCELLED.value, clock.now(), text
    if row.booster_request_id:
        booster = repository.booster_request(db, row.booster_request_id)
        if booster is not None and booster.status == BoosterRequestStatus.REQUESTED.value:
            booster.status = BoosterRequestStatus.CANCELLED.value
    db.flush()
    record(db, ctx.actor, "scheduling.request_cancel", clinic_id=row.clinic_id, patient_id=row.patient_id,
           record_type="scheduling_request", record_id=row.id, detail={"reason": text[:200]})
    return row


def mark_scheduled(db: Session, row: SchedulingRequest, at: datetime) -> None:
    row.status, row.scheduled_at = RequestStatus.SCHEDULED.value, at
    if row.booster_request_id:
        booster = repository.booster_request(db, row.booster_request_id)
        if booster is not None:
            booster.status = BoosterRequestStatus.SCHEDULED.value
