"""Figures of a schedule and the seeded benchmark (CP-SAT against the front-desk baseline).

Days to first infusion = calendar days (clinic time zone) from the request's earliest-start date to its
first session's date; a series "started within 7 days" has that number below ``start_target_days`` (7).
Chair utilisation = booked chair minutes (placed + fixed) / (open minutes x chairs) over the horizon.
Idle gap = minutes a chair stands empty between two sessions on the same local date.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from tenfour.core.scheduling.baseline import schedule_fcfs
from tenfour.core.scheduling.checker import check_schedule
from tenfour.core.scheduling.cpsat import SolverOptions, schedule_cpsat
from tenfour.core.scheduling.feasibility import Frame, all_request_options, is_preferred, schedule_cost
from tenfour.core.scheduling.model import RequestKind, Schedule, SchedulingInstance


def objective_value(instance: SchedulingInstance, schedule: Schedule) -> int:
    """The scheduler's cost of any schedule (the sum CP-SAT minimises; lower is better)."""
    frame = Frame(instance)
    return schedule_cost(frame, all_request_options(frame), schedule.sessions)


def schedule_metrics(instance: SchedulingInstance, schedule: Schedule) -> dict[str, Any]:
    """JSON-ready figures of one schedule, with the independent checker's verdict."""
    frame = Frame(instance)
    rules = instance.policy
    zone = frame.zone
    requests = {r.request_id: r for r in instance.requests}
    first_start: dict[str, Any] = {}
    for s in schedule.sessions:
        if s.request_id not in first_start or s.start < first_start[s.request_id]:
            first_start[s.request_id] = s.start

    def delay_days(rid: str) -> int:
        r = requests[rid]
        return (first_start[rid].astimezone(zone).date() - r.earliest_start.astimezone(zone).date()).days

    series = [r.request_id for r in instance.requests if r.kind == RequestKind.INDUCTION]
    started = [rid for rid in series if rid in first_start]
    boosters = [r.request_id for r in instance.requests if r.kind == RequestKind.BOOSTER]
    singles = [r.request_id for r in instance.requests if r.kind == RequestKind.SINGLE]
    within = [rid for rid in started if delay_days(rid) < rules.start_target_days]

    open_minutes = sum(b - a for blocks in frame.blocks for a, b in blocks)
    booked = sum((s.end - s.start).total_seconds() / 60 for s in schedule.sessions)
    booked += sum((f.end - f.start).total_seconds() / 60 for f in instance.fixed_sessions
                  if frame.start_min <= frame.minutes(f.start) < frame.end_min)
    capacity = open_minutes * len(instance.clinic.chair_ids)

    by_chair_day: dict[tuple[str, Any], list[tuple[Any, Any]]] = defaultdict(list)
    for s in schedule.sessions:
        by_chair_day[(s.chair_id, s.start.astimezone(zone).date())].append((s.start, s.end))
    for f in instance.fixed_sessions:
        by_chair_day[(f.chair_id, f.start.astimezone(zone).date())].append((f.start, f.end))
    idle = 0.0
    for items in by_chair_day.values():
        items.sort()
        idle += sum(max(0.0, (b[0] - a[1]).total_seconds() / 60) for a, b in zip(items, items[1:], strict=False))

    wished = [s for s in schedule.sessions if requests[s.request_id].preferred_times]
    met = [s for s in wished if is_preferred(frame, requests[s.request_id], frame.minutes(s.start))]
    violations = check_schedule(instance, schedule)
    return {
        "solver": schedule.solver,
        "status": schedule.status,
        "requests": len(instance.requests),
        "sessions_placed": len(schedule.sessions),
        "unplaced": len(schedule.unplaced),
        "unplaced_by_reason": dict(sorted(_count(str(u.reason) for u in schedule.unplaced).items())),
        "series_requested": len(series),
        "series_started": len(started),
        "series_started_within_target": len(within),
        "start_target_days": rules.start_target_days,
        "mean_days_to_first_infusion": round(mean(delay_days(r) for r in started), 2) if started else None,
        "boosters_requested": len(boosters),
        "boosters_placed": sum(1 for r in boosters if r in first_start),
        "mean_days_to_booster": (round(mean(delay_days(r) for r in boosters if r in first_start), 2)
                                 if any(r in first_start for r in boosters) else None),
        "singles_placed": sum(1 for r in singles if r in first_start),
        "chair_utilisation": round(booked / capacity, 4) if capacity else None,
        "idle_gap_min": round(idle),
        "preferred_time_met": round(len(met) / len(wished), 4) if wished else None,
        "violations": len(violations),
        "violation_rules": sorted({v.rule for v in violations}),
        "objective": schedule.objective,
        "best_bound": schedule.best_bound,
        "gap": schedule.gap,
        "solve_seconds": schedule.solve_seconds,
    }


def _count(items) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return dict(out)


def startable_within_target(instance: SchedulingInstance) -> dict[str, int]:
    """Upper bounds whatever the capacity: series any schedule could place (the roster and the clinic
    allow a whole series), and series that could start within the target (a legal first day in time)."""
    frame = Frame(instance)
    series = [o for o in all_request_options(frame) if o.is_series]
    return {
        "series_placeable": sum(1 for o in series if o.placeable),
        "series_startable_within_target": sum(
            1 for o in series if o.placeable and o.first_days[0] - o.earliest_day < instance.policy.start_target_days),
    }


def run_benchmark(seed: int, time_limit_s: float = 50.0, deterministic_time: float | None = None,
                  spec: Any = None) -> dict[str, Any]:
    """Build the seeded benchmark instance, schedule it with the baseline and with CP-SAT (the baseline's
    schedule as a hint, 2 workers, ``time_limit_s`` wall clock including model building) and return both
    sets of figures, the checker's verdicts and the gain in series started within the target
    (JSON-serialisable). CP-SAT runs on the wall clock with 2 workers, so repeated runs can differ a little;
    ``deterministic_time`` makes the search reproducible (interleaved) while the wall clock is not reached first.
    ``spec`` (a ``BenchmarkSpec``) changes the instance's size (the tests use a small one).
    """
    from tenfour.core.scheduling.instance import BenchmarkSpec, generate_instance, instance_summary

    spec = spec or BenchmarkSpec()
    instance = generate_instance(seed, spec)
    baseline = schedule_fcfs(instance)
    cpsat = schedule_cpsat(instance, SolverOptions(time_limit_s=time_limit_s, num_workers=2, random_seed=seed,
                                                   deterministic_time=deterministic_time), hint=baseline)
    base_m, cp_m = schedule_metrics(instance, baseline), schedule_metrics(instance, cpsat)
    base_within, cp_within = base_m["series_started_within_target"], cp_m["series_started_within_target"]
    return {
        "seed": seed,
        "time_limit_s": time_limit_s,
        "instance": instance_summary(instance, spec) | startable_within_target(instance),
        "baseline": base_m,
        "cpsat": cp_m,
        "series_within_target_gain_pct": (round(100 * (cp_within - base_within) / base_within, 1)
                                          if base_within else None),
        "checker": {
            "baseline": [v.to_dict() for v in check_schedule(instance, baseline)],
            "cpsat": [v.to_dict() for v in check_schedule(instance, cpsat)],
        },
        "cpsat_seconds_including_baseline_hint": round(cpsat.solve_seconds + baseline.solve_seconds, 3),
    }


TARGET_GAIN_PCT = 15.0  # the aim: at least 15% more series started within the target than the baseline

SUMMARY_KEYS = ("requests", "series_requested", "series_started", "series_started_within_target",
                "mean_days_to_first_infusion", "boosters_placed", "chair_utilisation", "violations", "solve_seconds")


def benchmark_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``tenfour schedule benchmark`` prints, from ``run_benchmark``'s result: per solver the requests,
    series started within the target, mean days to first infusion, chair utilisation, rule violations (the
    independent checker's), solve seconds; CP-SAT's gap to its bound; the gain and whether the aim is met."""
    out: dict[str, Any] = {"seed": result["seed"], "time_limit_s": result["time_limit_s"],
                           "series_startable_within_target": result["instance"]["series_startable_within_target"]}
    for solver in ("cpsat", "baseline"):
        figures = result[solver]
        out[solver] = {key: figures[key] for key in SUMMARY_KEYS}
    out["cpsat"]["status"] = result["cpsat"]["status"]
    out["cpsat"]["gap"] = result["cpsat"]["gap"]
    out["cpsat"]["best_bound"] = result["cpsat"]["best_bound"]
    gain = result["series_within_target_gain_pct"]
    out["series_within_target_gain_pct"] = gain
    out["target_gain_pct"] = TARGET_GAIN_PCT
    out["target_met"] = gain is not None and gain >= TARGET_GAIN_PCT
    out["at_maximum"] = (result["cpsat"]["series_started_within_target"]
                         >= result["instance"]["series_startable_within_target"])
    out["violations_total"] = result["cpsat"]["violations"] + result["baseline"]["violations"]
    return out
