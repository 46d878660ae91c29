"""The slots a patient may choose for their own request, one session at a time, with the same rules as the
optimiser (``feasibility.py``): clinic grid and opening hours, closures, a nurse free for the infusion, a chair
free for the whole chair time, the patient off duty with no shift starting within the no-duty window after the
session, one session a day, and the series rules. A slot is offered only if the rest of the series can still be
booked after it (checked with the earliest completion, which is optimal for these day rules).

Pure: the instance holds the one request, the patient's duty intervals and every session already booked in the
horizon (as fixed sessions); ``chosen`` are the starts the patient picked so far (not booked yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tenfour.core.errors import CoreError, FieldProblem
from tenfour.core.scheduling.feasibility import Frame, Occupancy, next_day_allowed, request_options
from tenfour.core.scheduling.model import Schedule, SchedulingInstance


@dataclass(frozen=True)
class SlotChoice:
    """Session ``index`` (0-based) of ``count``: the starts it may take, by local date (aware UTC datetimes)."""

    index: int
    count: int
    by_date: dict[date, list[datetime]]

    @property
    def empty(self) -> bool:
        return not self.by_date


def _completes(chain: list[int], free_days: Sequence[int], count: int, rules) -> bool:
    chain = list(chain)
    for day in free_days:
        if len(chain) == count:
            break
        if day > chain[-1] and next_day_allowed(chain, day, rules):
            chain.append(day)
    return len(chain) >= count


def series_choices(instance: SchedulingInstance, request_id: str, chosen: Sequence[datetime] = ()) -> SlotChoice:
    """The starts allowed for the next session of ``request_id`` after ``chosen`` (CoreError naming the rule when a
    chosen start is not one of the allowed ones)."""
    frame = Frame(instance)
    request = next((r for r in instance.requests if r.request_id == request_id), None)
    if request is None:
        raise CoreError([FieldProblem("request_id", "known_request", f"no request {request_id!r}")])
    options = request_options(frame, request)
    occupancy = Occupancy(frame)
    count = options.count
    chain: list[int] = []
    for i, moment in enumerate(chosen):
        start = frame.minutes(moment)
        day = frame.day_of(start)
        allowed = _next(frame, options, occupancy, chain, count)
        if start not in allowed.get(day, []):
            raise CoreError([FieldProblem(f"starts[{i}]", "slot_not_offered",
                                          f"{frame.describe(start)} is not one of the times offered for session "
                                          f"{i + 1} of {count}: choose again")])
        chair = occupancy.pick_chair(day, start, start + frame.chair_min)
        assert chair is not None  # the slot was free
        occupancy.book(request.patient_id, day, start, chair)
        chain.append(day)
    if len(chain) >= count:
        return SlotChoice(len(chain), count, {})
    allowed = _next(frame, options, occupancy, chain, count)
    by_date = {frame.dates[day]: [frame.moment(t) for t in starts] for day, starts in sorted(allowed.items())}
    return SlotChoice(len(chain), count, by_date)


def _next(frame: Frame, options, occupancy: Occupancy, chain: list[int], count: int) -> dict[int, list[int]]:
    rules = frame.rules
    free: dict[int, list[int]] = {}
    for day, starts in options.starts.items():
        ok = [t for t in starts if occupancy.blocker(options.request.patient_id, day, t) is None]
        if ok:
            free[day] = ok
    free_days = sorted(free)
    out: dict[int, list[int]] = {}
    for day in free_days:
        if chain and not (day > chain[-1] and next_day_allowed(chain, day, rules)):
            continue
        if _completes([*chain, day], free_days, count, rules):
            out[day] = free[day]
    return out


def chosen_schedule(instance: SchedulingInstance, request_id: str, starts: Sequence[datetime]) -> Schedule:
    """The schedule of the patient's chosen starts (every one checked as offered, in order; chairs best fit), for
    the independent checker before anything is booked. CoreError naming the rule when a start was not offered or
    the series is incomplete."""
    choice = series_choices(instance, request_id, starts)  # raises slot_not_offered
    if choice.index < choice.count:
        raise CoreError([FieldProblem("starts", "series_complete",
                                      f"choose all {choice.count} sessions ({choice.index} chosen)")])
    frame = Frame(instance)
    request = next(r for r in instance.requests if r.request_id == request_id)
    occupancy = Occupancy(frame)
    sessions = []
    for index, moment in enumerate(starts):
        start = frame.minutes(moment)
        day = frame.day_of(start)
        chair = occupancy.pick_chair(day, start, start + frame.chair_min)
        assert chair is not None
        occupancy.book(request.patient_id, day, start, chair)
        sessions.append(occupancy.placed(request, index, day, start, chair))
    return Schedule("patient", "chosen", tuple(sessions), ())
