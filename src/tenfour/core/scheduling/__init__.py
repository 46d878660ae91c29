"""Shift-aware chair scheduling: CP-SAT optimiser, first-come-first-served baseline, independent checker.

Pure Python (OR-Tools is the only library). See docs/scheduling.md for the model and the benchmark.
"""

from tenfour.core.scheduling.baseline import schedule_fcfs
from tenfour.core.scheduling.checker import RULES, Violation, check_schedule
from tenfour.core.scheduling.cpsat import SolverOptions, schedule_cpsat
from tenfour.core.scheduling.metrics import objective_value, run_benchmark, schedule_metrics
from tenfour.core.scheduling.model import (
    AFTERNOON,
    MORNING,
    Clinic,
    FixedSession,
    NurseShift,
    PlacedSession,
    PreferredTime,
    RequestKind,
    Schedule,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
    UnplacedReason,
    UnplacedRequest,
    instance_problems,
    validate_instance,
)

__all__ = [
    "AFTERNOON", "MORNING", "RULES", "Clinic", "FixedSession", "NurseShift", "PlacedSession", "PreferredTime",
    "RequestKind", "Schedule", "SchedulingInstance", "SchedulingPolicy", "SessionRequest", "SolverOptions",
    "UnplacedReason", "UnplacedRequest", "Violation", "check_schedule", "instance_problems", "objective_value",
    "run_benchmark", "schedule_cpsat", "schedule_fcfs", "schedule_metrics", "validate_instance",
]
