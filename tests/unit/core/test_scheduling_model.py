"""Scheduling input: policy defaults and overrides, request sizes, instance validation (all problems at once)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenfour.core import policy
from tenfour.core.errors import CoreError
from tenfour.core.scheduling.model import (
    Clinic,
    FixedSession,
    RequestKind,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
    instance_problems,
    validate_instance,
)

ZONE = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 2)


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour, minute)).replace(tzinfo=ZONE)


def clinic(**overrides) -> Clinic:
    values = dict(timezone="America/Chicago", opening_hours={d: ((time(8), time(18)),) for d in range(7)},
                  chair_ids=("c1", "c2"), nurses_per_day=1)
    values.update(overrides)
    return Clinic(**values)


def request(rid: str = "r1", kind: RequestKind = RequestKind.SINGLE, **overrides) -> SessionRequest:
    values = dict(request_id=rid, patient_id="p1", kind=kind, arrival=local(-3), earliest_start=local(0))
    values.update(overrides)
    return SessionRequest(**values)


def instance(requests, **overrides) -> SchedulingInstance:
    values = dict(clinic=clinic(), start=local(0), days=7, requests=tuple(requests), on_duty={"p1": ()})
    values.update(overrides)
    return SchedulingInstance(**values)


def test_policy_defaults_come_from_clinic_policy():
    rules = SchedulingPolicy.from_policy(policy.resolve({}))
    assert rules == SchedulingPolicy(slot_min=20)  # the clinic's start grid (policy schedule.start_step_min)
    assert rules.start_step_min == 20 == SchedulingPolicy().start_step_min  # gcd(20, 40, 40) without the policy
    assert (rules.prep_min, rules.infusion_min, rules.recovery_min) == (20, 40, 40)
    assert rules.chair_min == 100
    assert rules.max_infusing_per_nurse == 2
    assert (rules.induction_sessions, rules.max_sessions_per_week, rules.series_window_days) == (6, 3, 21)
    assert rules.no_duty_window_h == 24


def test_one_clear_day_between_sessions_means_dates_two_apart():
    assert SchedulingPolicy().min_date_gap_days == 2
    rules = SchedulingPolicy.from_policy(policy.resolve({"course.min_days_between_sessions": 2}))
    assert rules.min_date_gap_days == 3


def test_start_grid_is_the_common_step_of_prep_infusion_and_recovery():
    assert SchedulingPolicy().start_step_min == 20  # 20/40/40: six sessions back to back in ten hours
    assert SchedulingPolicy(prep_min=15, recovery_min=45).start_step_min == 5
    assert SchedulingPolicy(prep_min=30, infusion_min=60, recovery_min=30).start_step_min == 30
    assert SchedulingPolicy(slot_min=15).start_step_min == 15


def test_session_count_per_kind():
    rules = SchedulingPolicy()
    assert request(kind=RequestKind.INDUCTION).session_count(rules) == 6
    assert request(kind=RequestKind.INDUCTION, sessions=4).session_count(rules) == 4
    assert request(kind=RequestKind.BOOSTER, latest_end=local(5)).session_count(rules) == 1
    assert request().session_count(rules) == 1


def test_a_valid_instance_passes():
    validate_instance(instance([request(), request("r2", RequestKind.BOOSTER, latest_end=local(4))]))


def test_every_problem_is_listed_at_once():
    bad = instance(
        [
            request("r1", RequestKind.BOOSTER, clinical_priority=4),  # no window end, priority out of range
            request("r1", earliest_start=datetime(2026, 3, 2, 9)),  # duplicate id, naive datetime
            request("r3", RequestKind.INDUCTION, patient_id="ghost", sessions=12),  # no roster, cannot fit
        ],
        clinic=clinic(timezone="Mars/Olympus", chair_ids=()),
    )
    with pytest.raises(CoreError) as caught:
        validate_instance(bad)
    rules = {(p.field, p.rule) for p in caught.value.problems}
    assert ("clinic.timezone", "known_timezone") in rules
    assert ("clinic.chair_ids", "chairs_required") in rules
    assert ("requests[0].latest_end", "booster_window") in rules
    assert ("requests[0].clinical_priority", "priority_range") in rules
    assert ("requests[1].request_id", "unique_ids") in rules
    assert ("requests[1].earliest_start", "aware_datetime") in rules
    assert ("requests[2].patient_id", "roster_required") in rules
    assert ("requests[2].sessions", "series_cannot_fit") in rules


def test_booked_sessions_on_an_unknown_chair_are_refused_but_overlapping_bookings_are_facts():
    rules = SchedulingPolicy()
    fixed = (FixedSession.at("x", "c1", local(0, 8), rules), FixedSession.at("y", "c1", local(0, 9), rules),
             FixedSession.at("z", "c9", local(0, 12), rules))
    problems = {(p.field, p.rule) for p in instance_problems(instance([request()], fixed_sessions=fixed))}
    assert problems == {("fixed_sessions[2].chair_id", "known_chair")}


def test_window_must_end_after_earliest_start_and_duty_be_intervals():
    bad = instance([request(latest_end=local(0))], on_duty={"p1": ((local(2), local(1)),)})
    problems = {p.rule for p in instance_problems(bad)}
    assert problems == {"window_order", "aware_interval"}


def test_a_zero_start_grid_is_refused():
    problems = {p.rule for p in instance_problems(instance([request()], policy=SchedulingPolicy(slot_min=0)))}
    assert problems == {"start_grid"}


def test_fixed_session_helper_uses_policy_times():
    fixed = FixedSession.at("x", "c1", local(0, 8), SchedulingPolicy())
    assert (fixed.infusion_start, fixed.infusion_end, fixed.end) == (local(0, 8, 20), local(0, 9), local(0, 9, 40))
