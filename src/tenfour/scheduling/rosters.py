"""A patient's duty roster with its one-off changes and custom cycle; the patient editing it; calendars of duty.

``patient_roster`` is what every duty check uses (the scheduler, the patient's slot choice, and the booking service):
the patient's roster fields (``patients.rosters.roster_for``) with the custom on/off hours and the one-off changes
stored here. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import validate_timezone
from tenfour.context import Ctx
from tenfour.core import rosters
from tenfour.core.errors import CoreError, FieldProblem
from tenfour.errors import NotFound, Problem, ValidationFailed
from tenfour.patients.models import Patient
from tenfour.patients.rosters import roster_for
from tenfour.scheduling import clock, repository
from tenfour.scheduling.models import PatientCustomRoster, PatientDutyChange

MAX_CHANGE_DAYS = 120  # one change (a leave) covers at most this many days (input sanity)
CHANGE_NOTE_MAX = 200
CALENDAR_DAYS = 42  # six weeks on the patient's calendar


def patient_roster(db: Session, patient: Patient, clinic_timezone: str,
                   change_rows: list[PatientDutyChange] | None = None) -> rosters.Roster | None:
    """The patient's roster with its custom cycle and every one-off change (None when none is recorded).
    ``change_rows``: the patient's one-off changes already read (``repository.duty_changes``), not read again."""
    return patient_rosters(db, [patient], clinic_timezone, change_rows)[patient.id]


def patient_rosters(db: Session, patients: list[Patient], clinic_timezone: str,
                    change_rows: list[PatientDutyChange] | None = None) -> dict[int, rosters.Roster | None]:
    """``patient_roster`` of many patients, by patient id, in two queries (not two per patient)."""
    ids = [p.id for p in patients]
    customs = repository.custom_rosters(db, ids)
    changes: dict[int, list[rosters.DutyChange]] = {}
    for c in repository.duty_changes(db, ids) if change_rows is None else change_rows:
        changes.setdefault(c.patient_id, []).append(rosters.DutyChange(kind=c.kind, start=c.start, end=c.end,
                                                                       note=c.note or ""))
    return {p.id: roster_for(p, clinic_timezone, changes=changes.get(p.id, ()),
                             custom_on_off_h=customs[p.id].on_off_h if p.id in customs else None)
            for p in patients}


def on_duty(roster: rosters.Roster | None, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """On-duty intervals overlapping [start, end) (empty without a roster)."""
    if roster is None:
        return []
    return [(i.start, i.end) for i in rosters.expand(roster, start, end)]


# --- The patient's own roster ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterInput:
    pattern: str | None
    anchor_date: date | None
    shift_start: time | None
    platoon: str | None
    timezone: str | None
    custom_on_off_h: list[float] | None = None


def parse_on_off(text: str | None) -> list[float] | None:
    """'24, 24, 24, 72' -> [24.0, 24.0, 24.0, 72.0] (ValidationFailed naming the field)."""
    if text is None or not str(text).strip():
        return None
    try:
        hours = [float(part) for part in str(text).replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed.single(
            "custom_on_off_h", "hours_list",
            "write hours on, off, on, off … separated by commas, e.g. 24, 24, 24, 72") from None
    return hours


def check_roster(data: RosterInput, clinic_timezone: str, today: date) -> rosters.Roster | None:
    """Validate a roster as the patient entered it (every problem, each naming the field and the rule)."""
    if not data.pattern:
        return None
    problems: list[FieldProblem] = []
    for name in ("anchor_date", "shift_start"):
        if getattr(data, name) is None:
            problems.append(FieldProblem(name, "required_with_pattern", "is needed with a duty roster pattern"))
    cycle, blocks = None, ()
    if data.pattern == "custom":
        if not data.custom_on_off_h:
            problems.append(FieldProblem("custom_on_off_h", "custom_blocks_required",
                                         "a custom roster needs its on/off hours, e.g. 24, 24, 24, 72"))
        else:
            try:
                cycle, blocks = rosters.custom_blocks_from_on_off(data.custom_on_off_h)
            except CoreError as error:
                problems += [FieldProblem("custom_on_off_h", p.rule, p.message) for p in error.problems]
    if problems:
        raise CoreError(problems)
    roster = rosters.Roster(pattern=data.pattern, anchor_date=data.anchor_date,  # type: ignore[arg-type]
                            shift_start=data.shift_start, platoon=(data.platoon or "A").strip().upper() or "A",  # type: ignore[arg-type]
                            timezone=data.timezone or clinic_timezone, custom_cycle_days=cycle, custom_blocks=blocks)
    rosters.validate_roster(roster, today=today)
    return roster


def save_roster(db: Session, ctx: Ctx, patient: Patient, data: RosterInput) -> Patient:
    """The patient (or staff) saves the roster: pattern, anchor date, shift start, platoon, time zone, custom hours.
    An empty pattern clears the roster."""
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    timezone = validate_timezone(data.timezone) if data.timezone else None
    today = clock.now().astimezone(ZoneInfo(timezone or clinic.timezone)).date()
    try:
        check_roster(RosterInput(data.pattern, data.anchor_date, data.shift_start, data.platoon, timezone,
                                 data.custom_on_off_h), clinic.timezone, today)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    patient.roster_pattern = data.pattern or None
    patient.roster_anchor_date = data.anchor_date if data.pattern else None
    patient.roster_shift_start = data.shift_start if data.pattern else None
    patient.roster_platoon = ((data.platoon or "A").strip().upper() or "A") if data.pattern else None
    if timezone:
        patient.timezone = timezone
    custom = repository.custom_rosters(db, [patient.id]).get(patient.id)
    if data.pattern == "custom":
        if custom is None:
            custom = PatientCustomRoster(patient_id=patient.id, on_off_h=[])
            db.add(custom)
        custom.on_off_h = list(data.custom_on_off_h or [])
        custom.updated_at = clock.now()
    elif custom is not None:
        db.delete(custom)
    db.flush()
    record(db, ctx.actor, "roster.update", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id,
           detail={"pattern": data.pattern, "platoon": patient.roster_platoon,
                   "anchor_date": str(data.anchor_date) if data.anchor_date else None})
    return patient


def roster_values(db: Session, patient: Patient) -> dict[str, Any]:
    custom = repository.custom_rosters(db, [patient.id]).get(patient.id)
    return {"pattern": patient.roster_pattern or "",
            "anchor_date": patient.roster_anchor_date.isoformat() if patient.roster_anchor_date else "",
            "shift_start": patient.roster_shift_start.strftime("%H:%M") if patient.roster_shift_start else "",
            "platoon": patient.roster_platoon or "", "timezone": patient.timezone or "",
            "custom_on_off_h": ", ".join(f"{h:g}" for h in custom.on_off_h) if custom else ""}


# --- One-off changes --------------------------------------------------------------------------------------------


def add_duty_change(db: Session, ctx: Ctx, patient: Patient, *, kind: str, start: datetime, end: datetime,
                    note: str | None) -> PatientDutyChange:
    problems: list[Problem] = []
    if kind not in {str(k) for k in rosters.ChangeKind}:
        problems.append(Problem("kind", "change_kind", "choose overtime, trade_in, trade_out or leave"))
    if start.tzinfo is None or end.tzinfo is None:
        problems.append(Problem("start", "timezone_aware", "must include a time zone"))
    elif end <= start:
        problems.append(Problem("end", "change_end_after_start", "must be after the start"))
    elif end - start > timedelta(days=MAX_CHANGE_DAYS):
        problems.append(Problem("end", "change_max_days", f"one change covers at most {MAX_CHANGE_DAYS} days"))
    elif end < clock.now() - timedelta(days=1):
        problems.append(Problem("end", "not_in_past", "a change that ended before yesterday changes nothing"))
    note = (note or "").strip() or None
    if note and len(note) > CHANGE_NOTE_MAX:
        problems.append(Problem("note", "max_length", f"must be at most {CHANGE_NOTE_MAX} characters"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    change = PatientDutyChange(patient_id=patient.id, kind=kind, start=start.astimezone(UTC),
                               end=end.astimezone(UTC), note=note, created_at=clock.now(),
                               created_by_id=ctx.actor.user_id)
    db.add(change)
    db.flush()
    record(db, ctx.actor, "roster.change_add", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient_duty_change", record_id=change.id,
           detail={"kind": kind, "start": start.isoformat(), "end": end.isoformat()})
    return change


def delete_duty_change(db: Session, ctx: Ctx, patient: Patient, change_id: int) -> None:
    change = repository.duty_change(db, change_id)
    if change is None or change.patient_id != patient.id:
        raise NotFound("No such duty change.")
    db.delete(change)
    db.flush()
    record(db, ctx.actor, "roster.change_delete", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient_duty_change", record_id=change_id)


# --- Calendars ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: date
    duty: list[tuple[datetime, datetime, str]]  # (start, end, source) of duty touching the day
    no_duty: bool  # a session ending today could be followed by a shift within the window (rough, for the eye)
    sessions: list[Any]


def duty_calendar(roster: rosters.Roster | None, zone: ZoneInfo, first: date, days: int,
                  sessions: list[Any] | None = None) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of days from ``first`` with the duty touching each day and the sessions booked."""
    start_day = first - timedelta(days=first.weekday())
    total = ((first - start_day).days + days + 6) // 7 * 7
    lo = datetime.combine(start_day, time(), tzinfo=zone)
    hi = datetime.combine(start_day + timedelta(days=total), time(), tzinfo=zone)
    intervals = rosters.expand(roster, lo, hi) if roster is not None else []
    weeks: list[list[CalendarDay]] = []
    for n in range(total):
        day = start_day + timedelta(days=n)
        a = datetime.combine(day, time(), tzinfo=zone)
        b = a + timedelta(days=1)
        duty = [(i.start, i.end, str(i.source)) for i in intervals if i.start < b and i.end > a]
        booked = [s for s in (sessions or []) if s.scheduled_start.astimezone(zone).date() == day]
        tomorrow_starts = any(a + timedelta(days=1) <= i.start < b + timedelta(days=1) for i in intervals)
        if n % 7 == 0:
            weeks.append([])
        weeks[-1].append(CalendarDay(day, duty, tomorrow_starts, booked))
    return weeks
