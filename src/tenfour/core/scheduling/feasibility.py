"""Rules shared by both solvers: the minute grid, candidate slots per request, series day rules,
chair/nurse occupancy, the objective's cost terms and the explanation of an unplaced request.

Time is integer minutes from the local midnight that begins the planning horizon (``Frame.origin``);
day ``d`` is the ``d``-th local date of the horizon in the clinic's time zone (daylight-saving safe:
every conversion goes through aware datetimes). A session may start at an opening time + k x the start
step (``SchedulingPolicy.start_step_min``: 20 min with the default 20/40/40 prep/infusion/recovery) when
its whole chair time fits in that opening block and a nurse is on duty for its infusion.

Patient rules (DESIGN.md "Discharge & duty"; ketamine label: no driving or hazardous work for 24 h):
the patient is not on duty at any moment of the chair time, and no on-duty interval STARTS in
[chair end, chair end + no_duty_window_h). The window is counted from the end of CHAIR time (after
recovery), later than the infusion end, so stricter: a product choice. Every given on-duty interval's
start counts as a shift start.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tenfour.core.scheduling.model import (
    PlacedSession,
    RequestKind,
    SchedulingInstance,
    SessionRequest,
    UnplacedReason,
    UnplacedRequest,
    validate_instance,
)

# --- Objective: cost terms (lower is better), weighted sum with dominating tiers ------------------
# Product choices, documented in docs/scheduling.md. Tier 1 (placing a request) dominates tier 2 (how
# soon), which dominates tier 3 (preferred times) and tier 4 (minutes after opening: packs each day
# from the opening, which keeps chairs free of idle gaps).
PRIORITY_WEIGHT = {1: 3, 2: 2, 3: 1}  # clinical priority 1 urgent, 2 soon, 3 routine
MAX_WAIT_WEEKS_WEIGHTED = 4  # waiting weight grows one step per full week waited, up to 4 weeks
COST_UNPLACED = 10_000_000  # x weight, per request not placed
COST_SERIES_DAY = 20_000  # x weight, per calendar day from earliest start to a series' first session
COST_SERIES_LATE = 200_000  # x weight, once, if a series starts start_target_days or more after
COST_ONE_OFF_DAY = 2_000  # x weight, per day from earliest start to a booster / single session
COST_LATER_SESSION_DAY = 200  # per day from earliest start to each later session of a series (compact series)
COST_NOT_PREFERRED = 3_000  # per session outside the patient's preferred times (when they gave any)
COST_MINUTE_AFTER_OPENING = 1  # per minute a session starts after the day's first opening


def _local_midnight(day: date, zone) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class NurseSegment:
    """Over [start, end) (minutes) at most ``capacity`` more patients may be infusing."""

    start: int
    end: int
    capacity: int


class Frame:
    """The instance on the minute grid: opening blocks, open start slots and nurse capacity per day."""

    def __init__(self, instance: SchedulingInstance) -> None:
        validate_instance(instance)
        self.instance = instance
        self.rules = instance.policy
        self.zone = instance.clinic.zone
        self.first_date = instance.start.astimezone(self.zone).date()
        self.days = instance.days
        self.dates = [self.first_date + timedelta(days=i) for i in range(self.days)]
        self.origin = _local_midnight(self.first_date, self.zone)
        self.day_start = [self.minutes(_local_midnight(self.first_date + timedelta(days=i), self.zone))
                          for i in range(self.days + 1)]
        self.start_min = self.minutes(instance.start, ceil=True)
        self.end_min = self.day_start[self.days]
        self.chair_min = self.rules.chair_min
        self.nurse_shift_minutes = [(self.minutes(s.start, ceil=True), self.minutes(s.end))
                                    for s in instance.clinic.nurse_shifts]
        self.fixed_infusions = [(self.minutes(f.infusion_start), self.minutes(f.infusion_end, ceil=True))
                                for f in instance.fixed_sessions]
        self.blocks: list[list[tuple[int, int]]] = [self._opening_blocks(i) for i in range(self.days)]
        self.nurse_segments: list[list[NurseSegment]] = [self._nurse_segments(i) for i in range(self.days)]
        self.open_starts: list[list[int]] = [self._open_starts(i) for i in range(self.days)]
        self.chair_ids = instance.clinic.chair_ids
        self.fixed_by_day: list[list[tuple[str, int, int]]] = [[] for _ in range(self.days)]
        self.patient_fixed_days: dict[str, set[int]] = {}
        for fixed in instance.fixed_sessions:
            a, b = self.minutes(fixed.start), self.minutes(fixed.end, ceil=True)
            for d in range(self.days):
                if a < self.day_start[d + 1] and b > self.day_start[d]:
                    self.fixed_by_day[d].append((fixed.chair_id, a, b))
                    self.patient_fixed_days.setdefault(fixed.patient_id, set()).add(d)
        # Bookings that already overlap on a chair (entered outside the app, a session run long) are facts, not
        # decisions: the chair is taken for their union, so the models' no-overlap and capacity constraints stay
        # satisfiable instead of refusing the whole clinic.
        self.fixed_by_day = [_merged(day) for day in self.fixed_by_day]

    # conversions
    def minutes(self, moment: datetime, ceil: bool = False) -> int:
        seconds = (moment - self.origin).total_seconds()
        return math.ceil(seconds / 60) if ceil else math.floor(seconds / 60)

    def moment(self, minute: int) -> datetime:
        """UTC instant of a grid minute."""
        return self.origin + timedelta(minutes=minute)

    def local(self, minute: int) -> datetime:
        return self.moment(minute).astimezone(self.zone)

    def day_of(self, minute: int) -> int:
        """Index of the local date containing the minute (may be <0 or >= days outside the horizon)."""
        if self.day_start[0] <= minute < self.end_min:
            return bisect_right(self.day_start, minute) - 1
        return (self.local(minute).date() - self.first_date).days

    def describe_day(self, day: int) -> str:
        return (self.first_date + timedelta(days=day)).strftime("%a %d %b %Y")

    def describe(self, minute: int) -> str:
        return self.local(minute).strftime("%a %d %b %Y %H:%M")

    # construction helpers
    def _opening_blocks(self, day: int) -> list[tuple[int, int]]:
        clinic = self.instance.clinic
        local_date = self.dates[day]
        if local_date in clinic.closures:
            return []
        blocks = []
        for opens, closes in sorted(clinic.opening_hours.get(local_date.weekday(), ())):
            a = datetime.combine(local_date, opens).replace(tzinfo=self.zone, fold=0)
            b = datetime.combine(local_date, closes).replace(tzinfo=self.zone, fold=0)
            blocks.append((self.minutes(a.astimezone(UTC), ceil=True), self.minutes(b.astimezone(UTC))))
        return [(a, b) for a, b in blocks if b > a]

    def _nurses_at(self, day: int, minute: int) -> int:
        clinic = self.instance.clinic
        if clinic.nurse_shifts:
            return sum(1 for a, b in self.nurse_shift_minutes if a <= minute < b)
        return clinic.nurses_by_date.get(self.dates[day], clinic.nurses_per_day)

    def _nurse_segments(self, day: int) -> list[NurseSegment]:
        """Infusion capacity = max_infusing_per_nurse x nurses on duty - booked (fixed) infusions."""
        fixed_infusions = self.fixed_infusions
        segments = []
        for opens, closes in self.blocks[day]:
            cuts = {opens, closes}
            for a, b in self.nurse_shift_minutes + fixed_infusions:
                cuts.update(x for x in (a, b) if opens < x < closes)
            points = sorted(cuts)
            for a, b in zip(points, points[1:], strict=False):
                nurses = self._nurses_at(day, a)
                busy = sum(1 for fa, fb in fixed_infusions if fa <= a < fb)
                capacity = max(0, self.rules.max_infusing_per_nurse * nurses - busy)
                if segments and segments[-1].end == a and segments[-1].capacity == capacity:
                    segments[-1] = NurseSegment(segments[-1].start, b, capacity)
                else:
                    segments.append(NurseSegment(a, b, capacity))
        return segments

    def infusion_capacity(self, day: int, start: int, end: int) -> int:
        """Smallest nurse capacity over [start, end) (0 where no nurse is on duty or the clinic is shut)."""
        low = None
        covered = start
        for seg in self.nurse_segments[day]:
            if seg.end <= start or seg.start >= end:
                continue
            if seg.start > covered:
                return 0
            low = seg.capacity if low is None else min(low, seg.capacity)
            covered = seg.end
        if covered < end or low is None:
            return 0
        return low

    def infusion_of(self, start: int) -> tuple[int, int]:
        a = start + self.rules.prep_min
        return a, a + self.rules.infusion_min

    def _open_starts(self, day: int) -> list[int]:
        starts = []
        step = self.rules.start_step_min
        for opens, closes in self.blocks[day]:
            t = opens
            while t + self.chair_min <= closes:
                a, b = self.infusion_of(t)
                if t >= self.start_min and self.infusion_capacity(day, a, b) >= 1:
                    starts.append(t)
                t += step
        return starts

    def day_opening(self, day: int) -> int:
        return self.blocks[day][0][0] if self.blocks[day] else self.day_start[day]


# --- Patient duty -----------------------------------------------------------------------------------


class DutyCalendar:
    """A patient's on-duty intervals on the grid (start floored, end ceiled: exact for whole minutes)."""

    def __init__(self, frame: Frame, intervals: Sequence[tuple[datetime, datetime]]) -> None:
        pairs = sorted((frame.minutes(a), frame.minutes(b, ceil=True)) for a, b in intervals)
        self.starts = [a for a, _ in pairs]
        self.max_end: list[int] = []
        for _, b in pairs:
            self.max_end.append(max(b, self.max_end[-1]) if self.max_end else b)
        self.window_min = math.ceil(frame.rules.no_duty_window_h * 60)

    def conflict(self, start: int, end: int) -> str | None:
        """'on_duty' if on duty during [start, end); 'no_duty_window' if a shift starts within the no-duty
        window after ``end``; None if the session fits the roster."""
        before_end = bisect_left(self.starts, end)
        if before_end and self.max_end[before_end - 1] > start:
            return "on_duty"
        if bisect_left(self.starts, end + self.window_min) > before_end:
            return "no_duty_window"
        return None


# --- Series day rules -------------------------------------------------------------------------------


def next_day_allowed(chain: Sequence[int], day: int, rules) -> bool:
    """May the next session of a series (dates so far ``chain``, day indexes) fall on ``day``?

    Spacing: day - last >= min_days_between_sessions + 1. Rolling week: with m = max_sessions_per_week,
    day - chain[-m] >= 7 (so no 7 consecutive dates hold more than m sessions). Window: day - first <=
    series_window_days - 1."""
    if not chain:
        return True
    m = rules.max_sessions_per_week
    return (day - chain[-1] >= rules.min_date_gap_days
            and (len(chain) < m or day - chain[-m] >= 7)
            and day - chain[0] <= rules.series_window_days - 1)


def earliest_chain(first: int, days: Sequence[int], count: int, rules) -> list[int] | None:
    """The componentwise earliest series starting on ``first`` using only ``days`` (sorted), or None."""
    chain = [first]
    i = bisect_right(days, first)
    while len(chain) < count:
        while i < len(days) and not next_day_allowed(chain, days[i], rules):
            if days[i] - chain[0] > rules.series_window_days - 1:
                return None
            i += 1
        if i == len(days):
            return None
        chain.append(days[i])
        i += 1
    return chain


def latest_chain(first: int, days: Sequence[int], count: int, rules) -> list[int]:
    """The componentwise latest series whose first session is ``first`` (call only when a series from
    ``first`` exists: then this one is valid too)."""
    m = rules.max_sessions_per_week
    last_allowed = first + rules.series_window_days - 1
    chain: list[int] = [0] * count
    pool = [d for d in days if first < d <= last_allowed]
    for k in range(count - 1, 0, -1):
        bound = last_allowed
        if k + 1 < count:
            bound = min(bound, chain[k + 1] - rules.min_date_gap_days)
        if k + m < count:
            bound = min(bound, chain[k + m] - 7)
        j = bisect_right(pool, bound) - 1
        chain[k] = pool[j] if j >= 0 else first
    chain[0] = first
    return chain


def max_series_length(days: Sequence[int], rules) -> int:
    """Most sessions the rules allow on these days (greedy earliest is optimal for these rules)."""
    best = 0
    for first in days:
        chain = [first]
        for d in days:
            if d > chain[-1] and next_day_allowed(chain, d, rules):
                chain.append(d)
        best = max(best, len(chain))
    return best


# --- Candidate slots per request --------------------------------------------------------------------


@dataclass
class RequestOptions:
    """Where a request can go, ignoring other requests: ``starts[day]`` lists feasible start minutes;
    ``session_days[k]`` the days session k can use in some complete series."""

    request: SessionRequest
    count: int
    weight: int
    earliest_day: int
    window_start: int
    window_end: int
    starts: dict[int, list[int]]
    first_days: list[int]
    session_days: list[list[int]]
    blocked: Counter = field(default_factory=Counter)
    open_in_window: int = 0

    @property
    def is_series(self) -> bool:
        return self.request.kind == RequestKind.INDUCTION

    @property
    def placeable(self) -> bool:
        """Could any schedule place it (ignoring other requests)? If not, no schedule places it and it is
        left out of the objective (it would add the same constant to every schedule)."""
        return bool(self.first_days) and all(self.session_days)


def request_weight(request: SessionRequest, planning_start: datetime) -> int:
    """Priority weight (1 urgent -> 3, 2 -> 2, 3 routine -> 1) x (1 + full weeks waited, at most 4)."""
    waited = max(timedelta(0), planning_start - request.arrival)
    weeks = min(int(waited / timedelta(days=7)), MAX_WAIT_WEEKS_WEIGHTED)
    return PRIORITY_WEIGHT[request.clinical_priority] * (1 + weeks)


def request_options(frame: Frame, request: SessionRequest, duty: DutyCalendar | None = None) -> RequestOptions:
    """Feasible starts of one request from the clinic grid, its window and the patient's roster."""
    rules = frame.rules
    duty = duty or DutyCalendar(frame, frame.instance.on_duty.get(request.patient_id, ()))
    window_start = max(frame.minutes(request.earliest_start, ceil=True), frame.start_min)
    window_end = frame.end_min
    if request.latest_end is not None:
        window_end = min(window_end, frame.minutes(request.latest_end))
    taken_days = frame.patient_fixed_days.get(request.patient_id, set())
    starts: dict[int, list[int]] = {}
    blocked: Counter = Counter()
    open_in_window = 0
    for day in range(frame.days):
        for t in frame.open_starts[day]:
            if t < window_start or t + frame.chair_min > window_end:
                continue
            open_in_window += 1
            if day in taken_days:
                blocked["day_taken"] += 1
                continue
            reason = duty.conflict(t, t + frame.chair_min)
            if reason:
                blocked[reason] += 1
            else:
                starts.setdefault(day, []).append(t)
    count = request.session_count(rules)
    days = sorted(starts)
    if request.kind == RequestKind.INDUCTION and count > 1:
        first_days, session_days = _series_days(days, count, rules)
    else:
        first_days, session_days = days, [days]
    earliest_day = (request.earliest_start.astimezone(frame.zone).date() - frame.first_date).days
    return RequestOptions(request, count, request_weight(request, frame.instance.start), earliest_day,
                          window_start, window_end, starts, first_days, session_days, blocked, open_in_window)


def _series_days(days: list[int], count: int, rules) -> tuple[list[int], list[list[int]]]:
    candidates: list[set[int]] = [set() for _ in range(count)]
    firsts = []
    for first in days:
        early = earliest_chain(first, days, count, rules)
        if early is None:
            continue
        firsts.append(first)
        late = latest_chain(first, days, count, rules)
        for k in range(count):
            lo, hi = bisect_left(days, early[k]), bisect_right(days, late[k])
            candidates[k].update(days[lo:hi])
    return firsts, [sorted(c) for c in candidates]


def all_request_options(frame: Frame) -> list[RequestOptions]:
    duties: dict[str, DutyCalendar] = {}
    options = []
    for request in frame.instance.requests:
        if request.patient_id not in duties:
            duties[request.patient_id] = DutyCalendar(frame, frame.instance.on_duty.get(request.patient_id, ()))
        options.append(request_options(frame, request, duties[request.patient_id]))
    return options


# --- Costs ------------------------------------------------------------------------------------------


def first_day_cost(options: RequestOptions, day: int, rules) -> int:
    """Tier 2: cost of the first (or only) session falling on ``day``."""
    delay = max(0, day - options.earliest_day)
    if options.is_series:
        late = COST_SERIES_LATE if delay >= rules.start_target_days else 0
        return options.weight * (COST_SERIES_DAY * delay + late)
    return options.weight * COST_ONE_OFF_DAY * delay


def later_session_cost(options: RequestOptions, day: int) -> int:
    """Tier 2, a little: each later session of a series one day later costs this (finish series soon)."""
    return COST_LATER_SESSION_DAY * max(0, day - options.earliest_day)


def is_preferred(frame: Frame, request: SessionRequest, start: int) -> bool:
    """Does the chair time [start, start + chair_min) meet one of the request's preferred times?"""
    begin, finish = frame.local(start), frame.local(start + frame.chair_min)
    for wish in request.preferred_times:
        if (begin.weekday() in wish.weekdays and begin.date() == finish.date()
                and wish.start <= begin.time() and finish.time() <= wish.end):
            return True
    return False


def slot_cost(frame: Frame, request: SessionRequest, day: int, start: int) -> int:
    """Tiers 3 and 4 of one session: outside the preferred times, minutes after the day's opening."""
    cost = COST_MINUTE_AFTER_OPENING * (start - frame.day_opening(day))
    if request.preferred_times and not is_preferred(frame, request, start):
        cost += COST_NOT_PREFERRED
    return cost


# --- Occupancy (chairs, nurses, patients' days) -----------------------------------------------------


class Occupancy:
    """Chair bookings, infusions and patients' days of a schedule being built (fixed sessions included;
    their infusions are already taken out of the nurse capacity by ``Frame``)."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.chairs: list[dict[str, list[tuple[int, int]]]] = [
            {c: [] for c in frame.chair_ids} for _ in range(frame.days)]
        self.infusions: list[list[tuple[int, int]]] = [[] for _ in range(frame.days)]
        self.patient_days: set[tuple[str, int]] = set()
        for day in range(frame.days):
            for chair, a, b in frame.fixed_by_day[day]:
                self.chairs[day][chair].append((a, b))
        for patient, days in frame.patient_fixed_days.items():
            self.patient_days.update((patient, d) for d in days)

    def free_chairs(self, day: int, start: int, end: int, chairs: Sequence[str] | None = None) -> list[str]:
        chosen = self.frame.chair_ids if chairs is None else chairs
        return [c for c in chosen if all(b <= start or a >= end for a, b in self.chairs[day][c])]

    def pick_chair(self, day: int, start: int, end: int, chairs: Sequence[str] | None = None) -> str | None:
        """Best fit: the free chair whose previous session that day ended closest before ``start`` (keeps
        chair days compact); chairs unused so far come after, in the clinic's order."""
        free = self.free_chairs(day, start, end, chairs)
        if not free:
            return None

        def last_end(chair: str) -> int:
            ends = [b for _, b in self.chairs[day][chair] if b <= start]
            return max(ends) if ends else -1

        return max(free, key=lambda c: (last_end(c), -free.index(c)))

    def nurse_allows(self, day: int, start: int, end: int) -> bool:
        """Would one more infusion over [start, end) keep infusing patients within the nurse limit?"""
        points = {start} | {a for a, _ in self.infusions[day] if start < a < end}
        points |= {s.start for s in self.frame.nurse_segments[day] if start < s.start < end}
        for p in points:
            running = sum(1 for a, b in self.infusions[day] if a <= p < b)
            if running + 1 > self.frame.infusion_capacity(day, p, p + 1):
                return False
        return True

    def blocker(self, patient_id: str, day: int, start: int) -> str | None:
        """Why a patient-feasible slot cannot be booked now: 'day_taken', 'chairs', 'nurses' or None."""
        if (patient_id, day) in self.patient_days:
            return "day_taken"
        if not self.free_chairs(day, start, start + self.frame.chair_min):
            return "chairs"
        if not self.nurse_allows(day, *self.frame.infusion_of(start)):
            return "nurses"
        return None

    def book(self, patient_id: str, day: int, start: int, chair: str) -> None:
        self.chairs[day][chair].append((start, start + self.frame.chair_min))
        self.infusions[day].append(self.frame.infusion_of(start))
        self.patient_days.add((patient_id, day))

    def placed(self, request: SessionRequest, index: int, day: int, start: int, chair: str) -> PlacedSession:
        a, b = self.frame.infusion_of(start)
        f = self.frame.moment
        return PlacedSession(request.request_id, request.patient_id, index, chair, f(start),
                             f(start + self.frame.chair_min), f(a), f(b))


def occupancy_of(frame: Frame, sessions: Sequence[PlacedSession]) -> Occupancy:
    occupancy = Occupancy(frame)
    for s in sessions:
        start = frame.minutes(s.start)
        occupancy.book(s.patient_id, frame.day_of(start), start, s.chair_id)
    return occupancy


# --- Explanations -----------------------------------------------------------------------------------


def _window_text(frame: Frame, options: RequestOptions) -> str:
    return f"between {frame.describe(options.window_start)} and {frame.describe(options.window_end)}"


def _days_text(frame: Frame, days: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(frame.describe_day(d) for d in days[:limit])
    return shown + (f" and {len(days) - limit} more" if len(days) > limit else "")


def explain_unplaced(frame: Frame, options: RequestOptions, occupancy: Occupancy) -> UnplacedRequest:
    """Why a request is not in the schedule whose bookings are ``occupancy`` (built without it)."""
    request, rules = options.request, frame.rules

    def out(reason: UnplacedReason, text: str) -> UnplacedRequest:
        return UnplacedRequest(request.request_id, request.patient_id, reason, text)

    if options.open_in_window == 0:
        return out(UnplacedReason.NO_OPEN_SLOT,
                   f"The clinic has no open {frame.chair_min}-minute slot with a nurse on duty "
                   f"{_window_text(frame, options)}.")
    if not options.starts:
        b = options.blocked
        return out(UnplacedReason.PATIENT_UNAVAILABLE,
                   f"On duty or within {rules.no_duty_window_h:g} h of a shift on every open slot "
                   f"{_window_text(frame, options)} ({options.open_in_window} open slots: {b['on_duty']} overlap "
                   f"a duty shift, {b['no_duty_window']} end less than {rules.no_duty_window_h:g} h before a "
                   f"shift starts, {b['day_taken']} fall on a day the patient is already booked).")
    days = sorted(options.starts)
    if options.is_series and not options.first_days:
        most = max_series_length(days, rules)
        return out(UnplacedReason.SERIES_CANNOT_FIT,
                   f"A series of {options.count} cannot fit within {rules.series_window_days} days given the "
                   f"roster: the patient can come on only {len(days)} day(s) {_window_text(frame, options)} "
                   f"({_days_text(frame, days)}), and at most {most} session(s) fit with at least "
                   f"{rules.min_days_between_sessions} clear day(s) between sessions, at most "
                   f"{rules.max_sessions_per_week} in any 7 days and all within {rules.series_window_days} "
                   "days of the first.")
    free: dict[int, list[int]] = {}
    why: Counter = Counter()
    for day, starts in options.starts.items():
        for t in starts:
            blocker = occupancy.blocker(request.patient_id, day, t)
            if blocker:
                why[blocker] += 1
            else:
                free.setdefault(day, []).append(t)
    total = sum(len(s) for s in options.starts.values())
    taken = (f"({why['chairs']} with every chair taken, {why['nurses']} at the nurse limit, "
             f"{why['day_taken']} on a day the patient already has a session)")
    if not free:
        what = "No chair free in the booster window" if request.kind == RequestKind.BOOSTER else \
            "No chair or nurse free"
        return out(UnplacedReason.NO_CAPACITY,
                   f"{what}: all {total} slots the patient can take on {len(days)} day(s) "
                   f"{_window_text(frame, options)} are used by other sessions {taken}.")
    free_days = sorted(free)
    if options.is_series and not any(earliest_chain(f, free_days, options.count, rules) for f in free_days):
        return out(UnplacedReason.NO_CAPACITY,
                   f"No chair or nurse free for a whole series: the {len(free_days)} day(s) with a free slot "
                   f"the patient can take ({_days_text(frame, free_days)}) cannot hold {options.count} "
                   f"sessions within {rules.series_window_days} days; the other slots are used {taken}.")
    return out(UnplacedReason.NOT_FOUND,
               f"Free slots exist (first {frame.describe(free[free_days[0]][0])}) but the solver did not "
               "place this request within its time limit.")


def schedule_cost(frame: Frame, options: Sequence[RequestOptions], sessions: Sequence[PlacedSession]) -> int:
    """The objective of a schedule (the same sum CP-SAT minimises); a request with fewer sessions placed
    than asked counts as not placed; requests no schedule can place count nothing."""
    by_request: dict[str, list[PlacedSession]] = {}
    for s in sessions:
        by_request.setdefault(s.request_id, []).append(s)
    total = 0
    for option in options:
        if not option.placeable:
            continue
        placed = by_request.get(option.request.request_id, [])
        if len(placed) < option.count:
            total += COST_UNPLACED * option.weight
            continue
        first = min(frame.minutes(s.start) for s in placed)
        total += first_day_cost(option, frame.day_of(first), frame.rules)
        for s in placed:
            start = frame.minutes(s.start)
            total += slot_cost(frame, option.request, frame.day_of(start), start)
            if start != first:
                total += later_session_cost(option, frame.day_of(start))
    return total


def _merged(intervals: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Per chair, overlapping (chair, start, end) intervals joined into one."""
    out: list[tuple[str, int, int]] = []
    for chair, a, b in sorted(intervals):
        if out and out[-1][0] == chair and a < out[-1][2]:
            out[-1] = (chair, out[-1][1], max(out[-1][2], b))
        else:
            out.append((chair, a, b))
    return out
