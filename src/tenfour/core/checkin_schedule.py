"""Between-visit check-in schedule, generated from a patient's infusions and kept in step when they move.

Product choices (DESIGN.md capability 5, issue 6; every number is clinic policy ``checkin.*``):

- ``after_first_infusion``: ``checkin.first_after_infusion_h`` (24) hours of elapsed time after the first
  infusion, on that instant's date in the patient's time zone (seed claim to verify: improvement
  within 24 hours). It is the first infusion's only check-in;
- ``after_infusion``: the calendar day after each later infusion, in the patient's time zone;
- ``weekly``: every 7 days after the course ends, up to ``checkin.weekly_until_week`` (14) weeks (seed
  claim to verify: effects last up to 14 weeks);
- ``monthly``: then every ``checkin.monthly_interval_days`` (30) days up to the horizon.

At most one check-in a day: when two fall on the same day the most specific kind is kept
(after_first_infusion > after_infusion > weekly > monthly; of two infusions on one day, the later).
With ``checkin.alternate_short_form`` the odd weekly check-ins use the PCL-5 8-item short form
(Price 2016), so every infusion check-in, the even weeks (with week 14) and the monthly ones keep a full
PCL-5 total comparable with the baseline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tenfour.core import policy as clinic_policy
from tenfour.core.errors import CoreError, FieldProblem

PCL5_FULL_FORM = "pcl5-week"
PCL5_SHORT_FORM = "pcl5-8"


class CheckInKind(StrEnum):
    AFTER_FIRST_INFUSION = "after_first_infusion"
    AFTER_INFUSION = "after_infusion"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


# Most specific first: the kind kept when two check-ins fall on the same day.
_SPECIFICITY: dict[CheckInKind, int] = {kind: rank for rank, kind in enumerate(CheckInKind)}


class CheckInStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    MISSED = "missed"
    CANCELLED = "cancelled"


_POLICY_KEYS: dict[str, str] = {
    "first_after_infusion_h": "checkin.first_after_infusion_h",
    "weekly_until_week": "checkin.weekly_until_week",
    "monthly_interval_days": "checkin.monthly_interval_days",
    "alternate_short_form": "checkin.alternate_short_form",
}


@dataclass(frozen=True)
class CheckInSchedulePolicy:
    """The clinic's check-in rhythm (product choices; see the module doc)."""

    first_after_infusion_h: int = clinic_policy.default("checkin.first_after_infusion_h")
    weekly_until_week: int = clinic_policy.default("checkin.weekly_until_week")
    monthly_interval_days: int = clinic_policy.default("checkin.monthly_interval_days")
    alternate_short_form: bool = clinic_policy.default("checkin.alternate_short_form")

    def __post_init__(self) -> None:
        for name, key in _POLICY_KEYS.items():
            object.__setattr__(self, name, clinic_policy.validate(key, getattr(self, name)))

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> CheckInSchedulePolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{name: values.get(key, clinic_policy.default(key))
                      for name, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class DueCheckIn:
    """A check-in due on a day. ``infusion_index`` (0-based, infusions in time order) for the infusion
    kinds; ``week`` (1-based, weeks after the course end) for weekly ones."""

    due_on: dt.date
    kind: CheckInKind
    infusion_index: int | None = None
    week: int | None = None


@dataclass(frozen=True)
class ScheduledCheckIn:
    """A stored check-in: a due check-in with its id and status."""

    id: int | str
    status: CheckInStatus
    due_on: dt.date
    kind: CheckInKind
    infusion_index: int | None = None
    week: int | None = None

    @property
    def due(self) -> DueCheckIn:
        return DueCheckIn(self.due_on, self.kind, self.infusion_index, self.week)


@dataclass(frozen=True)
class Plan:
    """What to change: ``add`` new check-ins, ``cancel`` pending ones; ``keep`` every other stored one.

    Every existing check-in is in exactly one of ``keep`` and ``cancel``; only pending ones are cancelled.
    """

    add: list[DueCheckIn]
    cancel: list[ScheduledCheckIn]
    keep: list[ScheduledCheckIn]


def _is_date(value: object) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _validate(infusions: Sequence[dt.datetime], course_end: dt.date | None, horizon_end: dt.date,
              tz: ZoneInfo) -> None:
    problems: list[FieldProblem] = []
    if not isinstance(tz, dt.tzinfo):
        problems.append(FieldProblem("tz", "type", "must be a time zone (zoneinfo.ZoneInfo)"))
    aware = True
    for i, start in enumerate(infusions):
        if not isinstance(start, dt.datetime) or start.tzinfo is None or start.utcoffset() is None:
            problems.append(FieldProblem(f"infusions[{i}]", "aware",
                                         "must be a date and time with a time zone"))
            aware = False
    if course_end is not None and not _is_date(course_end):
        problems.append(FieldProblem("course_end", "type", "must be a calendar date or empty"))
    if not _is_date(horizon_end):
        problems.append(FieldProblem("horizon_end", "type", "must be a calendar date"))
    if not problems and aware and infusions and course_end is not None:
        first_day = min(infusions).astimezone(tz).date()
        if course_end < first_day:
            problems.append(FieldProblem("course_end", "not_before_first_infusion",
                                         f"course end {course_end} is before the first infusion "
                                         f"on {first_day}"))
    if problems:
        raise CoreError(problems)


def build_schedule(
    infusions: Sequence[dt.datetime],
    course_end: dt.date | None,
    horizon_end: dt.date,
    tz: ZoneInfo,
    policy: CheckInSchedulePolicy,
) -> list[DueCheckIn]:
    """The check-ins due for a course, sorted by day, at most one a day, none after ``horizon_end``.

    ``infusions`` are timezone-aware infusion times (any order; boosters may be included); ``tz`` is
    the patient's time zone, in which due days are counted; ``course_end`` is the day of the last
    course infusion (None while unknown: no weekly or monthly check-ins yet, pass the planned end to
    schedule ahead). Deterministic; product choices in the module doc. Raises CoreError on bad input.
    """
    _validate(infusions, course_end, horizon_end, tz)
    candidates: list[DueCheckIn] = []
    for index, start in enumerate(sorted(infusions)):
        if index == 0:
            # Elapsed hours (UTC arithmetic), so a daylight-saving change does not shorten or stretch them.
            due_at = start.astimezone(dt.UTC) + dt.timedelta(hours=policy.first_after_infusion_h)
            candidates.append(DueCheckIn(due_at.astimezone(tz).date(), CheckInKind.AFTER_FIRST_INFUSION, 0))
        else:
            next_day = start.astimezone(tz).date() + dt.timedelta(days=1)
            candidates.append(DueCheckIn(next_day, CheckInKind.AFTER_INFUSION, index))
    if course_end is not None:
        for week in range(1, policy.weekly_until_week + 1):
            weekly_on = course_end + dt.timedelta(weeks=week)
            candidates.append(DueCheckIn(weekly_on, CheckInKind.WEEKLY, week=week))
        last_weekly = course_end + dt.timedelta(weeks=policy.weekly_until_week)
        interval = dt.timedelta(days=policy.monthly_interval_days)
        due_on = last_weekly + interval
        while due_on <= horizon_end:
            candidates.append(DueCheckIn(due_on, CheckInKind.MONTHLY))
            due_on += interval

    by_day: dict[dt.date, DueCheckIn] = {}
    for candidate in candidates:
        if candidate.due_on > horizon_end:
            continue
        held = by_day.get(candidate.due_on)
        if held is None or _outranks(candidate, held):
            by_day[candidate.due_on] = candidate
    return [by_day[day] for day in sorted(by_day)]


def _outranks(candidate: DueCheckIn, held: DueCheckIn) -> bool:
    if _SPECIFICITY[candidate.kind] != _SPECIFICITY[held.kind]:
        return _SPECIFICITY[candidate.kind] < _SPECIFICITY[held.kind]
    return (candidate.infusion_index or 0) > (held.infusion_index or 0)  # the later infusion


def pcl5_form_for(due: DueCheckIn, policy: CheckInSchedulePolicy) -> str:
    """The PCL-5 form of a check-in: "pcl5-week" (full, 0-80), or "pcl5-8" (Price 2016 short form) on
    odd weekly check-ins when ``checkin.alternate_short_form`` is on (product choice)."""
    if policy.alternate_short_form and due.kind == CheckInKind.WEEKLY and (due.week or 0) % 2 == 1:
        return PCL5_SHORT_FORM
    return PCL5_FULL_FORM


def reconcile(existing: Sequence[ScheduledCheckIn], new: Sequence[DueCheckIn]) -> Plan:
    """Bring stored check-ins in step with a rebuilt schedule (e.g. after an infusion moved).

    Completed and missed check-ins are never touched, and their day needs no new check-in; cancelled
    ones stay cancelled. A pending check-in is kept when the new schedule has the same check-in
    (day, kind, infusion, week), otherwise cancelled, and the new one added: a moved check-in is a
    cancel plus an add. Raises CoreError for an unknown status.
    """
    problems = [FieldProblem(f"existing[{i}].status", "known_status",
                             f"must be one of {', '.join(CheckInStatus)}, got {e.status!r}")
                for i, e in enumerate(existing) if e.status not in set(CheckInStatus)]
    if problems:
        raise CoreError(problems)
    settled_days = {e.due_on for e in existing
                    if e.status in (CheckInStatus.COMPLETED, CheckInStatus.MISSED)}
    unmatched = {due for due in new if due.due_on not in settled_days}
    keep: list[ScheduledCheckIn] = []
    cancel: list[ScheduledCheckIn] = []
    for stored in existing:
        if stored.status != CheckInStatus.PENDING:
            keep.append(stored)
        elif stored.due in unmatched:
            unmatched.discard(stored.due)
            keep.append(stored)
        else:
            cancel.append(stored)
    add = [due for due in new if due in unmatched]
    return Plan(add=add, cancel=cancel, keep=keep)
