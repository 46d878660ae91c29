"""Seeded benchmark instances: a busy clinic with a waiting list of induction series and proposed boosters
from first responders on mixed duty rosters (expanded with ``tenfour.core.rosters``).

The same seed always gives the same instance (``random.Random(seed)``; no clock, no I/O). Defaults
(``BenchmarkSpec``): 8 chairs; 3 nurses on 10-hour shifts, 40 h a week each (two on duty Monday to Friday,
one at weekends); open 08:00-18:00 every day, one closure (a staff training day); 4 weeks from Monday
2 March 2026 in America/Chicago (the US daylight-saving change of 8 March falls inside); 60 induction
series, 80% already on the waiting list when the run starts and the rest referred during its first 5
days; 120 boosters proposed 2-6 weeks ahead with 7-14 day windows; and the sessions already booked for
100 patients part-way through a course. The roster mix, the load and the arrival pattern are assumptions
of the benchmark (a busy clinic, where scheduling matters), not data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenfour.core import rosters
from tenfour.core.scheduling.model import (
    AFTERNOON,
    MORNING,
    Clinic,
    FixedSession,
    NurseShift,
    PreferredTime,
    RequestKind,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
)

# (pattern, platoons, shift start hours, share of patients)
ROSTER_MIX: tuple[tuple[str, tuple[str, ...], tuple[int, ...], float], ...] = (
    ("24/48", ("A", "B", "C"), (7, 8), 0.30),
    ("48/96", ("A", "B", "C"), (7, 8), 0.10),
    ("kelly", ("A", "B", "C"), (7, 8), 0.10),
    ("pitman", ("A", "B", "C", "D"), (6, 7), 0.10),
    ("dupont", ("A", "B", "C", "D"), (6, 7), 0.10),
    ("4on4off", ("A", "B", "C", "D"), (6, 7), 0.10),
    ("custom", ("A",), (7, 15), 0.10),  # dispatch / corrections: five 8-hour shifts a week
    ("none", (), (), 0.10),  # on leave or administrative duty: no shifts in the horizon
)


@dataclass(frozen=True)
class BenchmarkSpec:
    """Size and shape of a benchmark instance (see the module docstring)."""

    chairs: int = 8
    nurses: int = 3
    # 10-hour shifts (40 h a week each): two nurses Monday-Friday, one at weekends
    nurse_week: tuple[tuple[str, ...], ...] = (("N1", "N2"), ("N1", "N2"), ("N1", "N3"), ("N1", "N3"), ("N2", "N3"),
                                               ("N2",), ("N3",))
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    open_weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    weeks: int = 4
    series: int = 60
    boosters: int = 120
    waiting_share: float = 0.8  # share of series already on the waiting list at the start
    referral_days: int = 5  # the other series are referred during the first days of the run
    ongoing_series: int = 100  # patients part-way through a course: their sessions are already booked
    start: date = date(2026, 3, 2)  # a Monday
    timezone: str = "America/Chicago"


def _roster(rng: random.Random, spec: BenchmarkSpec) -> rosters.Roster | None:
    pattern, platoons, starts, _ = rng.choices(ROSTER_MIX, weights=[mix[3] for mix in ROSTER_MIX])[0]
    if pattern == "none":
        return None
    anchor = spec.start - timedelta(days=rng.randrange(7, 365))
    shift_start = time(rng.choice(starts), 0)
    if pattern == "custom":
        anchor -= timedelta(days=anchor.weekday())  # cycle day 0 is a Monday
        blocks = tuple(rosters.ShiftBlock(day, 8.0) for day in range(5))
        return rosters.Roster(pattern="custom", anchor_date=anchor, shift_start=shift_start,
                              timezone=spec.timezone, custom_cycle_days=7, custom_blocks=blocks)
    return rosters.Roster(pattern=pattern, anchor_date=anchor, shift_start=shift_start,
                          timezone=spec.timezone, platoon=rng.choice(platoons))


def _with_overtime(rng: random.Random, roster: rosters.Roster, spec: BenchmarkSpec, zone: ZoneInfo) -> rosters.Roster:
    """One patient in five picks up a 12-hour overtime shift somewhere in the horizon."""
    if rng.random() >= 0.2:
        return roster
    day = spec.start + timedelta(days=rng.randrange(spec.weeks * 7))
    begin = datetime.combine(day, time(rng.choice((7, 19)), 0)).replace(tzinfo=zone)
    change = rosters.DutyChange(kind=rosters.ChangeKind.OVERTIME, start=begin, end=begin + timedelta(hours=12))
    return rosters.Roster(pattern=roster.pattern, anchor_date=roster.anchor_date, shift_start=roster.shift_start,
                          timezone=roster.timezone, platoon=roster.platoon,
                          custom_cycle_days=roster.custom_cycle_days, custom_blocks=roster.custom_blocks,
                          changes=(change,))


def _preference(rng: random.Random) -> tuple[PreferredTime, ...]:
    pick = rng.random()
    return (MORNING,) if pick < 0.35 else (AFTERNOON,) if pick < 0.6 else ()


def _clinic(spec: BenchmarkSpec, zone: ZoneInfo) -> Clinic:
    shifts = []
    for offset in range(spec.weeks * 7):
        day = spec.start + timedelta(days=offset)
        if day.weekday() not in spec.open_weekdays:
            continue
        for nurse in spec.nurse_week[day.weekday()]:
            shifts.append(NurseShift(nurse, datetime.combine(day, spec.opens).replace(tzinfo=zone).astimezone(UTC),
                                     datetime.combine(day, spec.closes).replace(tzinfo=zone).astimezone(UTC)))
    hours = {weekday: ((spec.opens, spec.closes),) for weekday in spec.open_weekdays}
    closure = spec.start + timedelta(days=17)  # a Thursday in week 3 (staff training day)
    return Clinic(timezone=spec.timezone, opening_hours=hours,
                  chair_ids=tuple(f"chair-{i + 1}" for i in range(spec.chairs)),
                  nurses_per_day=spec.nurses, nurse_shifts=tuple(shifts), closures=frozenset({closure}))


def _ongoing_series(rng: random.Random, spec: BenchmarkSpec, clinic: Clinic, zone: ZoneInfo,
                    rules: SchedulingPolicy) -> tuple[FixedSession, ...]:
    """Sessions already booked: patients part-way through a series when the run starts keep their
    remaining sessions (1-5, every 2-3 days from day 0-2, same time of day). The front desk booked them in
    fixed slots back to back from the opening (08:00, 09:40, ...), on the first chair free in that slot."""
    booked: list[FixedSession] = []

    def fits(session: FixedSession) -> bool:
        same_chair = any(f.chair_id == session.chair_id and f.start < session.end and session.start < f.end
                         for f in booked)
        infusing = sum(1 for f in booked if f.infusion_start < session.infusion_end
                       and session.infusion_start < f.infusion_end)
        nurses = sum(1 for n in clinic.nurse_shifts if n.start <= session.infusion_start < n.end)
        # conservative: every other booked infusion overlapping this one counts as running with it
        return not same_chair and infusing < rules.max_infusing_per_nurse * nurses

    open_min = (datetime.combine(spec.start, spec.closes) - datetime.combine(spec.start, spec.opens)).seconds // 60
    slots = open_min // rules.chair_min
    for n in range(spec.ongoing_series):
        remaining = rng.randint(1, 5)
        day = spec.start + timedelta(days=rng.randrange(0, 3))
        at = spec.opens.hour * 60 + spec.opens.minute + rules.chair_min * rng.randrange(slots)
        for _ in range(remaining):
            while day in clinic.closures or day.weekday() not in spec.open_weekdays:
                day += timedelta(days=1)
            begin = datetime.combine(day, time(at // 60, at % 60)).replace(tzinfo=zone).astimezone(UTC)
            for chair in clinic.chair_ids:
                session = FixedSession.at(f"O{n + 1:03d}", chair, begin, rules, booking_id=f"O{n + 1:03d}-{day}")
                if fits(session):
                    booked.append(session)
                    break
            day += timedelta(days=rng.choice((2, 2, 3)))
    return tuple(booked)


def generate_instance(seed: int, spec: BenchmarkSpec | None = None) -> SchedulingInstance:
    """The benchmark instance for ``seed`` (deterministic)."""
    return generate_benchmark(seed, spec)[0]


def generate_benchmark(seed: int, spec: BenchmarkSpec | None = None
                       ) -> tuple[SchedulingInstance, dict[str, str]]:
    """The benchmark instance for ``seed`` and each patient's roster ("24/48 B 07:00", "none", ...)."""
    spec = spec or BenchmarkSpec()
    rng = random.Random(seed)
    zone = ZoneInfo(spec.timezone)
    rules = SchedulingPolicy()
    start = datetime.combine(spec.start, time(0)).replace(tzinfo=zone)
    days = spec.weeks * 7
    end = start + timedelta(days=days + 2)
    clinic = _clinic(spec, zone)
    requests: list[SessionRequest] = []
    on_duty: dict[str, tuple[tuple[datetime, datetime], ...]] = {}

    patterns: dict[str, str] = {}

    def add_patient(patient_id: str) -> None:
        roster = _roster(rng, spec)
        if roster is None:
            on_duty[patient_id] = ()
            patterns[patient_id] = "none"
            return
        patterns[patient_id] = f"{roster.pattern} {roster.platoon} {roster.shift_start:%H:%M}"
        roster = _with_overtime(rng, roster, spec, zone)
        intervals = rosters.expand(roster, start - timedelta(days=2), end)
        on_duty[patient_id] = tuple((i.start, i.end) for i in intervals)

    for n in range(spec.series):
        patient_id = f"P{n + 1:03d}"
        add_patient(patient_id)
        if rng.random() < spec.waiting_share:
            arrival = start - timedelta(days=rng.uniform(1, 28))
            earliest = start
        else:
            arrival = start + timedelta(days=rng.uniform(0, spec.referral_days))
            earliest = datetime.combine(arrival.date() + timedelta(days=rng.randint(1, 3)), time(0)).replace(
                tzinfo=zone)
        priority = rng.choices((1, 2, 3), weights=(2, 5, 3))[0]
        requests.append(SessionRequest(f"S{n + 1:03d}", patient_id, RequestKind.INDUCTION, arrival, earliest,
                                       clinical_priority=priority, preferred_times=_preference(rng)))
    for n in range(spec.boosters):
        patient_id = f"B{n + 1:03d}"
        add_patient(patient_id)
        opens = spec.start + timedelta(days=rng.randrange(0, days - 7))
        length = rng.randint(7, 14)
        window_start = datetime.combine(opens, time(0)).replace(tzinfo=zone)
        window_end = datetime.combine(min(opens + timedelta(days=length), spec.start + timedelta(days=days)),
                                      time(0)).replace(tzinfo=zone)
        arrival = window_start - timedelta(days=rng.uniform(14, 42))
        priority = rng.choices((2, 3), weights=(1, 2))[0]
        requests.append(SessionRequest(f"R{n + 1:03d}", patient_id, RequestKind.BOOSTER, arrival, window_start,
                                       clinical_priority=priority, latest_end=window_end,
                                       preferred_times=_preference(rng)))
    fixed = _ongoing_series(rng, spec, clinic, zone, rules)
    instance = SchedulingInstance(clinic=clinic, start=start, days=days, requests=tuple(requests),
                                  on_duty=on_duty, fixed_sessions=tuple(fixed), policy=rules)
    return instance, patterns


def instance_summary(instance: SchedulingInstance, spec: BenchmarkSpec | None = None) -> dict[str, Any]:
    """Size of an instance, JSON-ready."""
    kinds = [str(r.kind) for r in instance.requests]
    return {
        "start": instance.start.isoformat(),
        "days": instance.days,
        "timezone": instance.clinic.timezone,
        "chairs": len(instance.clinic.chair_ids),
        "nurses": spec.nurses if spec else instance.clinic.nurses_per_day,
        "series": kinds.count(str(RequestKind.INDUCTION)),
        "boosters": kinds.count(str(RequestKind.BOOSTER)),
        "singles": kinds.count(str(RequestKind.SINGLE)),
        "fixed_sessions": len(instance.fixed_sessions),
        "patients_on_duty_rosters": sum(1 for v in instance.on_duty.values() if v),
    }
