"""Check-in reminders: may an email reminder go out now? Pure; the caller says whether the patient is on duty.

Product choices (issue 6; every number is clinic policy ``checkin.*``):

- a reminder goes out on or after the day the check-in is due, at or after the hour the patient chose
  (``checkin.default_reminder_hour`` until they choose), in the patient's time zone;
- never at night: not from ``checkin.quiet_hours_start_h`` (21:00) until ``checkin.quiet_hours_end_h`` (08:00);
- never while the patient is on a duty shift (their roster): a reminder during a call is a distraction, and
  the check-in asks about trauma symptoms. It waits until the shift ends (and the night is over);
- at most one a day and ``checkin.max_reminders`` (2) per check-in: a reminder, then one more the next day.

The quiet hours may wrap midnight (21 -> 8) or not (e.g. 0 -> 6); equal start and end means no quiet hours.
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

_POLICY_KEYS: dict[str, str] = {
    "default_hour": "checkin.default_reminder_hour",
    "quiet_start_h": "checkin.quiet_hours_start_h",
    "quiet_end_h": "checkin.quiet_hours_end_h",
    "max_reminders": "checkin.max_reminders",
    "link_ttl_h": "checkin.reminder_link_ttl_h",
}


@dataclass(frozen=True)
class ReminderPolicy:
    default_hour: int = clinic_policy.default("checkin.default_reminder_hour")
    quiet_start_h: int = clinic_policy.default("checkin.quiet_hours_start_h")
    quiet_end_h: int = clinic_policy.default("checkin.quiet_hours_end_h")
    max_reminders: int = clinic_policy.default("checkin.max_reminders")
    link_ttl_h: int = clinic_policy.default("checkin.reminder_link_ttl_h")

    def __post_init__(self) -> None:
        for name, key in _POLICY_KEYS.items():
            object.__setattr__(self, name, clinic_policy.validate(key, getattr(self, name)))

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> ReminderPolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{name: values.get(key, clinic_policy.default(key)) for name, key in _POLICY_KEYS.items()})


class Wait(StrEnum):
    """Why a reminder does not go out now (``None`` when it does)."""

    NOT_DUE = "not_due"  # the check-in is due on a later day
    ALL_SENT = "all_sent"  # checkin.max_reminders already sent
    SENT_TODAY = "sent_today"  # one reminder a day
    BEFORE_CHOSEN_HOUR = "before_chosen_hour"
    QUIET_HOURS = "quiet_hours"
    ON_SHIFT = "on_shift"


WAIT_MESSAGES = {
    Wait.NOT_DUE: "the check-in is not due yet",
    Wait.ALL_SENT: "every reminder for this check-in has been sent",
    Wait.SENT_TODAY: "a reminder already went out today",
    Wait.BEFORE_CHOSEN_HOUR: "waiting for the hour the patient chose",
    Wait.QUIET_HOURS: "night in the patient's time zone: no reminders",
    Wait.ON_SHIFT: "the patient is on a duty shift: the reminder waits until it ends",
}


def in_quiet_hours(local: dt.datetime | dt.time, policy: ReminderPolicy) -> bool:
    """True at night (a local wall-clock time), from ``quiet_start_h`` until ``quiet_end_h``."""
    hour = local.hour
    start, end = policy.quiet_start_h, policy.quiet_end_h
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def check_reminder_hour(hour: object, policy: ReminderPolicy, field: str = "reminder_hour") -> int:
    """A patient's chosen hour: a whole hour 0-23 outside the quiet hours (CoreError naming the rule)."""
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise CoreError.single(field, "range", f"must be a whole hour from 0 to 23, got {hour!r}")
    if in_quiet_hours(dt.time(hour), policy):
        raise CoreError.single(field, "not_at_night",
                               f"must be outside the quiet hours ({policy.quiet_start_h:02d}:00 to "
                               f"{policy.quiet_end_h:02d}:00), when no reminders are sent")
    return hour


def reminder_wait(
    now: dt.datetime,
    tz: ZoneInfo,
    due_on: dt.date,
    chosen_hour: int | None,
    sent_at: Sequence[dt.datetime],
    on_duty: bool,
    policy: ReminderPolicy,
) -> Wait | None:
    """None when a reminder may go out at ``now`` (aware), else why it waits. ``sent_at``: earlier reminders
    for this check-in; ``on_duty``: is the patient on a duty shift at ``now`` (core.rosters.is_on_duty)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise CoreError([FieldProblem("now", "aware", "must be a date and time with a time zone")])
    local = now.astimezone(tz)
    today = local.date()
    if due_on > today:
        return Wait.NOT_DUE
    if len(sent_at) >= policy.max_reminders:
        return Wait.ALL_SENT
    if any(s.astimezone(tz).date() >= today for s in sent_at):
        return Wait.SENT_TODAY
    hour = policy.default_hour if chosen_hour is None else chosen_hour
    if local.hour < hour:
        return Wait.BEFORE_CHOSEN_HOUR
    if in_quiet_hours(local, policy):
        return Wait.QUIET_HOURS
    if on_duty:
        return Wait.ON_SHIFT
    return None
