"""The clinic as the pure scheduler sees it: opening hours, closures, chairs, nurses, booked sessions, patients' duty.

Ids: chairs, patients and requests are the database ids as strings. Booked sessions become ``FixedSession`` with
their own times (a plan's infusion may differ from the clinic's default). Nurses on duty: the clinic's count per
weekday (``ClinicNurseStaffing``; ``DEFAULT_NURSES`` where none is set) during opening hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.clinics.models import WEEKDAYS
from tenfour.clinics.models import Clinic as ClinicRow
from tenfour.clinics.service import effective_policy
from tenfour.core import scheduling as core
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.scheduling import repository
from tenfour.scheduling.rosters import on_duty, patient_rosters

DEFAULT_NURSES = 1  # nurses on duty on a weekday the clinic has not set (the cautious choice, documented)
DUTY_MARGIN = timedelta(days=3)  # duty expanded this far around the horizon (a 48 h shift, the 24 h window)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def opening_hours(clinic: ClinicRow) -> dict[int, tuple[tuple[time, time], ...]]:
    hours: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, key in enumerate(WEEKDAYS):
        blocks = []
        for pair in (clinic.opening_hours or {}).get(key) or []:
            try:
                blocks.append((time.fromisoformat(pair[0]), time.fromisoformat(pair[1])))
            except (ValueError, TypeError, IndexError):
                continue
        if blocks:
            hours[weekday] = tuple(sorted(blocks))
    return hours


def nurses_by_weekday(db: Session, clinic_id: int) -> dict[int, int]:
    rows = repository.staffing(db, clinic_id)
    return {d: rows[d].nurses if d in rows else DEFAULT_NURSES for d in range(7)}


def policy_for(db: Session, clinic: ClinicRow, infusion_min: int | None = None) -> core.SchedulingPolicy:
    rules = core.SchedulingPolicy.from_policy(effective_policy(db, clinic.id))
    if infusion_min is not None and infusion_min > rules.infusion_min:
        rules = replace(rules, infusion_min=infusion_min)  # the longest plan's chair time for everyone in the run
    return rules


@dataclass
class ClinicPicture:
    """The clinic over a horizon, and what the instance needs beside it."""

    clinic: ClinicRow
    zone: ZoneInfo
    start: datetime
    days: int
    core_clinic: core.Clinic
    fixed: tuple[core.FixedSession, ...]
    booked: list[InfusionSession]
    chair_names: dict[str, str]
    rules: core.SchedulingPolicy
    no_roster: set[str] = field(default_factory=set)

    @property
    def end(self) -> datetime:
        return local_midnight(self.start.astimezone(self.zone).date() + timedelta(days=self.days), self.zone)


def picture(db: Session, clinic: ClinicRow, start: datetime, days: int, rules: core.SchedulingPolicy,
            exclude_session_ids: set[int] | None = None) -> ClinicPicture:
    zone = ZoneInfo(clinic.timezone)
    first = start.astimezone(zone).date()
    chairs = repository.chairs(db, clinic.id)
    staffing = nurses_by_weekday(db, clinic.id)
    dates = [first + timedelta(days=n) for n in range(days + 1)]
    closures = frozenset(c.day for c in repository.closures(db, clinic.id, first, first + timedelta(days=days + 1)))
    core_clinic = core.Clinic(timezone=clinic.timezone, opening_hours=opening_hours(clinic),
                              chair_ids=tuple(str(c.id) for c in chairs) or ("none",),
                              nurses_per_day=DEFAULT_NURSES,
                              nurses_by_date={d: staffing[d.weekday()] for d in dates}, closures=closures)
    active = {c.id for c in chairs}
    end = local_midnight(first + timedelta(days=days), zone)
    booked = [s for s in repository.booked_between(db, clinic.id, start - timedelta(days=1), end)
              if s.chair_id in active and s.id not in (exclude_session_ids or set())]
    fixed = tuple(fixed_session(s, rules) for s in booked)
    return ClinicPicture(clinic, zone, start, days, core_clinic, fixed, booked, {str(c.id): c.name for c in chairs},
                         rules)


def fixed_session(session: InfusionSession, rules: core.SchedulingPolicy) -> core.FixedSession:
    infusion_start = session.scheduled_start + timedelta(minutes=rules.prep_min)
    infusion_end = min(infusion_start + timedelta(minutes=session.infusion_duration_min), session.scheduled_end)
    if infusion_end <= infusion_start:  # a malformed booking: count the whole chair time as infusing
        infusion_start, infusion_end = session.scheduled_start, session.scheduled_end
    return core.FixedSession(str(session.patient_id), str(session.chair_id), session.scheduled_start,
                             session.scheduled_end, infusion_start, infusion_end, booking_id=str(session.id))


def duty_for(db: Session, pic: ClinicPicture, patients: list[Patient], until: datetime | None = None
             ) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
    """Every patient's on-duty intervals around the horizon; patients without a usable roster are noted."""
    out: dict[str, tuple[tuple[datetime, datetime], ...]] = {}
    lo, hi = pic.start - DUTY_MARGIN, max(pic.end, until or pic.end) + DUTY_MARGIN
    rosters_by_id = patient_rosters(db, patients, pic.clinic.timezone)
    for patient in patients:
        roster = rosters_by_id[patient.id]
        if roster is None:
            pic.no_roster.add(str(patient.id))
        out[str(patient.id)] = tuple(on_duty(roster, lo, hi))
    return out


PREFERRED = {"morning": (core.MORNING,), "afternoon": (core.AFTERNOON,), "any": ()}


def session_request(row: Any, earliest: datetime) -> core.SessionRequest:
    """A request row as the scheduler's ``SessionRequest`` (earliest start no sooner than ``earliest``)."""
    kind = core.RequestKind(row.kind)
    return core.SessionRequest(
        request_id=str(row.id), patient_id=str(row.patient_id), kind=kind, arrival=row.created_at,
        earliest_start=max(row.earliest_start, earliest), clinical_priority=row.priority,
        latest_end=row.latest_end, sessions=row.sessions if kind == core.RequestKind.INDUCTION else None,
        preferred_times=PREFERRED.get(row.preferred_time, ()))
