"""The CP-SAT chair scheduler (OR-Tools), in two phases.

Phase 1 (one model; tiers 1-2 of the objective: place requests, start them soon, i.e. the day of every
session). Per request r: ``unplaced[r]``; per session k of r and candidate day d (pre-filtered by the
clinic grid, the request's window and the patient's roster, see ``feasibility.py``): a literal x[r,k,d]
and a start minute whose domain is the day's feasible starts; an optional chair interval and an optional
infusion interval share that start. unplaced[r] + sum_d x[r,0,d] = 1; every other session uses exactly
one day iff r is placed (all or nothing). Series: day(k+1) >= day(k) + min_days + 1, day(k+m) >=
day(k) + 7 (at most m in any 7 days), day(last) - day(first) <= window - 1, in the time-indexed form
that keeps the LP relaxation tight; the session order breaks the symmetry. One session per patient per
day. Chairs: per day a cumulative (capacity = chairs; booked sessions as fixed intervals). Nurses: per day
a cumulative over infusions, capacity = max_infusing_per_nurse x nurses on duty - booked infusions,
varying through fixed blocking intervals. Redundant per-day "energy" cuts put both capacities into the
LP relaxation, which gives the bound.

Phase 2 (each day on its own; tiers 3-4: preferred times, minutes after opening, and chair ids), the days
fixed by phase 1, so tiers 1-2 cannot change. Chairs holding a booked session are modelled one by one
(a literal per session and chair, NoOverlap with the booked sessions); the others stay pooled and get
ids greedily by start time (exact for identical chairs).

Exactness: with bookings pinned to chairs, phase 1's cumulative is a relaxation (a session might need two
chairs over its 100 minutes). If phase 2 cannot hold a day's sessions, it keeps the most it can; the
requests left out, with every request on that day, go through phase 1 again with that day's booked chairs
modelled one by one and everyone else where they are; then phase 2 again for the days touched.

The search starts from the cheapest of the caller's hint (the front desk's schedule) and a few greedy
constructions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from time import perf_counter

from ortools.sat.python import cp_model

from tenfour.core.scheduling.baseline import greedy_sessions
from tenfour.core.scheduling.feasibility import (
    COST_MINUTE_AFTER_OPENING,
    COST_NOT_PREFERRED,
    COST_UNPLACED,
    Frame,
    Occupancy,
    RequestOptions,
    all_request_options,
    explain_unplaced,
    first_day_cost,
    is_preferred,
    later_session_cost,
    schedule_cost,
)
from tenfour.core.scheduling.model import START_TARGET_DAYS, PlacedSession, Schedule, SchedulingInstance

MAX_WORKERS = 2  # the reference machine has 2 cores
PROBING_LEVEL = 0  # presolve probing costs up to 15 s on the benchmark model for no better answers
PHASE_ONE_SHARE = 0.85  # of the time left: phase 1 (days); the rest: phase 2 (each day's times and chairs)
DAY_LIMIT_S = 2.0  # wall clock, at most, per day in phase 2
DAY_DETERMINISTIC_TIME = 0.25  # deterministic-time budget per day in phase 2 (reproducible mode)
OPTIONAL_DAY_LIMIT_S = 10.0  # a day whose booked chairs phase 1 pooled wrongly: keep the most sessions
OPTIONAL_DAY_DETERMINISTIC_TIME = 2.0
MAX_REPAIRS = 5
REPAIR_SHARE = 0.25  # a repair round of phase 1 gets this share of the previous deterministic budget


@dataclass(frozen=True)
class SolverOptions:
    """CP-SAT settings. ``time_limit_s``: wall-clock cap, model building included. ``deterministic_time``:
    CP-SAT's deterministic-time budget for phase 1 (about seconds of one core); with it the search is
    interleaved and reproducible (same input and seed -> same answer) as long as the wall-clock cap is not
    reached first; None = wall clock only (parallel, not reproducible). Workers: at most 2."""

    time_limit_s: float = 50.0
    deterministic_time: float | None = None
    num_workers: int = 2
    random_seed: int = 0
    log_search: bool = False


@dataclass
class _Choice:
    """One (request, session, day) candidate and its variables."""

    option: RequestOptions
    k: int
    day: int
    x: cp_model.IntVar
    start: cp_model.IntVar
    tmin: int
    pool: cp_model.IntVar | None  # presence in the day's chair cumulative (x itself on pooled days)
    on_chair: dict[str, cp_model.IntVar]  # explicit days: a literal per chair holding a booked session


class _Model:
    def __init__(self, frame: Frame, options: list[RequestOptions], explicit_days: frozenset[int]) -> None:
        self.frame = frame
        self.m = cp_model.CpModel()
        self.unplaced: dict[str, cp_model.IntVar] = {}  # request id -> its "unplaced" literal
        self.choices: dict[tuple[str, int, int], _Choice] = {}
        self.first_tier: list = []  # tiers 1-2: placing requests, days to the first session
        self.special = [sorted({chair for chair, _, _ in frame.fixed_by_day[d]}) if d in explicit_days else []
                        for d in range(frame.days)]
        self.pool = [[c for c in frame.chair_ids if c not in self.special[d]] for d in range(frame.days)]
        for option in options:
            self._add_request(option)
        self._add_patient_days()
        self._add_chairs()
        self._add_nurses()
        self._add_day_energy()

    def _add_request(self, option: RequestOptions) -> None:
        m, frame, rid = self.m, self.frame, option.request.request_id
        # 'unplaced' carries the positive cost and closes an exactly-one with the first session's days,
        # so CP-SAT's objective shifting sees every request's cheapest choice.
        unplaced = m.new_bool_var(f"unplaced[{rid}]")
        self.unplaced[rid] = unplaced
        if not option.placeable:
            m.add(unplaced == 1)
            return
        self.first_tier.append(COST_UNPLACED * option.weight * unplaced)
        for k, days in enumerate(option.session_days):
            literals = []
            for day in days:
                choice = self._add_choice(option, k, day)
                literals.append(choice.x)
                if k == 0:
                    self.first_tier.append(first_day_cost(option, day, frame.rules) * choice.x)
                else:
                    self.first_tier.append(later_session_cost(option, day) * choice.x)
            if k == 0:
                m.add_exactly_one([unplaced, *literals])
            else:
                m.add(sum(literals) + unplaced == 1)
        if option.count > 1:
            self._add_series_rules(option)

    def _add_choice(self, option: RequestOptions, k: int, day: int) -> _Choice:
        m = self.m
        name = f"{option.request.request_id}/{k}/{day}"
        starts = option.starts[day]
        x = m.new_bool_var(f"x[{name}]")
        start = m.new_int_var_from_domain(cp_model.Domain.from_values(starts), f"start[{name}]")
        tmin = starts[0]
        pool, on_chair = self._chair_literals(name, x, start, starts, day)
        choice = _Choice(option, k, day, x, start, tmin, pool, on_chair)
        self.choices[(option.request.request_id, k, day)] = choice
        return choice

    def _chair_literals(self, name: str, x, start, starts: list[int], day: int):
        """Pooled day: x itself. Explicit day: a pool literal and a literal per booked chair with room."""
        m, frame = self.m, self.frame
        fitting = {}
        for chair in self.special[day]:
            booked = [(a, b) for c, a, b in frame.fixed_by_day[day] if c == chair]
            free = [t for t in starts if all(t + frame.chair_min <= a or t >= b for a, b in booked)]
            if free:
                fitting[chair] = free
        if not fitting:
            if not self.pool[day]:
                m.add(x == 0)
                return None, {}
            return x, {}
        pool = m.new_bool_var(f"pool[{name}]") if self.pool[day] else None
        on_chair = {chair: m.new_bool_var(f"chair[{name}/{chair}]") for chair in fitting}
        m.add(sum(on_chair.values()) + (pool if pool is not None else 0) == x)
        for chair, free in fitting.items():
            if len(free) < len(starts):
                m.add_linear_expression_in_domain(start, cp_model.Domain.from_values(free)).only_enforce_if(
                    on_chair[chair])
        return pool, on_chair

    def _add_series_rules(self, option: RequestOptions) -> None:
        m, rules, rid = self.m, self.frame.rules, option.request.request_id

        def x(k: int, day: int) -> cp_model.IntVar:
            return self.choices[(rid, k, day)].x

        days = option.session_days
        n, per_week = option.count, rules.max_sessions_per_week

        def not_before(later: int, earlier: int, gap: int) -> None:
            # session 'later' on or before d needs session 'earlier' on or before d - gap
            for d in days[later]:
                lhs = [x(later, e) for e in days[later] if e <= d]
                rhs = [x(earlier, e) for e in days[earlier] if e <= d - gap]
                m.add(sum(lhs) <= sum(rhs))

        for k in range(n - 1):
            not_before(k + 1, k, rules.min_date_gap_days)
        for k in range(n - per_week):
            not_before(k + per_week, k, 7)
        window = rules.series_window_days - 1
        for d in days[n - 1]:  # last session on or after d needs the first on or after d - window
            lhs = [x(n - 1, e) for e in days[n - 1] if e >= d]
            rhs = [x(0, e) for e in days[0] if e >= d - window]
            m.add(sum(lhs) <= sum(rhs))

    def _add_patient_days(self) -> None:
        by_patient_day: dict[tuple[str, int], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
        for (rid, _, day), choice in self.choices.items():
            by_patient_day[(choice.option.request.patient_id, day)].append((rid, choice.x))
        for entries in by_patient_day.values():
            if len({rid for rid, _ in entries}) > 1:
                self.m.add_at_most_one(lit for _, lit in entries)

    def _add_chairs(self) -> None:
        m, frame = self.m, self.frame
        pool_by_day: dict[int, list] = defaultdict(list)
        chair_by_day: dict[tuple[int, str], list] = defaultdict(list)
        for (rid, k, day), c in self.choices.items():
            if c.pool is not None:
                pool_by_day[day].append(m.new_optional_fixed_size_interval_var(
                    c.start, frame.chair_min, c.pool, f"chair[{rid}/{k}/{day}]"))
            for chair, lit in c.on_chair.items():
                chair_by_day[(day, chair)].append(m.new_optional_fixed_size_interval_var(
                    c.start, frame.chair_min, lit, f"chair[{rid}/{k}/{day}/{chair}]"))
        for day, intervals in pool_by_day.items():
            booked = [m.new_fixed_size_interval_var(a, b - a, f"booked[{day}/{chair}/{a}]")
                      for chair, a, b in frame.fixed_by_day[day] if chair in self.pool[day]]
            if len(intervals) + len(booked) > len(self.pool[day]):
                m.add_cumulative(intervals + booked, [1] * (len(intervals) + len(booked)), len(self.pool[day]))
        for (day, chair), intervals in chair_by_day.items():
            booked = [m.new_fixed_size_interval_var(a, b - a, f"booked[{day}/{chair}/{a}]")
                      for c, a, b in frame.fixed_by_day[day] if c == chair]
            m.add_no_overlap(intervals + booked)

    def _add_nurses(self) -> None:
        m, frame = self.m, self.frame
        by_day: dict[int, list] = defaultdict(list)
        for (rid, k, day), c in self.choices.items():
            by_day[day].append(m.new_optional_fixed_size_interval_var(
                c.start + frame.rules.prep_min, frame.rules.infusion_min, c.x, f"infusion[{rid}/{k}/{day}]"))
        for day, intervals in by_day.items():
            segments = frame.nurse_segments[day]
            capacity = max(s.capacity for s in segments)
            demands = [1] * len(intervals)
            for s in segments:
                if s.capacity < capacity:
                    intervals.append(m.new_fixed_size_interval_var(s.start, s.end - s.start, f"nurses[{s.start}]"))
                    demands.append(capacity - s.capacity)
            m.add_cumulative(intervals, demands, capacity)

    def _add_day_energy(self) -> None:
        """Redundant linear cuts: per day, chair minutes and infusion minutes used <= available. They link
        the requests in the LP relaxation (cumulatives are not in it), which gives CP-SAT a useful bound."""
        frame, rules = self.frame, self.frame.rules
        by_day: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for (_, _, day), c in self.choices.items():
            by_day[day].append(c.x)
        for day, literals in by_day.items():
            open_min = sum(b - a for a, b in frame.blocks[day])
            fixed_min = sum(b - a for _, a, b in frame.fixed_by_day[day])
            chair_room = (len(frame.chair_ids) * open_min - fixed_min) // frame.chair_min
            nurse_room = sum((s.end - s.start) * s.capacity for s in frame.nurse_segments[day]) // rules.infusion_min
            room = min(chair_room, nurse_room)
            if len(literals) > room:
                self.m.add(sum(literals) <= room)

    def add_hint(self, chosen: dict[tuple[str, int, int], tuple[int, str | None]]) -> None:
        """Hint from a schedule obeying the same rules: (request, session, day) -> (start, chair). A chair
        of None leaves that session's chair literals to the solver (a partial hint)."""
        placed_ids = {rid for rid, _, _ in chosen}
        for rid, unplaced in self.unplaced.items():
            self.m.add_hint(unplaced, rid not in placed_ids)
        for key, c in self.choices.items():
            start, chair = chosen.get(key, (c.tmin, ""))
            on = key in chosen
            self.m.add_hint(c.x, on)
            self.m.add_hint(c.start, start)
            if chair is None:
                continue
            for name, lit in c.on_chair.items():
                self.m.add_hint(lit, on and chair == name)
            if c.pool is not None and c.pool is not c.x:
                self.m.add_hint(c.pool, on and chair not in c.on_chair)

    def solution(self, solver: cp_model.CpSolver) -> list[tuple[_Choice, int, str | None]]:
        """Chosen (choice, start minute, chair on an explicit day or None)."""
        out = []
        for c in self.choices.values():
            if solver.boolean_value(c.x):
                chair = next((name for name, lit in c.on_chair.items() if solver.boolean_value(lit)), None)
                out.append((c, solver.value(c.start), chair))
        return out


# --- Phase 2: each day on its own ---------------------------------------------------------------------


@dataclass(frozen=True)
class _DaySession:
    option: RequestOptions
    k: int
    start: int  # from phase 1 (a hint)
    chair: str | None  # from phase 1 on a day whose booked chairs it modelled one by one


def _solve_day(frame: Frame, day: int, items: list[_DaySession], options: SolverOptions, seconds: float,
               optional: bool = False) -> tuple[list[PlacedSession], list[_DaySession]] | None:
    """Times and chairs for the sessions phase 1 put on ``day`` (their days stay), minimising tiers 3-4
    exactly: chairs holding a booked session get a literal per session and a NoOverlap with the booked
    ones; the other chairs are a cumulative, given ids greedily after solving (exact for identical
    chairs). Returns (sessions, left out). None if no chair assignment exists (phase 1's cumulative is a
    relaxation on days with booked sessions); with ``optional``, it leaves out the fewest (weighted)
    sessions instead."""
    m = cp_model.CpModel()
    booked_by_chair: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for chair, a, b in frame.fixed_by_day[day]:
        booked_by_chair[chair].append((a, b))
    pool_chairs = [c for c in frame.chair_ids if c not in booked_by_chair]
    starts, present, on_chair, cost = [], [], [], []
    pool_intervals, infusions = [], []
    per_chair: dict[str, list] = defaultdict(list)
    for i, item in enumerate(items):
        domain = item.option.starts[day]
        start = m.new_int_var_from_domain(cp_model.Domain.from_values(domain), f"start[{i}]")
        m.add_hint(start, item.start)
        starts.append(start)
        here = m.new_bool_var(f"present[{i}]") if optional else m.new_constant(1)
        present.append(here)
        request = item.option.request
        cost.append(COST_MINUTE_AFTER_OPENING * (start - frame.day_opening(day)))
        if optional:
            cost.append(COST_UNPLACED * item.option.weight * (1 - here))
        if request.preferred_times:
            good = [t for t in domain if is_preferred(frame, request, t)]
            if len(good) < len(domain):
                preferred = m.new_bool_var(f"preferred[{i}]")
                if good:
                    m.add_linear_expression_in_domain(start, cp_model.Domain.from_values(good)).only_enforce_if(
                        preferred)
                else:
                    m.add(preferred == 0)
                cost.append(COST_NOT_PREFERRED * (1 - preferred))
        parts = {}
        for chair, booked in booked_by_chair.items():
            free = [t for t in domain if all(t + frame.chair_min <= a or t >= b for a, b in booked)]
            if not free:
                continue
            lit = m.new_bool_var(f"chair[{i}/{chair}]")
            parts[chair] = lit
            if len(free) < len(domain):
                m.add_linear_expression_in_domain(start, cp_model.Domain.from_values(free)).only_enforce_if(lit)
            per_chair[chair].append(m.new_optional_fixed_size_interval_var(start, frame.chair_min, lit, ""))
        pool = m.new_bool_var(f"pool[{i}]") if pool_chairs else None
        if pool is not None:
            pool_intervals.append(m.new_optional_fixed_size_interval_var(start, frame.chair_min, pool, ""))
        choices = [*parts.values(), *([pool] if pool is not None else [])]
        if not choices and not optional:
            return None
        m.add(sum(choices) == here)
        on_chair.append(parts)
        infusions.append(m.new_optional_fixed_size_interval_var(
            start + frame.rules.prep_min, frame.rules.infusion_min, here, ""))
    for chair, intervals in per_chair.items():
        m.add_no_overlap(intervals + [m.new_fixed_size_interval_var(a, b - a, "") for a, b in booked_by_chair[chair]])
    if len(pool_intervals) > len(pool_chairs):
        m.add_cumulative(pool_intervals, [1] * len(pool_intervals), len(pool_chairs))
    segments = frame.nurse_segments[day]
    capacity = max(s.capacity for s in segments)
    demands = [1] * len(infusions)
    for seg in segments:
        if seg.capacity < capacity:
            infusions.append(m.new_fixed_size_interval_var(seg.start, seg.end - seg.start, ""))
            demands.append(capacity - seg.capacity)
    m.add_cumulative(infusions, demands, capacity)
    m.minimize(sum(cost))
    budget = OPTIONAL_DAY_DETERMINISTIC_TIME if optional else DAY_DETERMINISTIC_TIME
    solver = _solver(options, seconds, budget if options.deterministic_time else None, workers=1)
    solver.parameters.log_search_progress = False
    status = solver.solve(m)
    if status == cp_model.UNKNOWN and not optional:  # out of time: phase 1's times, if chairs can be found
        greedy = _greedy_day(frame, day, items)
        return None if greedy is None else (greedy, [])
    if status not in _FOUND:
        return None
    occupancy = Occupancy(frame)
    placed: list[tuple[int, int, str | None]] = []
    left_out = []
    for i, item in enumerate(items):
        if not solver.boolean_value(present[i]):
            left_out.append(item)
            continue
        chair = next((c for c, lit in on_chair[i].items() if solver.boolean_value(lit)), None)
        placed.append((solver.value(starts[i]), i, chair))
    sessions = []
    # booked chairs first, then the pooled sessions by start time, best fit (never fails: identical chairs)
    for start, i, chair in sorted(placed, key=lambda e: (e[2] is None, e[0], e[1])):
        item = items[i]
        if chair is None:
            chair = occupancy.pick_chair(day, start, start + frame.chair_min, pool_chairs)
            assert chair is not None
        occupancy.book(item.option.request.patient_id, day, start, chair)
        sessions.append(occupancy.placed(item.option.request, item.k, day, start, chair))
    return sessions, left_out


@dataclass
class _DayResults:
    sessions: dict[int, list[PlacedSession]]  # by day
    left_out: set[str]  # requests with a session that no chair could take on its day
    failed_days: set[int]  # the days where that happened


def _days(chosen: dict[tuple[str, int, int], tuple[int, str | None]]) -> set[int]:
    return {day for _, _, day in chosen}


def _phase_two(frame: Frame, chosen, request_options: list[RequestOptions], days: set[int],
               done: dict[int, list[PlacedSession]], options: SolverOptions, left) -> _DayResults:
    """Phase 2 for ``days`` (results of the other days in ``done`` are kept)."""
    by_option = {o.request.request_id: o for o in request_options}
    by_day: dict[int, list[_DaySession]] = defaultdict(list)
    for (rid, k, day), (start, chair) in chosen.items():
        by_day[day].append(_DaySession(by_option[rid], k, start, chair))
    results = {day: sessions for day, sessions in done.items() if day not in days}
    left_out: list[_DaySession] = []
    failed_days = set()
    todo = sorted(day for day in days if by_day.get(day))
    for n, day in enumerate(todo):
        seconds = min(max(0.0, left() - 0.1) / (len(todo) - n), DAY_LIMIT_S)
        answer = _solve_day(frame, day, by_day[day], options, seconds)
        if answer is None:  # phase 1 pooled this day's booked chairs wrongly: keep the most it can
            answer = _solve_day(frame, day, by_day[day], options, max(seconds, min(left(), OPTIONAL_DAY_LIMIT_S)),
                                optional=True) or ([], by_day[day])
            failed_days.add(day)
        results[day] = answer[0]
        left_out += answer[1]
    return _DayResults(results, {item.option.request.request_id for item in left_out}, failed_days)


def _repair(frame: Frame, request_options: list[RequestOptions], chosen, freed: set[str], explicit: frozenset[int],
            options: SolverOptions, left) -> dict[tuple[str, int, int], tuple[int, str | None]]:
    """Phase 1 again for the ``freed`` requests only, the booked chairs of ``explicit`` days modelled one by
    one, every other request kept where it is. Freed requests it cannot re-place stay unplaced."""
    model = _Model(frame, request_options, explicit)
    model.add_hint(chosen)
    model.m.minimize(sum(model.first_tier))
    for rid, unplaced in model.unplaced.items():
        if rid not in freed:
            model.m.add(unplaced == int(not any(key[0] == rid for key in chosen)))
    for key, c in model.choices.items():
        if key[0] not in freed:
            model.m.add(c.x == int(key in chosen))  # the others keep their days (their times may shift)
    budget = None if options.deterministic_time is None else options.deterministic_time * REPAIR_SHARE
    solver = _solver(options, max(0.1, PHASE_ONE_SHARE * left()), budget)
    if solver.solve(model.m) not in _FOUND:
        return {}
    return {(c.option.request.request_id, c.k, c.day): (start, chair)
            for c, start, chair in model.solution(solver) if c.option.request.request_id in freed}


def _greedy_day(frame: Frame, day: int, items: list[_DaySession]) -> list[PlacedSession] | None:
    """Phase 1's times kept: its chairs where it chose them, best fit for the others."""
    occupancy = Occupancy(frame)
    sessions = []
    for item in sorted(items, key=lambda e: (e.chair is None, e.start, e.option.request.request_id)):
        chair = item.chair or occupancy.pick_chair(day, item.start, item.start + frame.chair_min)
        if chair is None:
            return None
        occupancy.book(item.option.request.patient_id, day, item.start, chair)
        sessions.append(occupancy.placed(item.option.request, item.k, day, item.start, chair))
    return sessions


# --- Hints -------------------------------------------------------------------------------------------


def _series_first(o: RequestOptions) -> tuple:
    if o.is_series:
        return (0, o.earliest_day, len(o.first_days), -o.weight, o.request.request_id)
    return (1, o.window_end, -o.weight, o.request.request_id)


def _least_flexible(o: RequestOptions) -> tuple:
    return (len(o.first_days) if o.is_series else len(o.starts), o.request.request_id)


def _earliest_deadline(o: RequestOptions) -> tuple:
    # a series' deadline is its start target (7 days); a booster's or single's the end of its window
    deadline = (o.earliest_day + START_TARGET_DAYS) * 24 * 60 if o.is_series else o.window_end
    return (deadline, len(o.first_days) if o.is_series else len(o.starts), o.request.request_id)


HINT_ORDERS = (_series_first, _least_flexible, _earliest_deadline)


def _best_start(frame: Frame, options: list[RequestOptions], hint: Schedule | None) -> list[PlacedSession]:
    """The cheapest of the caller's hint and greedy constructions in a few request orders."""
    candidates = [greedy_sessions(frame, options, order)[0] for order in HINT_ORDERS]
    if hint is not None:
        candidates.append(list(hint.sessions))
    return min(candidates, key=lambda sessions: schedule_cost(frame, options, sessions))


# --- Solve -------------------------------------------------------------------------------------------


def _solver(options: SolverOptions, seconds: float, deterministic_time: float | None,
            workers: int | None = None) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, seconds)
    params.num_workers = max(1, min(workers or options.num_workers, MAX_WORKERS))
    params.random_seed = options.random_seed
    params.log_search_progress = options.log_search
    params.cp_model_probing_level = PROBING_LEVEL
    if deterministic_time is not None:
        # reproducible: the same answer for the same input and budget unless the wall clock runs out first
        params.max_deterministic_time = deterministic_time
        params.interleave_search = True
    return solver


def _sessions_key(frame: Frame, sessions: list[PlacedSession]) -> dict[tuple[str, int, int], tuple[int, str | None]]:
    out: dict[tuple[str, int, int], tuple[int, str | None]] = {}
    for s in sessions:
        start = frame.minutes(s.start)
        out[(s.request_id, s.session_index, frame.day_of(start))] = (start, s.chair_id)
    return out


_FOUND = (cp_model.OPTIMAL, cp_model.FEASIBLE)
_STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible",
           cp_model.MODEL_INVALID: "model_invalid", cp_model.UNKNOWN: "unknown"}


def schedule_cpsat(instance: SchedulingInstance, options: SolverOptions | None = None,
                   hint: Schedule | None = None) -> Schedule:
    """Optimise the instance with CP-SAT within ``options.time_limit_s`` (model building included).

    Lexicographic, in two phases: (1) one model for tiers 1-2 (place requests, start soonest: the day of
    every session), booked chairs pooled, with the LP-heavy 'max_lp' worker whose bound is the reported
    best bound; (2) each day on its own for tiers 3-4 (preferred times, minutes after opening) and chair
    ids, the days fixed by (1) (tiers 1-2 depend only on the days, so (2) cannot worsen them). Requests a
    day cannot hold are placed again by (1) with that day's booked chairs modelled one by one, everyone
    else staying where they are. ``hint`` (e.g. the baseline's schedule) competes with a few greedy
    constructions to seed (1); if CP-SAT finds nothing in time, the best of those is returned with status
    'unknown'. Reports status (of (1)), objective (the schedule's exact cost, all tiers), best bound, gap
    and an explanation for every request left unplaced."""
    options = options or SolverOptions()
    began = perf_counter()

    def left() -> float:
        return options.time_limit_s - (perf_counter() - began)

    frame = Frame(instance)
    request_options = all_request_options(frame)
    sessions = _best_start(frame, request_options, hint)
    status, bound = cp_model.UNKNOWN, None
    model = _Model(frame, request_options, frozenset())
    model.add_hint(_sessions_key(frame, sessions))
    model.m.minimize(sum(model.first_tier))
    solver = _solver(options, PHASE_ONE_SHARE * left(), options.deterministic_time)
    solver.parameters.subsolvers.append("max_lp")
    first_status = solver.solve(model.m)
    if first_status in _FOUND:
        status, bound = first_status, solver.best_objective_bound
        chosen = {(c.option.request.request_id, c.k, c.day): (start, chair)
                  for c, start, chair in model.solution(solver)}
        by_day = _phase_two(frame, chosen, request_options, _days(chosen), {}, options, left)
        explicit: set[int] = set()
        rounds = 0
        while by_day.left_out and rounds < MAX_REPAIRS and left() > 0.5:
            # phase 1 pooled the booked chairs: re-place the requests left out, others staying where they are
            rounds += 1
            status = cp_model.FEASIBLE
            # free the requests left out and every request with a session on a failed day
            freed = by_day.left_out | {rid for rid, _, day in chosen if day in by_day.failed_days}
            explicit |= by_day.failed_days
            # phase 2's times and chairs of everyone else: a complete, valid hint
            current = _sessions_key(frame, [s for day_sessions in by_day.sessions.values() for s in day_sessions])
            kept = {key: value for key, value in current.items() if key[0] not in freed}
            repaired = _repair(frame, request_options, kept, freed, frozenset(explicit), options, left)
            touched = _days({key: v for key, v in chosen.items() if key[0] in freed}) | _days(repaired)
            chosen = kept | repaired
            done = {day: [s for s in day_sessions if s.request_id not in freed]
                    for day, day_sessions in by_day.sessions.items()}
            by_day = _phase_two(frame, chosen, request_options, touched, done, options, left)
        dropped = by_day.left_out  # out of repairs: requests with a session that found no chair stay out
        sessions = [s for day_sessions in by_day.sessions.values() for s in day_sessions if s.request_id not in dropped]
    occupancy = Occupancy(frame)
    for s in sessions:
        start = frame.minutes(s.start)
        occupancy.book(s.patient_id, frame.day_of(start), start, s.chair_id)
    placed_ids = {s.request_id for s in sessions}
    unplaced = tuple(explain_unplaced(frame, o, occupancy) for o in request_options
                     if o.request.request_id not in placed_ids)
    objective = schedule_cost(frame, request_options, sessions)
    gap = None
    if bound is not None:
        gap = round(max(0.0, (objective - bound) / max(1.0, abs(objective))), 6)
    sessions = sorted(sessions, key=lambda s: (s.start, s.chair_id))
    return Schedule("cpsat", _STATUS.get(status, "unknown"), tuple(sessions), unplaced, objective=objective,
                    best_bound=bound, gap=gap, solve_seconds=round(perf_counter() - began, 3))
