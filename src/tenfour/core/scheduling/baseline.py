"""First-come-first-served baseline: what a front desk does by hand.

Requests are taken in arrival order (ties by request id). Each takes its earliest feasible slot; a series
takes, for the earliest first day from which the whole series can be booked, the earliest slot that day
and then, day by day, the earliest slot allowed by the series rules. Same feasibility rules as CP-SAT
(``feasibility.py``); chairs are chosen best-fit (the chair whose last session ended closest before).
"""

from __future__ import annotations

from time import perf_counter

from tenfour.core.scheduling.feasibility import (
    Frame,
    Occupancy,
    RequestOptions,
    all_request_options,
    explain_unplaced,
    next_day_allowed,
    schedule_cost,
)
from tenfour.core.scheduling.model import PlacedSession, Schedule, SchedulingInstance

Booking = list[tuple[int, int, str]]  # (day, start minute, chair) per session


def _earliest_slot(frame: Frame, option: RequestOptions, occupancy: Occupancy, day: int) -> tuple[int, str] | None:
    for start in option.starts.get(day, ()):
        if occupancy.blocker(option.request.patient_id, day, start) is None:
            chair = occupancy.pick_chair(day, start, start + frame.chair_min)
            assert chair is not None  # blocker() found a free chair
            return start, chair
    return None


def first_fit(frame: Frame, option: RequestOptions, occupancy: Occupancy) -> Booking | None:
    """The front desk's booking for one request given what is already booked, or None."""
    rules = frame.rules
    if not option.is_series or option.count == 1:
        for day in sorted(option.starts):
            slot = _earliest_slot(frame, option, occupancy, day)
            if slot:
                return [(day, *slot)]
        return None
    days = sorted(option.starts)
    for first in option.first_days:
        slot = _earliest_slot(frame, option, occupancy, first)
        if slot is None:
            continue
        chain, booking = [first], [(first, *slot)]
        for day in days:
            if len(chain) == option.count or day - first > rules.series_window_days - 1:
                break
            if day > chain[-1] and next_day_allowed(chain, day, rules):
                slot = _earliest_slot(frame, option, occupancy, day)
                if slot:
                    chain.append(day)
                    booking.append((day, *slot))
        if len(chain) == option.count:
            return booking
    return None


def greedy_sessions(frame: Frame, options: list[RequestOptions], order, occupancy: Occupancy | None = None
                    ) -> tuple[list[PlacedSession], list[RequestOptions]]:
    """Book requests one by one in ``order`` (a sort key) at their earliest feasible slots; return the
    sessions and the requests left out."""
    occupancy = occupancy or Occupancy(frame)
    sessions: list[PlacedSession] = []
    left_out: list[RequestOptions] = []
    for option in sorted(options, key=order):
        booking = first_fit(frame, option, occupancy)
        if booking is None:
            left_out.append(option)
            continue
        for index, (day, start, chair) in enumerate(booking):
            occupancy.book(option.request.patient_id, day, start, chair)
            sessions.append(occupancy.placed(option.request, index, day, start, chair))
    return sessions, left_out


def arrival_order(o: RequestOptions) -> tuple:
    """The front desk's order: first come, first served (ties by request id)."""
    return (o.request.arrival, o.request.request_id)


def schedule_fcfs(instance: SchedulingInstance) -> Schedule:
    """Book every request in arrival order at its earliest feasible slots; explain the rest."""
    began = perf_counter()
    frame = Frame(instance)
    options = all_request_options(frame)
    occupancy = Occupancy(frame)
    sessions, left_out = greedy_sessions(frame, options, arrival_order, occupancy)
    unplaced = tuple(explain_unplaced(frame, o, occupancy) for o in left_out)
    sessions.sort(key=lambda s: (s.start, s.chair_id))
    return Schedule("baseline", "greedy", tuple(sessions), unplaced,
                    objective=schedule_cost(frame, options, sessions),
                    solve_seconds=round(perf_counter() - began, 3))
