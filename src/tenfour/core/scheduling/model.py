"""Input and output of the chair scheduler: clinic, requests, duty, booked sessions -> placed sessions.

Everything is a frozen dataclass; times are timezone-aware datetimes (any zone; the clinic's zone decides
calendar dates and opening hours). Weekdays are ``date.weekday()`` numbers: 0 = Monday ... 6 = Sunday.
``validate_instance`` lists every problem of an instance at once (CoreError).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem

# Settings the scheduler needs that policy.py does not hold yet (asked for; see docs/scheduling.md).
MIN_SLOT_MIN = 5  # finest start grid used when prep/infusion/recovery share no larger step (operations)
START_TARGET_DAYS = policy.default("schedule.start_target_days")  # product choice: start within 7 days
MAX_HORIZON_DAYS = 120  # one planning run covers at most this many days (operational limit)


@dataclass(frozen=True)
class SchedulingPolicy:
    """Clinic policy used by the scheduler (defaults and sources: ``tenfour.core.policy``).

    ``min_days_between_sessions`` = 1 means ONE CLEAR DAY between infusions (Mon/Wed/Fri as in Feder 2021,
    product choice in policy.py): consecutive session dates differ by at least ``min_days + 1`` days.
    ``max_sessions_per_week`` is applied to every ROLLING window of 7 calendar days (stricter than the
    ISO week, and what "3 a week" means for dosing frequency). ``series_window_days`` = 21 means the whole
    series lies in the 21 calendar days that begin on the first session's date (last date - first date
    <= 20). Chair time = prep + infusion + recovery; the nurse limit applies to the infusion part only.
    """

    prep_min: int = policy.default("schedule.prep_min")
    infusion_min: int = policy.default("dose.infusion_duration_min")
    recovery_min: int = policy.default("schedule.recovery_min")
    max_infusing_per_nurse: int = policy.default("schedule.max_infusing_per_nurse")
    induction_sessions: int = policy.default("course.induction_sessions")
    min_days_between_sessions: int = policy.default("course.min_days_between_sessions")
    max_sessions_per_week: int = policy.default("course.max_sessions_per_week")
    series_window_days: int = policy.default("course.series_window_days")
    no_duty_window_h: float = policy.default("duty.no_duty_window_h")
    slot_min: int | None = None  # start grid step; None = gcd(prep, infusion, recovery), see start_step_min
    start_target_days: int = START_TARGET_DAYS

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> SchedulingPolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(
            prep_min=int(values["schedule.prep_min"]),
            infusion_min=int(values["dose.infusion_duration_min"]),
            recovery_min=int(values["schedule.recovery_min"]),
            max_infusing_per_nurse=int(values["schedule.max_infusing_per_nurse"]),
            induction_sessions=int(values["course.induction_sessions"]),
            min_days_between_sessions=int(values["course.min_days_between_sessions"]),
            max_sessions_per_week=int(values["course.max_sessions_per_week"]),
            series_window_days=int(values["course.series_window_days"]),
            no_duty_window_h=float(values["duty.no_duty_window_h"]),
            slot_min=int(values["schedule.start_step_min"]) if "schedule.start_step_min" in values else None,
            start_target_days=int(values.get("schedule.start_target_days", START_TARGET_DAYS)),
        )

    @property
    def chair_min(self) -> int:
        """Chair time of one session in minutes (prep + infusion + recovery)."""
        return self.prep_min + self.infusion_min + self.recovery_min

    @property
    def start_step_min(self) -> int:
        """Start grid step in minutes: sessions start at an opening time + k x step. By default the greatest
        common divisor of prep, infusion and recovery (20 min with 20/40/40), so sessions can follow one
        another on a chair without idle minutes and infusions line up; at least 5 min."""
        if self.slot_min is not None:
            return self.slot_min
        return max(MIN_SLOT_MIN, math.gcd(self.prep_min, self.infusion_min, self.recovery_min))

    @property
    def min_date_gap_days(self) -> int:
        """Smallest difference between consecutive session dates of a series (one clear day -> 2)."""
        return self.min_days_between_sessions + 1


class RequestKind(StrEnum):
    INDUCTION = "induction"  # a series of sessions with spacing rules
    BOOSTER = "booster"  # one session inside a window (earliest_start .. latest_end)
    SINGLE = "single"  # one session from earliest_start (latest_end optional)


@dataclass(frozen=True)
class PreferredTime:
    """A soft wish: the whole chair time inside [start, end) local time on one of ``weekdays``."""

    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(7))


MORNING = PreferredTime(time(7, 0), time(13, 0))
AFTERNOON = PreferredTime(time(12, 0), time(20, 0))


@dataclass(frozen=True)
class NurseShift:
    """One nurse on duty over [start, end) (aware)."""

    nurse_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Clinic:
    """Opening hours per weekday (local times; a weekday not listed is closed), closed dates, chairs and
    nurses. Nurses on duty: ``nurse_shifts`` when given (count at an instant = shifts covering it),
    otherwise ``nurses_by_date`` for that local date, otherwise ``nurses_per_day`` all opening hours."""

    timezone: str
    opening_hours: Mapping[int, Sequence[tuple[time, time]]]
    chair_ids: tuple[str, ...]
    nurses_per_day: int = 1
    nurses_by_date: Mapping[date, int] = field(default_factory=dict)
    nurse_shifts: tuple[NurseShift, ...] = ()
    closures: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SessionRequest:
    """A request waiting for chair time.

    ``clinical_priority``: 1 urgent, 2 soon, 3 routine. ``arrival``: when it joined the waiting list (FCFS
    order and waiting-time weight). No session starts before ``earliest_start``; every session's chair
    time ends by ``latest_end`` when given (required for a booster: its window). ``sessions``: induction
    series length (None = policy ``course.induction_sessions``); boosters and singles are one session.
    """

    request_id: str
    patient_id: str
    kind: RequestKind
    arrival: datetime
    earliest_start: datetime
    clinical_priority: int = 2
    latest_end: datetime | None = None
    sessions: int | None = None
    preferred_times: tuple[PreferredTime, ...] = ()

    def session_count(self, rules: SchedulingPolicy) -> int:
        if self.kind == RequestKind.INDUCTION:
            return self.sessions if self.sessions is not None else rules.induction_sessions
        return 1


@dataclass(frozen=True)
class FixedSession:
    """A session already booked: it keeps its chair and times; it takes a chair, counts for the nurse limit
    while infusing and occupies its patient's day."""

    patient_id: str
    chair_id: str
    start: datetime
    end: datetime
    infusion_start: datetime
    infusion_end: datetime
    booking_id: str = ""

    @classmethod
    def at(cls, patient_id: str, chair_id: str, start: datetime, rules: SchedulingPolicy,
           booking_id: str = "") -> FixedSession:
        """A booked session starting at ``start`` with the policy's prep/infusion/recovery times."""
        infusion_start = start + timedelta(minutes=rules.prep_min)
        infusion_end = infusion_start + timedelta(minutes=rules.infusion_min)
        return cls(patient_id, chair_id, start, infusion_end + timedelta(minutes=rules.recovery_min),
                   infusion_start, infusion_end, booking_id)


@dataclass(frozen=True)
class SchedulingInstance:
    """One planning run: sessions may start from ``start`` and must end before local midnight after the
    ``days``-th local date (counting ``start``'s date as the first). ``on_duty`` maps EVERY patient with a
    request to their on-duty intervals [start, end) already expanded from the roster (an empty sequence
    for a patient not on duty)."""

    clinic: Clinic
    start: datetime
    days: int
    requests: tuple[SessionRequest, ...]
    on_duty: Mapping[str, Sequence[tuple[datetime, datetime]]]
    fixed_sessions: tuple[FixedSession, ...] = ()
    policy: SchedulingPolicy = field(default_factory=SchedulingPolicy)


# --- Output ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedSession:
    """A session placed by a solver; ``start``/``end`` bound the chair time."""

    request_id: str
    patient_id: str
    session_index: int
    chair_id: str
    start: datetime
    end: datetime
    infusion_start: datetime
    infusion_end: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "patient_id": self.patient_id,
                "session_index": self.session_index, "chair_id": self.chair_id,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "infusion_start": self.infusion_start.isoformat(), "infusion_end": self.infusion_end.isoformat()}


class UnplacedReason(StrEnum):
    NO_OPEN_SLOT = "no_open_slot"  # the clinic has no open slot in the request's window
    PATIENT_UNAVAILABLE = "patient_unavailable"  # on duty / no-duty window / day taken on every open slot
    SERIES_CANNOT_FIT = "series_cannot_fit"  # the patient's possible days cannot hold the series
    NO_CAPACITY = "no_capacity"  # possible slots exist but chairs or nurses are taken by other sessions
    NOT_FOUND = "not_found"  # free slots seem to exist; the solver did not place it (time limit)


@dataclass(frozen=True)
class UnplacedRequest:
    request_id: str
    patient_id: str
    reason: UnplacedReason
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "patient_id": self.patient_id, "reason": str(self.reason),
                "explanation": self.explanation}


@dataclass(frozen=True)
class Schedule:
    """A solver's answer. ``status``: optimal / feasible / infeasible / unknown (CP-SAT) or greedy
    (baseline). ``objective`` is the scheduler's cost (lower is better, see docs/scheduling.md);
    ``gap`` = (objective - best_bound) / max(1, objective)."""

    solver: str
    status: str
    sessions: tuple[PlacedSession, ...]
    unplaced: tuple[UnplacedRequest, ...]
    objective: int | None = None
    best_bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"solver": self.solver, "status": self.status, "objective": self.objective,
                "best_bound": self.best_bound, "gap": self.gap, "solve_seconds": self.solve_seconds,
                "sessions": [s.to_dict() for s in self.sessions],
                "unplaced": [u.to_dict() for u in self.unplaced]}


# --- Validation -----------------------------------------------------------------------------------


def _aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _clinic_problems(clinic: Clinic) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    try:
        ZoneInfo(clinic.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        problems.append(FieldProblem("clinic.timezone", "known_timezone",
                                     f"{clinic.timezone!r} is not a known IANA time zone"))
    if not clinic.chair_ids:
        problems.append(FieldProblem("clinic.chair_ids", "chairs_required", "the clinic needs at least one chair"))
    if len(set(clinic.chair_ids)) != len(clinic.chair_ids):
        problems.append(FieldProblem("clinic.chair_ids", "unique_ids", "chair ids must be unique"))
    for weekday, blocks in clinic.opening_hours.items():
        name = f"clinic.opening_hours[{weekday}]"
        if not (_whole(weekday, 0) and weekday <= 6):
            problems.append(FieldProblem(name, "weekday", "weekday must be 0 (Monday) to 6 (Sunday)"))
        ordered = sorted(blocks)
        for i, (opens, closes) in enumerate(ordered):
            if not (isinstance(opens, time) and isinstance(closes, time) and opens < closes):
                problems.append(FieldProblem(name, "opening_order", "each opening must close after it opens "
                                             "on the same day"))
            elif i and ordered[i - 1][1] > opens:
                problems.append(FieldProblem(name, "opening_not_overlapping", "opening hours overlap"))
    if not _whole(clinic.nurses_per_day, 0):
        problems.append(FieldProblem("clinic.nurses_per_day", "whole_non_negative", "must be 0 or more"))
    for day, count in clinic.nurses_by_date.items():
        if not _whole(count, 0):
            problems.append(FieldProblem(f"clinic.nurses_by_date[{day}]", "whole_non_negative",
                                         "must be 0 or more"))
    for i, shift in enumerate(clinic.nurse_shifts):
        if not (_aware(shift.start) and _aware(shift.end) and shift.end > shift.start):
            problems.append(FieldProblem(f"clinic.nurse_shifts[{i}]", "aware_interval",
                                         "start and end must be aware datetimes, end after start"))
    return problems


def _request_problems(instance: SchedulingInstance) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    rules = instance.policy
    seen: set[str] = set()
    for i, request in enumerate(instance.requests):
        name = f"requests[{i}]"
        if request.request_id in seen:
            problems.append(FieldProblem(f"{name}.request_id", "unique_ids",
                                         f"request id {request.request_id!r} appears twice"))
        seen.add(request.request_id)
        if request.kind not in set(RequestKind):
            problems.append(FieldProblem(f"{name}.kind", "request_kind",
                                         f"must be one of {', '.join(RequestKind)}"))
        for part in ("arrival", "earliest_start"):
            if not _aware(getattr(request, part)):
                problems.append(FieldProblem(f"{name}.{part}", "aware_datetime",
                                             "must be a date and time with a time zone"))
        if request.clinical_priority not in (1, 2, 3):
            problems.append(FieldProblem(f"{name}.clinical_priority", "priority_range",
                                         "must be 1 (urgent), 2 (soon) or 3 (routine)"))
        if request.latest_end is not None:
            if not _aware(request.latest_end):
                problems.append(FieldProblem(f"{name}.latest_end", "aware_datetime",
                                             "must be a date and time with a time zone"))
            elif _aware(request.earliest_start) and request.latest_end <= request.earliest_start:
                problems.append(FieldProblem(f"{name}.latest_end", "window_order",
                                             "the window must end after its earliest start"))
        elif request.kind == RequestKind.BOOSTER:
            problems.append(FieldProblem(f"{name}.latest_end", "booster_window",
                                         "a booster needs the end of its window"))
        if request.kind == RequestKind.INDUCTION:
            count = request.session_count(rules)
            if not _whole(count, 1):
                problems.append(FieldProblem(f"{name}.sessions", "series_length", "must be 1 or more sessions"))
            elif count > 1 and (count - 1) * rules.min_date_gap_days > rules.series_window_days - 1:
                problems.append(FieldProblem(
                    f"{name}.sessions", "series_cannot_fit",
                    f"a series of {count} sessions cannot fit within {rules.series_window_days} days with "
                    f"{rules.min_days_between_sessions} clear day(s) between sessions"))
        elif request.sessions not in (None, 1):
            problems.append(FieldProblem(f"{name}.sessions", "single_session",
                                         f"a {request.kind} is one session"))
        if request.patient_id not in instance.on_duty:
            problems.append(FieldProblem(f"{name}.patient_id", "roster_required",
                                         f"no on-duty intervals given for patient {request.patient_id!r} "
                                         "(give an empty list for a patient not on duty)"))
        for j, wish in enumerate(request.preferred_times):
            if not (isinstance(wish.start, time) and isinstance(wish.end, time) and wish.start < wish.end):
                problems.append(FieldProblem(f"{name}.preferred_times[{j}]", "opening_order",
                                             "a preferred time must end after it starts"))
    return problems


def _fixed_problems(instance: SchedulingInstance) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    chairs = set(instance.clinic.chair_ids)
    for i, fixed in enumerate(instance.fixed_sessions):
        name = f"fixed_sessions[{i}]"
        if fixed.chair_id not in chairs:
            problems.append(FieldProblem(f"{name}.chair_id", "known_chair", f"unknown chair {fixed.chair_id!r}"))
        times = (fixed.start, fixed.infusion_start, fixed.infusion_end, fixed.end)
        if not all(_aware(t) for t in times):
            problems.append(FieldProblem(name, "aware_datetime", "all times must be aware datetimes"))
        elif not (fixed.start <= fixed.infusion_start < fixed.infusion_end <= fixed.end):
            problems.append(FieldProblem(name, "session_shape",
                                         "start <= infusion start < infusion end <= end is required"))
    # Booked sessions that overlap on a chair are accepted as they are (the chair is taken for their union; the
    # checker reports only overlaps that involve a new placement): a booking entered outside the app must not stop
    # the clinic from scheduling anyone else.
    return problems


def instance_problems(instance: SchedulingInstance) -> list[FieldProblem]:
    """Every problem of the instance (empty when it can be scheduled)."""
    problems = _clinic_problems(instance.clinic)
    if not _aware(instance.start):
        problems.append(FieldProblem("start", "aware_datetime", "must be a date and time with a time zone"))
    if not (_whole(instance.days, 1) and instance.days <= MAX_HORIZON_DAYS):
        problems.append(FieldProblem("days", "horizon_days", f"must be 1 to {MAX_HORIZON_DAYS} days"))
    rules = instance.policy
    if not (_whole(rules.start_step_min, 1) and rules.start_step_min <= 24 * 60):
        problems.append(FieldProblem("policy.slot_min", "start_grid", "the start grid step must be 1 minute to a day"))
    if not _whole(rules.start_target_days, 1):
        problems.append(FieldProblem("policy.start_target_days", "whole_positive", "must be 1 day or more"))
    problems += _request_problems(instance)
    problems += _fixed_problems(instance)
    for patient_id, intervals in instance.on_duty.items():
        for k, interval in enumerate(intervals):
            if not (len(interval) == 2 and _aware(interval[0]) and _aware(interval[1])
                    and interval[1] > interval[0]):
                problems.append(FieldProblem(f"on_duty[{patient_id!r}][{k}]", "aware_interval",
                                             "must be (start, end) aware datetimes, end after start"))
    return problems


def validate_instance(instance: SchedulingInstance) -> None:
    """Raise CoreError listing every problem of the instance."""
    problems = instance_problems(instance)
    if problems:
        raise CoreError(problems)
