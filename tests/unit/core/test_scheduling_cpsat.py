"""CP-SAT scheduler on hand-built instances with known optimal answers, and against the baseline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenfour.core.scheduling.baseline import schedule_fcfs
from tenfour.core.scheduling.checker import check_schedule
from tenfour.core.scheduling.cpsat import SolverOptions, schedule_cpsat
from tenfour.core.scheduling.instance import BenchmarkSpec, generate_instance
from tenfour.core.scheduling.metrics import objective_value
from tenfour.core.scheduling.model import (
    AFTERNOON,
    Clinic,
    FixedSession,
    RequestKind,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
    UnplacedReason,
)

ZONE = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 2)  # a Monday; daylight saving starts on day 6
RULES = SchedulingPolicy()
FAST = SolverOptions(time_limit_s=10, deterministic_time=5, num_workers=2, random_seed=1)


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour, minute)).replace(tzinfo=ZONE)


def make_instance(requests, *, days: int = 7, chairs: int = 1, nurses: int = 1, hours=(time(8), time(18)),
                  on_duty=None, fixed=(), closures=(), rules: SchedulingPolicy = RULES) -> SchedulingInstance:
    clinic = Clinic(timezone="America/Chicago", opening_hours={d: (hours,) for d in range(7)},
                    chair_ids=tuple(f"c{i + 1}" for i in range(chairs)), nurses_per_day=nurses,
                    closures=frozenset(DAY0 + timedelta(days=d) for d in closures))
    duty = {r.patient_id: () for r in requests} | (on_duty or {})
    return SchedulingInstance(clinic, local(0), days, tuple(requests), duty, tuple(fixed), rules)


def request(rid: str, patient: str, kind: RequestKind = RequestKind.SINGLE, *, arrival: int = -1,
            earliest: int = 0, window_end: datetime | None = None, priority: int = 2, **kw) -> SessionRequest:
    return SessionRequest(rid, patient, kind, local(arrival), local(earliest), clinical_priority=priority,
                          latest_end=window_end, **kw)


def local_starts(schedule, request_id: str) -> list[datetime]:
    return sorted(s.start.astimezone(ZONE) for s in schedule.sessions if s.request_id == request_id)


def both(instance):
    baseline = schedule_fcfs(instance)
    cpsat = schedule_cpsat(instance, FAST, hint=baseline)
    assert check_schedule(instance, baseline) == []
    assert check_schedule(instance, cpsat) == []
    return baseline, cpsat


def test_one_chair_two_patients_urgent_goes_first():
    # one session a day; the routine request arrived first, the urgent one a day later
    inst = make_instance([request("routine", "p1", arrival=-2, priority=3),
                          request("urgent", "p2", arrival=-1, priority=1)],
                         days=2, hours=(time(8), time(9, 40)))
    baseline, cpsat = both(inst)
    assert local_starts(baseline, "routine") == [local(0, 8)]
    assert local_starts(baseline, "urgent") == [local(1, 8)]
    assert local_starts(cpsat, "urgent") == [local(0, 8)]
    assert local_starts(cpsat, "routine") == [local(1, 8)]
    # weight = priority weight (urgent 3, routine 1) x (1 + weeks waited): one day later costs 2000 x weight
    assert baseline.objective == 3 * 2000
    assert cpsat.objective == 1 * 2000 == objective_value(inst, cpsat)
    assert cpsat.status == "optimal" and cpsat.best_bound == 2000 and cpsat.gap == 0


def test_24_48_patient_series_on_the_only_legal_days():
    # shifts 07:00-07:00 every third day from day 0: legal days are 1, 4, 7, ... (worked out by hand: on
    # day 2 any session ends less than 24 h before the 07:00 shift of day 3)
    shifts = [(local(d, 7), local(d + 1, 7)) for d in range(0, 30, 3)]
    inst = make_instance([request("s1", "p1", RequestKind.INDUCTION, arrival=-5)], days=24,
                         on_duty={"p1": shifts})
    baseline, cpsat = both(inst)
    expected = [local(d, 8) for d in (1, 4, 7, 10, 13, 16)]  # crosses the daylight-saving change on day 6
    assert local_starts(baseline, "s1") == expected
    assert local_starts(cpsat, "s1") == expected
    # weight 2 x 20 000 for a first session one day late; 200 per day for each later session's day
    assert cpsat.objective == baseline.objective == 2 * 20_000 + 200 * (4 + 7 + 10 + 13 + 16)


def test_series_that_cannot_fit_is_explained():
    # on duty Monday 07:00 to Friday 07:00 every week: only Fridays and Saturdays are legal
    shifts = [(local(d, 7), local(d + 4, 7)) for d in range(0, 35, 7)]
    inst = make_instance([request("s1", "p1", RequestKind.INDUCTION)], days=28, on_duty={"p1": shifts})
    for schedule in both(inst):
        assert not schedule.sessions
        (unplaced,) = schedule.unplaced
        assert unplaced.reason == UnplacedReason.SERIES_CANNOT_FIT
        assert unplaced.explanation.startswith("A series of 6 cannot fit within 21 days given the roster")
        assert "only 8 day(s)" in unplaced.explanation
        assert "at most 4 session(s) fit" in unplaced.explanation


def test_patient_always_on_duty_is_explained():
    inst = make_instance([request("b1", "p1", RequestKind.BOOSTER, window_end=local(5))],
                         on_duty={"p1": [(local(-1), local(10))]})
    (unplaced,) = schedule_cpsat(inst, FAST).unplaced
    assert unplaced.reason == UnplacedReason.PATIENT_UNAVAILABLE
    assert unplaced.explanation.startswith("On duty or within 24 h of a shift on every open slot between")


def test_booster_window_with_every_chair_taken_is_explained():
    fixed = [FixedSession.at(f"x{i}", "c1", local(0, 8) + timedelta(minutes=100 * i), RULES) for i in range(6)]
    inst = make_instance([request("b1", "p1", RequestKind.BOOSTER, window_end=local(1))], fixed=fixed)
    for schedule in both(inst):
        (unplaced,) = schedule.unplaced
        assert unplaced.reason == UnplacedReason.NO_CAPACITY
        assert unplaced.explanation.startswith("No chair free in the booster window")


def test_booster_window_on_a_closed_day_is_explained():
    inst = make_instance([request("b1", "p1", RequestKind.BOOSTER, window_end=local(1))], closures=[0])
    (unplaced,) = schedule_cpsat(inst, FAST).unplaced
    assert unplaced.reason == UnplacedReason.NO_OPEN_SLOT


def test_booster_moves_later_in_its_window_so_a_series_starts_at_once():
    # one session a day; the booster was proposed earlier, so the front desk books it first
    inst = make_instance([request("b1", "p1", RequestKind.BOOSTER, arrival=-10, window_end=local(6)),
                          request("s1", "p2", RequestKind.INDUCTION, arrival=-1)],
                         days=28, hours=(time(8), time(9, 40)))
    baseline, cpsat = both(inst)
    assert local_starts(baseline, "b1") == [local(0, 8)]
    assert local_starts(baseline, "s1")[0] == local(1, 8)
    assert [s.date() for s in local_starts(cpsat, "s1")] == [DAY0 + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    assert local_starts(cpsat, "b1") == [local(1, 8)]
    # series weight 2: one day late = 40 000; booster weight 2 x (1 + 1 week waited) = 4: one day = 8 000;
    # each later session of the series: 200 per day after the earliest start
    assert baseline.objective == 40_000 + 200 * (3 + 5 + 8 + 10 + 12)
    assert cpsat.objective == 8_000 + 200 * (2 + 4 + 7 + 9 + 11)


def test_preferred_afternoon_is_kept_when_a_chair_is_free():
    inst = make_instance([request("r1", "p1", preferred_times=(AFTERNOON,))], days=1)
    baseline, cpsat = both(inst)
    assert local_starts(baseline, "r1") == [local(0, 8)]
    assert local_starts(cpsat, "r1") == [local(0, 12)]
    assert (baseline.objective, cpsat.objective) == (3_000, 240)  # not preferred vs 240 min after opening


def test_nurse_limit_staggers_infusions():
    rules = SchedulingPolicy(max_infusing_per_nurse=1)
    inst = make_instance([request(f"r{i}", f"p{i}", window_end=local(1)) for i in range(3)], days=1, chairs=3,
                         hours=(time(8), time(11)), rules=rules)
    baseline, cpsat = both(inst)
    for schedule in (baseline, cpsat):
        starts = sorted(s.start.astimezone(ZONE).time() for s in schedule.sessions)
        assert starts == [time(8), time(8, 40), time(9, 20)]  # one nurse, one infusing patient at a time


def test_booked_sessions_keep_their_chairs_and_free_time_is_used():
    fixed = [FixedSession.at("x1", "c1", local(0, 8), RULES), FixedSession.at("x2", "c1", local(0, 11, 20), RULES)]
    requests = [request(f"r{i}", f"p{i}", window_end=local(1)) for i in range(10)]
    inst = make_instance(requests, days=1, chairs=2, nurses=2, fixed=fixed)
    baseline, cpsat = both(inst)
    for schedule in (baseline, cpsat):
        assert len(schedule.sessions) == 10 and not schedule.unplaced  # 12 chair slots - 2 booked
        assert {s.start.astimezone(ZONE).time() for s in schedule.sessions if s.chair_id == "c1"} == {
            time(9, 40), time(13), time(14, 40), time(16, 20)}


def test_bookings_that_already_overlap_on_a_chair_take_it_for_their_union_and_block_nobody_else():
    """Two bookings entered outside the app overlap on c1 (08:00-09:40 and 09:00-10:40): the chair is taken from
    08:00 to 10:40, nothing is placed there, and the rest of the day is still used."""
    fixed = [FixedSession.at("x1", "c1", local(0, 8), RULES), FixedSession.at("x2", "c1", local(0, 9), RULES)]
    requests = [request(f"r{i}", f"p{i}", window_end=local(1)) for i in range(10)]
    inst = make_instance(requests, days=1, chairs=2, nurses=2, fixed=fixed)
    baseline, cpsat = both(inst)  # the independent checker finds no violation in either
    for schedule in (baseline, cpsat):
        on_c1 = [s for s in schedule.sessions if s.chair_id == "c1"]
        assert on_c1 and all(s.start >= local(0, 10, 40) for s in on_c1)
        assert len(schedule.sessions) == 10  # 6 slots on c2 + 4 after 10:40 on c1 (10:40, 12:20, 14:00, 15:40)


def test_unplaced_for_capacity_when_the_optimiser_prefers_another_request():
    inst = make_instance([request("routine", "p1", arrival=-2, priority=3),
                          request("urgent", "p2", arrival=-1, priority=1)],
                         days=1, hours=(time(8), time(9, 40)))
    cpsat = schedule_cpsat(inst, FAST)
    assert [s.request_id for s in cpsat.sessions] == ["urgent"]
    (unplaced,) = cpsat.unplaced
    assert unplaced.request_id == "routine" and unplaced.reason == UnplacedReason.NO_CAPACITY


@pytest.mark.parametrize("seed", [0, 1])
def test_cpsat_at_least_as_good_as_baseline_on_small_seeded_instances(seed):
    spec = BenchmarkSpec(chairs=2, series=5, boosters=10, ongoing_series=6, waiting_share=0.8)
    inst = generate_instance(seed, spec)
    baseline, cpsat = both(inst)
    assert cpsat.objective <= baseline.objective
    assert cpsat.best_bound is not None and cpsat.best_bound <= cpsat.objective
    assert cpsat.objective == objective_value(inst, cpsat)
    placed = {s.request_id for s in cpsat.sessions} | {u.request_id for u in cpsat.unplaced}
    assert placed == {r.request_id for r in inst.requests}


def test_chairs_pinned_by_booked_sessions_are_resolved_exactly():
    # The chair cumulative alone would accept both requests: at every instant at most 2 of the 2 chairs are
    # busy. But X (09:00-10:40) only fits c2, and then Y (10:40-12:20) fits neither chair.
    fixed = [FixedSession.at("f1", "c1", local(0, 10), RULES), FixedSession.at("f2", "c2", local(0, 11, 40), RULES)]
    requests = [SessionRequest("X", "p1", RequestKind.SINGLE, local(-2), local(0, 9), latest_end=local(0, 10, 40)),
                SessionRequest("Y", "p2", RequestKind.SINGLE, local(-1), local(0, 10, 40),
                               latest_end=local(0, 12, 20))]
    inst = make_instance(requests, days=1, chairs=2, fixed=fixed)
    baseline, cpsat = both(inst)
    for schedule in (baseline, cpsat):
        assert len(schedule.sessions) == 1 and len(schedule.unplaced) == 1
    assert [(s.request_id, s.chair_id) for s in baseline.sessions] == [("X", "c2")]
