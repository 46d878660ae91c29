"""First-come-first-served baseline: arrival order, earliest slots, series rules, explanations."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tenfour.core.scheduling.baseline import schedule_fcfs
from tenfour.core.scheduling.checker import check_schedule
from tenfour.core.scheduling.instance import BenchmarkSpec, generate_instance
from tenfour.core.scheduling.metrics import objective_value
from tenfour.core.scheduling.model import (
    Clinic,
    RequestKind,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
    UnplacedReason,
)

ZONE = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 2)


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour, minute)).replace(tzinfo=ZONE)


def make_instance(requests, *, days=7, chairs=1, hours=(time(8), time(18)), on_duty=None, closures=()):
    clinic = Clinic(timezone="America/Chicago", opening_hours={d: (hours,) for d in range(5)},  # Mon-Fri
                    chair_ids=tuple(f"c{i + 1}" for i in range(chairs)), nurses_per_day=1,
                    closures=frozenset(DAY0 + timedelta(days=d) for d in closures))
    duty = {r.patient_id: () for r in requests} | (on_duty or {})
    return SchedulingInstance(clinic, local(0), days, tuple(requests), duty, (), SchedulingPolicy())


def single(rid, patient, arrival, earliest=0, **kw):
    return SessionRequest(rid, patient, RequestKind.SINGLE, local(arrival), local(earliest), **kw)


def starts(schedule, rid):
    return sorted(s.start.astimezone(ZONE) for s in schedule.sessions if s.request_id == rid)


def test_first_come_takes_the_earliest_slot_whatever_the_priority():
    inst = make_instance([single("late", "p1", arrival=-1, clinical_priority=1),
                          single("early", "p2", arrival=-3, clinical_priority=3)],
                         hours=(time(8), time(9, 40)))
    schedule = schedule_fcfs(inst)
    assert starts(schedule, "early") == [local(0, 8)]
    assert starts(schedule, "late") == [local(1, 8)]
    assert schedule.status == "greedy" and schedule.objective == objective_value(inst, schedule)


def test_series_takes_earliest_days_with_one_clear_day_and_three_a_week():
    inst = make_instance([SessionRequest("s1", "p1", RequestKind.INDUCTION, local(-1), local(0))], days=21)
    schedule = schedule_fcfs(inst)
    # Mon, Wed, Fri; the next Monday is day 7 (a session on day 6 would be the fourth in 7 days)
    assert [s.date() for s in starts(schedule, "s1")] == [DAY0 + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    assert [s.session_index for s in sorted(schedule.sessions, key=lambda s: s.start)] == list(range(6))
    assert check_schedule(inst, schedule) == []


def test_series_waits_over_a_closed_week_when_it_still_fits_its_window():
    # clinic open Monday-Friday and closed all of week 3 (days 14-18): from day 7 the series runs
    # 7, 9, 11, then the next open day is 21; 25 - 7 = 18 days, within the 21-day window
    inst = make_instance([SessionRequest("s1", "p1", RequestKind.INDUCTION, local(-1), local(7))], days=35,
                         closures=range(14, 19))
    schedule = schedule_fcfs(inst)
    assert [s.date() for s in starts(schedule, "s1")] == [DAY0 + timedelta(days=d) for d in (7, 9, 11, 21, 23, 25)]


def test_unplaced_requests_are_explained_against_the_final_schedule():
    inst = make_instance([single("first", "p1", arrival=-3, latest_end=local(1)),
                          single("second", "p2", arrival=-2, latest_end=local(1))],
                         days=1, hours=(time(8), time(9, 40)))
    schedule = schedule_fcfs(inst)
    assert [s.request_id for s in schedule.sessions] == ["first"]
    (unplaced,) = schedule.unplaced
    assert unplaced.request_id == "second" and unplaced.reason == UnplacedReason.NO_CAPACITY
    assert "1 slots the patient can take on 1 day(s)" in unplaced.explanation


def test_baseline_passes_the_checker_on_a_seeded_instance():
    inst = generate_instance(7, BenchmarkSpec(series=20, boosters=40, ongoing_series=30))
    schedule = schedule_fcfs(inst)
    assert schedule.sessions
    assert check_schedule(inst, schedule) == []
