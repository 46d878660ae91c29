"""The clinic's scheduling settings: nurses on duty per weekday and closure dates. Never commits."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.scheduling import clock, repository
from tenfour.scheduling.instance import local_midnight, nurses_by_weekday
from tenfour.scheduling.models import ClinicClosure, ClinicNurseStaffing

MAX_NURSES = 50
REASON_MAX = 200


def set_nurses(db: Session, ctx: Ctx, clinic: Clinic, counts: dict[int, int]) -> dict[int, int]:
    """Nurses on duty per weekday (0 = Monday), 0 to 50 each; only the weekdays given change."""
    problems = [Problem(f"nurses_{d}", "nurse_count_range", f"must be a whole number from 0 to {MAX_NURSES}")
                for d, n in counts.items() if not (isinstance(n, int) and 0 <= n <= MAX_NURSES)]
    problems += [Problem(f"nurses_{d}", "weekday", "weekday must be 0 (Monday) to 6 (Sunday)")
                 for d in counts if not (isinstance(d, int) and 0 <= d <= 6)]
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    rows = repository.staffing(db, clinic.id)
    before = nurses_by_weekday(db, clinic.id)
    for weekday, nurses in counts.items():
        row = rows.get(weekday)
        if row is None:
            row = ClinicNurseStaffing(clinic_id=clinic.id, weekday=weekday, nurses=nurses)
            db.add(row)
        row.nurses, row.updated_at, row.updated_by_id = nurses, clock.now(), ctx.actor.user_id
    db.flush()
    after = nurses_by_weekday(db, clinic.id)
    changed = {d: [before[d], after[d]] for d in range(7) if before[d] != after[d]}
    if changed:
        record(db, ctx.actor, "scheduling.nurses", clinic_id=clinic.id, record_type="clinic", record_id=clinic.id,
               detail={"changed": {str(d): v for d, v in changed.items()}})
    return after


def add_closure(db: Session, ctx: Ctx, clinic: Clinic, day: date, reason: str | None) -> ClinicClosure:
    today = clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
    reason = (reason or "").strip() or None
    if day < today:
        raise ValidationFailed.single("day", "not_in_past", "cannot be before today")
    if reason and len(reason) > REASON_MAX:
        raise ValidationFailed.single("reason", "max_length", f"must be at most {REASON_MAX} characters")
    if repository.closure_on(db, clinic.id, day) is not None:
        raise Conflict("The clinic is already closed that day.",
                       [Problem("day", "closure_unique", "already a closure on that day")])
    zone = ZoneInfo(clinic.timezone)
    booked = repository.booked_between(db, clinic.id, local_midnight(day, zone),
                                       local_midnight(day + timedelta(days=1), zone))
    if booked:  # nothing already booked moves unless someone moves it
        raise Conflict(f"{len(booked)} session(s) are booked that day: reschedule or cancel them first.",
                       [Problem("day", "closure_has_bookings",
                                f"{len(booked)} session(s) are booked on {day.isoformat()}")])
    row = ClinicClosure(clinic_id=clinic.id, day=day, reason=reason, created_at=clock.now(),
                        created_by_id=ctx.actor.user_id)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "scheduling.closure_add", clinic_id=clinic.id, record_type="clinic_closure",
           record_id=row.id, detail={"day": day.isoformat(), "reason": reason})
    return row


def delete_closure(db: Session, ctx: Ctx, clinic: Clinic, closure_id: int) -> None:
    row = repository.closure(db, closure_id)
    if row is None or row.clinic_id != clinic.id:
        raise NotFound("No such closure.")
    db.delete(row)
    db.flush()
    record(db, ctx.actor, "scheduling.closure_delete", clinic_id=clinic.id, record_type="clinic_closure",
           record_id=closure_id, detail={"day": row.day.isoformat()})
