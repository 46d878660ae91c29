"""Duty rosters: a first responder's shift pattern -> on-duty intervals, and the no-duty-after-infusion rule.

Patterns (DESIGN.md, "Shift patterns"): 24/48, 48/96, Kelly, Pitman, DuPont, 4-on/4-off and custom.
Product choices, documented in docs/rosters.md and labelled so here:

- platoon offsets (which day each platoon/team starts) are TenFour's convention; agencies differ;
- a shift starts at its wall-clock time on its day and lasts its nominal length on the WALL CLOCK, so a
  24 h shift is 23 or 25 real hours across a daylight-saving change;
- a nonexistent or ambiguous local time is read with zoneinfo ``fold=0`` (the offset in force before
  the change);
- leave and trade_out remove rostered duty only; overtime and trade_in add duty even inside a leave.

The no-duty window (clinic policy ``duty.no_duty_window_h``, default 24 h; ketamine label: no driving
or hazardous work for 24 h) is measured in real elapsed hours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem

MAX_HORIZON_DAYS = 400  # longest expansion asked in one call (operational limit, not clinical)
ANCHOR_MAX_YEARS_BEFORE = 10  # an anchor date older than this is almost surely a typo
ANCHOR_MAX_YEARS_AFTER = 2
MAX_CUSTOM_CYCLE_DAYS = 366
_SERVER_DEPENDENT_ZONES = frozenset({"localtime", "posixrules"})


class DutySource(StrEnum):
    ROSTER = "roster"
    OVERTIME = "overtime"
    TRADE_IN = "trade_in"


class ChangeKind(StrEnum):
    OVERTIME = "overtime"  # adds duty
    TRADE_IN = "trade_in"  # adds duty: a colleague's shift picked up
    TRADE_OUT = "trade_out"  # removes rostered duty: own shift given to a colleague
    LEAVE = "leave"  # removes rostered duty


ADDING_KINDS = frozenset({ChangeKind.OVERTIME, ChangeKind.TRADE_IN})
REMOVING_KINDS = frozenset({ChangeKind.TRADE_OUT, ChangeKind.LEAVE})


class ConflictRule(StrEnum):
    ON_DUTY_DURING_SESSION = "on_duty_during_session"
    SHIFT_STARTS_IN_NO_DUTY_WINDOW = "shift_starts_in_no_duty_window"


@dataclass(frozen=True)
class RosterPolicy:
    """Clinic policy used by the roster rules."""

    no_duty_window_h: float = policy.default("duty.no_duty_window_h")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> RosterPolicy:
        return cls(no_duty_window_h=values["duty.no_duty_window_h"])


@dataclass(frozen=True)
class ShiftBlock:
    """One shift of a cycle: starts on cycle ``day`` (0-based) at the roster's shift start plus
    ``start_offset_h`` on the wall clock, and lasts ``length_h`` wall-clock hours."""

    day: int
    length_h: float
    start_offset_h: float = 0.0

    @property
    def start_h(self) -> float:
        """Nominal start in hours from the cycle's first shift start."""
        return self.day * 24 + self.start_offset_h

    @property
    def end_h(self) -> float:
        return self.start_h + self.length_h


@dataclass(frozen=True)
class PlatoonSpec:
    """A platoon/team: its shifts are the pattern's blocks ``offset_days`` later, ``start_offset_h`` later
    in the day (12 h for night teams)."""

    name: str
    offset_days: int
    start_offset_h: float = 0.0


@dataclass(frozen=True)
class PatternSpec:
    """A shift pattern as platoon A works it; ``cycle_days`` and ``blocks`` are None/empty for custom."""

    key: str
    label: str
    cycle_days: int | None
    blocks: tuple[ShiftBlock, ...]
    platoons: tuple[PlatoonSpec, ...]

    @property
    def platoon_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.platoons)

    def platoon(self, name: str) -> PlatoonSpec | None:
        return next((p for p in self.platoons if p.name == name), None)

    @property
    def duty_fraction(self) -> float | None:
        """Share of the cycle on duty (nominal hours), None for custom."""
        if not self.cycle_days:
            return None
        return sum(b.length_h for b in self.blocks) / (self.cycle_days * 24)


def _runs(*runs: tuple[str, int], length_h: float) -> tuple[ShiftBlock, ...]:
    """Blocks from a run-length description as DESIGN.md writes it: ("on"|"D"|"N"|"off", days).
    "N" is a night shift, starting 12 h after the shift start."""
    blocks: list[ShiftBlock] = []
    day = 0
    for kind, days in runs:
        for _ in range(days):
            if kind != "off":
                blocks.append(ShiftBlock(day, length_h, 12.0 if kind == "N" else 0.0))
            day += 1
    return tuple(blocks)


def _platoons(*specs: tuple[str, int, float]) -> tuple[PlatoonSpec, ...]:
    return tuple(PlatoonSpec(name, days, hours) for name, days, hours in specs)


PATTERNS: dict[str, PatternSpec] = {
    spec.key: spec
    for spec in (
        PatternSpec("24/48", "24 on / 48 off", 3, (ShiftBlock(0, 24),),
                    _platoons(("A", 0, 0), ("B", 1, 0), ("C", 2, 0))),
        PatternSpec("48/96", "48 on / 96 off", 6, (ShiftBlock(0, 48),),
                    _platoons(("A", 0, 0), ("B", 2, 0), ("C", 4, 0))),
        PatternSpec("kelly", "Kelly (9-day cycle)", 9,
                    _runs(("on", 1), ("off", 1), ("on", 1), ("off", 1), ("on", 1), ("off", 4), length_h=24),
                    _platoons(("A", 0, 0), ("B", 3, 0), ("C", 6, 0))),
        PatternSpec("pitman", "Pitman (14-day, 12 h)", 14,
                    _runs(("on", 2), ("off", 2), ("on", 3), ("off", 2), ("on", 2), ("off", 3), length_h=12),
                    _platoons(("A", 0, 0), ("B", 7, 0), ("C", 0, 12), ("D", 7, 12))),
        PatternSpec("dupont", "DuPont (28-day, 12 h)", 28,
                    _runs(("N", 4), ("off", 3), ("D", 3), ("off", 1), ("N", 3), ("off", 3), ("D", 4),
                          ("off", 7), length_h=12),
                    _platoons(("A", 0, 0), ("B", 7, 0), ("C", 14, 0), ("D", 21, 0))),
        PatternSpec("4on4off", "4 on / 4 off (12 h)", 8, _runs(("on", 4), ("off", 4), length_h=12),
                    _platoons(("A", 0, 0), ("B", 4, 0), ("C", 0, 12), ("D", 4, 12))),
        PatternSpec("custom", "Custom", None, (), _platoons(("A", 0, 0))),
    )
}


@dataclass(frozen=True, kw_only=True)
class DutyChange:
    """A one-off change to a roster over [start, end) (aware datetimes): overtime and trade_in add duty,
    leave and trade_out remove rostered duty."""

    kind: ChangeKind | str
    start: datetime
    end: datetime
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Roster:
    """A person's duty roster. Platoon A's first shift starts at ``anchor_date`` + ``shift_start``
    (local wall time in ``timezone``, an IANA key); the cycle repeats forwards and backwards."""

    pattern: str
    anchor_date: date
    shift_start: time
    timezone: str
    platoon: str = "A"
    custom_cycle_days: int | None = None
    custom_blocks: tuple[ShiftBlock, ...] = ()
    changes: tuple[DutyChange, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "custom_blocks", tuple(self.custom_blocks))
        object.__setattr__(self, "changes", tuple(self.changes))


@dataclass(frozen=True)
class DutyInterval:
    """On duty over [start, end), UTC-aware; ``source`` says why (roster, overtime, trade_in)."""

    start: datetime
    end: datetime
    source: DutySource

    @property
    def duration_h(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class Conflict:
    """Why an infusion session does not fit the roster: the rule broken and the duty shift concerned."""

    rule: ConflictRule
    shift: DutyInterval
    message: str


# --- Validation -----------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def _zone(key: Any) -> ZoneInfo | None:
    if not isinstance(key, str) or key in _SERVER_DEPENDENT_ZONES:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def _block_problems(blocks: Sequence[Any], cycle_days: int | None) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    well_formed: list[tuple[int, ShiftBlock]] = []
    for i, block in enumerate(blocks):
        name = f"custom_blocks[{i}]"
        if not isinstance(block, ShiftBlock):
            problems.append(FieldProblem(name, "block_type",
                                         "must be a shift block (day, length_h, start_offset_h)"))
            continue
        ok = True
        if not (_is_number(block.length_h) and block.length_h > 0):
            problems.append(FieldProblem(f"{name}.length_h", "block_positive_length",
                                         "must be more than 0 hours"))
            ok = False
        if not (_is_whole(block.day) and block.day >= 0
                and (cycle_days is None or block.day < cycle_days)):
            upper = f" to {cycle_days - 1}" if cycle_days else " or later"
            problems.append(FieldProblem(f"{name}.day", "block_within_cycle",
                                         f"must be a cycle day from 0{upper}"))
            ok = False
        if not (_is_number(block.start_offset_h) and 0 <= block.start_offset_h < 24):
            problems.append(FieldProblem(f"{name}.start_offset_h", "block_within_cycle",
                                         "must be from 0 to under 24 hours after the shift start"))
            ok = False
        if ok and cycle_days and block.end_h > cycle_days * 24:
            problems.append(FieldProblem(name, "block_within_cycle",
                                         f"ends {block.end_h - cycle_days * 24:g} h after the end of the "
                                         f"{cycle_days}-day cycle"))
            ok = False
        if ok:
            well_formed.append((i, block))
    for n, (i, first) in enumerate(well_formed):
        for j, second in well_formed[n + 1:]:
            if first.start_h < second.end_h and second.start_h < first.end_h:
                problems.append(FieldProblem(f"custom_blocks[{j}]", "blocks_not_overlapping",
                                             f"overlaps custom_blocks[{i}]"))
    return problems


def _aware_problems(**values: Any) -> list[FieldProblem]:
    return [FieldProblem(name, "aware_datetime", "must be a date and time with a time zone")
            for name, value in values.items() if not _is_aware(value)]


def _horizon_problems(start: Any, end: Any) -> list[FieldProblem]:
    problems = _aware_problems(start=start, end=end)
    if not problems:
        if end <= start:
            problems.append(FieldProblem("end", "horizon_end_after_start", "must be after the start"))
        elif end - start > timedelta(days=MAX_HORIZON_DAYS):
            problems.append(FieldProblem("end", "horizon_max_days",
                                         f"the horizon must not exceed {MAX_HORIZON_DAYS} days "
                                         f"(asked for {(end - start) / timedelta(days=1):g})"))
    return problems


def roster_problems(roster: Roster, *, today: date | None = None) -> list[FieldProblem]:
    """Every problem of a roster (field + rule + message); the anchor-date range is checked if ``today``
    is given (at most 10 years before and 2 years after it)."""
    problems: list[FieldProblem] = []
    spec = PATTERNS.get(roster.pattern) if isinstance(roster.pattern, str) else None
    if spec is None:
        problems.append(FieldProblem("pattern", "known_pattern", f"unknown pattern {roster.pattern!r}; "
                                     f"known patterns: {', '.join(PATTERNS)}"))
    elif spec.platoon(roster.platoon) is None:
        problems.append(FieldProblem("platoon", "known_platoon",
                                     f"pattern {spec.key} has no platoon {roster.platoon!r}; "
                                     f"its platoons are {', '.join(spec.platoon_names)}"))
    if _zone(roster.timezone) is None:
        problems.append(FieldProblem("timezone", "known_timezone", f"{roster.timezone!r} is not a known IANA "
                                     "time zone (for example America/Chicago)"))
    if not isinstance(roster.anchor_date, date) or isinstance(roster.anchor_date, datetime):
        problems.append(FieldProblem("anchor_date", "date_type", "must be a calendar date"))
    elif today is not None:
        earliest = _add_years(today, -ANCHOR_MAX_YEARS_BEFORE)
        latest = _add_years(today, ANCHOR_MAX_YEARS_AFTER)
        if roster.anchor_date < earliest:
            problems.append(FieldProblem("anchor_date", "anchor_date_range",
                                         f"must not be more than {ANCHOR_MAX_YEARS_BEFORE} years "
                                         f"before today ({earliest.isoformat()} or later)"))
        elif roster.anchor_date > latest:
            problems.append(FieldProblem("anchor_date", "anchor_date_range",
                                         f"must not be more than {ANCHOR_MAX_YEARS_AFTER} years after today "
                                         f"({latest.isoformat()} or earlier)"))
    if not isinstance(roster.shift_start, time) or roster.shift_start.tzinfo is not None:
        problems.append(FieldProblem("shift_start", "wall_time", "must be a local wall-clock time without "
                                     "a time zone (the roster's time zone applies)"))
    if spec is not None and spec.cycle_days is None:
        cycle = roster.custom_cycle_days
        if not (_is_whole(cycle) and 1 <= cycle <= MAX_CUSTOM_CYCLE_DAYS):
            problems.append(FieldProblem("custom_cycle_days", "custom_cycle_range",
                                         f"must be a whole number of days from 1 to {MAX_CUSTOM_CYCLE_DAYS}"))
            cycle = None
        if not roster.custom_blocks:
            problems.append(FieldProblem("custom_blocks", "custom_blocks_required",
                                         "a custom roster needs at least one on-duty block"))
        problems.extend(_block_problems(roster.custom_blocks, cycle))
    elif spec is not None and (roster.custom_blocks or roster.custom_cycle_days is not None):
        problems.append(FieldProblem("custom_blocks", "custom_only",
                                     f"only a custom roster has its own blocks; {spec.key} has fixed ones"))
    for i, change in enumerate(roster.changes):
        name = f"changes[{i}]"
        if str(change.kind) not in {str(k) for k in ChangeKind}:
            problems.append(FieldProblem(f"{name}.kind", "change_kind",
                                         f"must be one of {', '.join(ChangeKind)}"))
        for part in ("start", "end"):
            if not _is_aware(getattr(change, part)):
                problems.append(FieldProblem(f"{name}.{part}", "aware_datetime",
                                             "must be a date and time with a time zone"))
        if _is_aware(change.start) and _is_aware(change.end) and not change.end > change.start:
            problems.append(FieldProblem(f"{name}.end", "change_end_after_start", "must be after the start"))
    return problems


def validate_roster(roster: Roster, *, today: date | None = None,
                    horizon_start: datetime | None = None, horizon_end: datetime | None = None) -> None:
    """Raise CoreError listing every problem of the roster (and of the horizon, when one is given)."""
    problems = roster_problems(roster, today=today)
    if horizon_start is not None or horizon_end is not None:
        problems += _horizon_problems(horizon_start, horizon_end)
    if problems:
        raise CoreError(problems)


def custom_blocks_from_on_off(on_off_h: Sequence[float]) -> tuple[int, tuple[ShiftBlock, ...]]:
    """(cycle_days, blocks) for a custom roster written as alternating on/off hours, starting with on,
    e.g. [24, 24, 24, 72] -> a 6-day cycle. The hours must add up to whole days."""
    problems: list[FieldProblem] = []
    for i, hours in enumerate(on_off_h):
        if not (_is_number(hours) and hours > 0):
            problems.append(FieldProblem(f"on_off_h[{i}]", "block_positive_length",
                                         "must be more than 0 hours"))
    total = sum(on_off_h) if not problems else 0
    if not problems and (not on_off_h or total % 24 != 0):
        problems.append(FieldProblem("on_off_h", "whole_days",
                                     f"must add up to whole days (got {total:g} h)"))
    if problems:
        raise CoreError(problems)
    blocks, at = [], 0.0
    for i, hours in enumerate(on_off_h):
        if i % 2 == 0:
            blocks.append(ShiftBlock(int(at // 24), hours, at % 24))
        at += hours
    return int(total // 24), tuple(blocks)


# --- Expansion ------------------------------------------------------------------------------------


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: a nonexistent time uses the offset before the change, an ambiguous time its first occurrence.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _cycle(roster: Roster) -> tuple[int, tuple[ShiftBlock, ...], PlatoonSpec]:
    spec = PATTERNS[roster.pattern]
    platoon = spec.platoon(roster.platoon)
    assert platoon is not None  # checked by roster_problems
    if spec.cycle_days is None:
        assert roster.custom_cycle_days is not None
        return roster.custom_cycle_days, roster.custom_blocks, platoon
    return spec.cycle_days, spec.blocks, platoon


def _roster_shifts(roster: Roster, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """Rostered shifts (UTC) starting from one cycle (+2 days) before ``lo`` to one cycle after ``hi``,
    so every shift overlapping [lo, hi) is whole."""
    cycle_days, blocks, platoon = _cycle(roster)
    zone = ZoneInfo(roster.timezone)
    by_day: dict[int, list[ShiftBlock]] = {}
    for block in blocks:
        by_day.setdefault(block.day, []).append(block)
    margin = timedelta(days=cycle_days + 2)
    first = lo.astimezone(zone).date() - margin
    last = hi.astimezone(zone).date() + margin
    shifts = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        position = ((day - roster.anchor_date).days - platoon.offset_days) % cycle_days
        for block in by_day.get(position, ()):
            wall = datetime.combine(day, roster.shift_start.replace(fold=0)) + timedelta(
                hours=block.start_offset_h + platoon.start_offset_h)
            start, end = _to_utc(wall, zone), _to_utc(wall + timedelta(hours=block.length_h), zone)
            if end > start:  # a shift inside a spring-forward gap can map to nothing
                shifts.append((start, end))
    return shifts


_REMOVAL = "removal"


def _timeline(roster: Roster, lo: datetime, hi: datetime) -> list[DutyInterval]:
    """Non-overlapping on-duty runs around [lo, hi), sorted, same-source touching runs merged.

    Removals cut rostered duty only; where sources overlap, roster > trade_in > overtime."""
    events: list[tuple[datetime, int, str]] = []
    for start, end in _roster_shifts(roster, lo, hi):
        events += [(start, 1, DutySource.ROSTER), (end, -1, DutySource.ROSTER)]
    for change in roster.changes:
        kind = ChangeKind(change.kind)
        channel = _REMOVAL if kind in REMOVING_KINDS else DutySource(str(kind))
        events += [(change.start.astimezone(UTC), 1, channel), (change.end.astimezone(UTC), -1, channel)]
    events.sort(key=lambda event: event[0])
    counts = dict.fromkeys((DutySource.ROSTER, DutySource.TRADE_IN, DutySource.OVERTIME, _REMOVAL), 0)
    runs: list[DutyInterval] = []
    i = 0
    while i < len(events):
        at = events[i][0]
        while i < len(events) and events[i][0] == at:
            counts[events[i][2]] += events[i][1]
            i += 1
        if i == len(events):
            break
        until = events[i][0]
        if counts[DutySource.ROSTER] and not counts[_REMOVAL]:
            source: DutySource | None = DutySource.ROSTER
        elif counts[DutySource.TRADE_IN]:
            source = DutySource.TRADE_IN
        elif counts[DutySource.OVERTIME]:
            source = DutySource.OVERTIME
        else:
            source = None
        if source is None:
            continue
        if runs and runs[-1].source == source and runs[-1].end == at:
            runs[-1] = DutyInterval(runs[-1].start, until, source)
        else:
            runs.append(DutyInterval(at, until, source))
    return runs


def _duty_starts(runs: Iterable[DutyInterval]) -> list[DutyInterval]:
    """The runs that begin a period of duty (not touching the run before, whatever its source)."""
    starts, previous_end = [], None
    for run in runs:
        if run.start != previous_end:
            starts.append(run)
        previous_end = run.end
    return starts


def _checked(problems: list[FieldProblem]) -> None:
    if problems:
        raise CoreError(problems)


def expand(roster: Roster, start: datetime, end: datetime) -> list[DutyInterval]:
    """On-duty intervals (UTC) overlapping [start, end), sorted and non-overlapping, at most 400 days.

    Intervals are whole, not clipped to the window (a chain of touching shifts is followed at most one
    cycle beyond it). Touching intervals of the same source are merged; different sources stay apart.
    Works before the anchor date: the cycle extends backwards."""
    _checked(roster_problems(roster) + _horizon_problems(start, end))
    return [run for run in _timeline(roster, start, end) if run.end > start and run.start < end]


def is_on_duty(roster: Roster, at: datetime) -> bool:
    """True if the person is on duty at the instant ``at`` (aware)."""
    _checked(roster_problems(roster) + _aware_problems(at=at))
    return any(run.start <= at < run.end for run in _timeline(roster, at, at))


def next_shift_start(roster: Roster, after: datetime) -> datetime | None:
    """UTC start of the first period of duty beginning at or after ``after``; None if none begins within
    400 days (long leave, or a custom roster on duty round the clock). A period of duty begins where the
    person goes from off to on duty, whatever the source (a leave cutting a shift's start moves it)."""
    _checked(roster_problems(roster) + _aware_problems(after=after))
    cycle_days = _cycle(roster)[0]
    for horizon_days in (cycle_days + 2, MAX_HORIZON_DAYS):
        hi = after + timedelta(days=horizon_days)
        for run in _duty_starts(_timeline(roster, after, hi)):
            if after <= run.start < hi:
                return run.start
    return None


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def _hours_minutes(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"


_SHIFT_WORDS = {DutySource.ROSTER: "a rostered shift", DutySource.OVERTIME: "an overtime shift",
                DutySource.TRADE_IN: "a traded-in shift"}


def duty_conflict(roster: Roster, session_start: datetime, session_end: datetime,
                  no_duty_window_h: float) -> Conflict | None:
    """Why an infusion session [session_start, session_end) does not fit the roster, or None.

    Rules: the person must not be on duty at any time during the session, and no period of duty may
    start within ``no_duty_window_h`` real hours after the session ends (clinic policy
    ``duty.no_duty_window_h``, default 24 h: ketamine label, no driving or hazardous work for 24 h). A shift
    starting exactly ``no_duty_window_h`` after the end is allowed. Pass the infusion end, or the session
    end (later, so stricter)."""
    problems = roster_problems(roster) + _aware_problems(session_start=session_start, session_end=session_end)
    if _is_aware(session_start) and _is_aware(session_end) and not session_end > session_start:
        problems.append(FieldProblem("session_end", "session_end_after_start",
                                     "must be after the session start"))
    if not (_is_number(no_duty_window_h) and no_duty_window_h >= 0):
        problems.append(FieldProblem("no_duty_window_h", "non_negative_hours", "must be 0 hours or more"))
    _checked(problems)
    window_end = session_end + timedelta(hours=no_duty_window_h)
    runs = _timeline(roster, session_start, window_end)
    zone = ZoneInfo(roster.timezone)
    for run in runs:
        if run.start < session_end and run.end > session_start:
            return Conflict(ConflictRule.ON_DUTY_DURING_SESSION, run,
                            f"On duty during the session ({_local(session_start, zone)} to "
                            f"{_local(session_end, zone)}): {_SHIFT_WORDS[run.source]} "
                            f"{_local(run.start, zone)} to {_local(run.end, zone)}.")
    for run in _duty_starts(runs):
        if session_end <= run.start < window_end:
            return Conflict(ConflictRule.SHIFT_STARTS_IN_NO_DUTY_WINDOW, run,
                            f"{_SHIFT_WORDS[run.source].capitalize()} starts {_local(run.start, zone)}, "
                            f"{_hours_minutes(run.start - session_end)} after the session ends "
                            f"({_local(session_end, zone)}); no duty shift may start within "
                            f"{no_duty_window_h:g} h after an infusion (clinic policy; ketamine label: "
                            "no driving or hazardous work for 24 h).")
    return None


def preview(pattern: str, anchor_date: date, shift_start: time, platoon: str, timezone: str, days: int,
            start_date: date | None = None, *, custom_cycle_days: int | None = None,
            custom_blocks: Sequence[ShiftBlock] = (), today: date | None = None) -> list[DutyInterval]:
    """On-duty intervals for ``days`` local days from ``start_date`` (default: the anchor date), for the
    roster preview (POST /api/v1/rosters/preview). ``today`` enables the anchor-date range check."""
    roster = Roster(pattern=pattern, anchor_date=anchor_date, shift_start=shift_start, platoon=platoon,
                    timezone=timezone, custom_cycle_days=custom_cycle_days,
                    custom_blocks=tuple(custom_blocks))
    problems = roster_problems(roster, today=today)
    if not (_is_whole(days) and 1 <= days <= MAX_HORIZON_DAYS):
        problems.append(FieldProblem("days", "horizon_max_days",
                                     f"must be a whole number of days from 1 to {MAX_HORIZON_DAYS}"))
    if start_date is not None and (not isinstance(start_date, date) or isinstance(start_date, datetime)):
        problems.append(FieldProblem("start_date", "date_type", "must be a calendar date"))
    _checked(problems)
    zone = ZoneInfo(timezone)
    first = start_date or anchor_date
    lo = _to_utc(datetime.combine(first, time()), zone)
    hi = _to_utc(datetime.combine(first + timedelta(days=days), time()), zone)
    return [run for run in _timeline(roster, lo, hi) if run.end > lo and run.start < hi]
