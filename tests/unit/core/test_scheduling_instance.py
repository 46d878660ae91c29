"""Seeded benchmark instances: deterministic, of the stated size, with mixed rosters and valid bookings."""

from __future__ import annotations

from collections import Counter
from datetime import date

from tenfour.core.scheduling.instance import BenchmarkSpec, generate_benchmark, generate_instance, instance_summary
from tenfour.core.scheduling.model import RequestKind, instance_problems


def test_same_seed_same_instance_other_seed_other_instance():
    assert generate_instance(3) == generate_instance(3)
    assert generate_instance(3).requests != generate_instance(4).requests


def test_benchmark_size_and_calendar():
    instance, patterns = generate_benchmark(0)
    assert instance_problems(instance) == []
    summary = instance_summary(instance, BenchmarkSpec())
    assert (summary["chairs"], summary["nurses"], summary["series"], summary["boosters"]) == (8, 3, 60, 120)
    assert summary["days"] == 28 and instance.start.date() == date(2026, 3, 2)  # spans the 8 March DST change
    kinds = Counter(r.kind for r in instance.requests)
    assert kinds == {RequestKind.INDUCTION: 60, RequestKind.BOOSTER: 120}
    assert all(r.latest_end is not None for r in instance.requests if r.kind == RequestKind.BOOSTER)
    used = Counter(p.split()[0] for p in patterns.values())
    assert set(used) == {"24/48", "48/96", "kelly", "pitman", "dupont", "4on4off", "custom", "none"}
    assert all(instance.on_duty[p] for p, pattern in patterns.items() if pattern != "none")


def test_booked_sessions_fit_chairs_and_nurses():
    instance = generate_instance(1)
    assert len(instance.fixed_sessions) > 100
    rules = instance.policy
    for f in instance.fixed_sessions:
        running = sum(1 for g in instance.fixed_sessions
                      if g.infusion_start <= f.infusion_start < g.infusion_end)
        nurses = sum(1 for n in instance.clinic.nurse_shifts if n.start <= f.infusion_start < n.end)
        assert running <= rules.max_infusing_per_nurse * nurses


def test_nurse_roster_is_three_nurses_on_forty_hour_weeks():
    instance = generate_instance(0)
    hours = Counter()
    for shift in instance.clinic.nurse_shifts:
        hours[shift.nurse_id] += (shift.end - shift.start).total_seconds() / 3600
    assert set(hours) == {"N1", "N2", "N3"}
    assert all(h == 4 * 40 for h in hours.values())  # four weeks, 4 x 10 h shifts a week each
