"""core.reminders: a reminder goes out at the chosen hour, never at night, never on shift, at most one a day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tenfour.core.errors import CoreError
from tenfour.core.reminders import ReminderPolicy, Wait, check_reminder_hour, in_quiet_hours, reminder_wait

CHI = ZoneInfo("America/Chicago")
POLICY = ReminderPolicy()  # default hour 10, quiet 21:00-08:00, 2 reminders
DUE = dt.date(2025, 4, 8)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHI)


def wait(now: dt.datetime, chosen: int | None = None, sent=(), on_duty: bool = False) -> Wait | None:  # type: ignore[no-untyped-def]
    return reminder_wait(now, CHI, DUE, chosen, list(sent), on_duty, POLICY)


def test_goes_out_at_the_default_hour_on_the_due_day() -> None:
    assert wait(at(DUE, 9, 59)) == Wait.BEFORE_CHOSEN_HOUR
    assert wait(at(DUE, 10, 0)) is None


def test_the_patient_chooses_the_hour() -> None:
    assert wait(at(DUE, 10), chosen=18) == Wait.BEFORE_CHOSEN_HOUR
    assert wait(at(DUE, 18), chosen=18) is None
    assert wait(at(DUE, 8), chosen=8) is None


def test_never_before_the_due_day() -> None:
    assert wait(at(DUE - dt.timedelta(days=1), 12)) == Wait.NOT_DUE


@pytest.mark.parametrize("hour", [21, 22, 23, 0, 3, 7])
def test_never_at_night(hour: int) -> None:
    day = DUE + dt.timedelta(days=1) if hour < 12 else DUE
    assert wait(at(day, hour)) in (Wait.QUIET_HOURS, Wait.BEFORE_CHOSEN_HOUR)
    assert wait(at(DUE, 20, 59)) is None


def test_quiet_hours_are_in_the_patients_time_zone() -> None:
    # 03:00 UTC is 22:00 the evening before in Chicago (CDT): night there.
    now = dt.datetime(2025, 4, 9, 3, 0, tzinfo=dt.UTC)
    assert reminder_wait(now, CHI, DUE, None, [], False, POLICY) == Wait.QUIET_HOURS
    assert reminder_wait(now, ZoneInfo("Europe/Berlin"), DUE, None, [], False, POLICY) == Wait.BEFORE_CHOSEN_HOUR
    assert reminder_wait(now, ZoneInfo("Asia/Tokyo"), DUE, None, [], False, POLICY) is None  # 12:00 in Tokyo


def test_never_on_shift() -> None:
    assert wait(at(DUE, 12), on_duty=True) == Wait.ON_SHIFT


def test_one_a_day_and_at_most_the_policy_count() -> None:
    first = at(DUE, 10, 5)
    assert wait(at(DUE, 15), sent=[first]) == Wait.SENT_TODAY
    assert wait(at(DUE + dt.timedelta(days=1), 10), sent=[first]) is None
    second = at(DUE + dt.timedelta(days=1), 10)
    assert wait(at(DUE + dt.timedelta(days=2), 12), sent=[first, second]) == Wait.ALL_SENT


def test_quiet_hours_that_do_not_wrap_midnight() -> None:
    policy = ReminderPolicy(quiet_start_h=0, quiet_end_h=6)
    assert in_quiet_hours(dt.time(5, 59), policy)
    assert not in_quiet_hours(dt.time(6), policy)
    assert not in_quiet_hours(dt.time(23), policy)
    assert not in_quiet_hours(dt.time(3), ReminderPolicy(quiet_start_h=8, quiet_end_h=8))  # equal: none


def test_a_chosen_hour_must_be_a_whole_hour_outside_the_night() -> None:
    assert check_reminder_hour(19, POLICY) == 19
    with pytest.raises(CoreError) as night:
        check_reminder_hour(22, POLICY)
    assert night.value.problems[0].rule == "not_at_night"
    for bad in (24, -1, 7.5, True, "9"):
        with pytest.raises(CoreError) as error:
            check_reminder_hour(bad, POLICY)
        assert error.value.problems[0].rule == "range"


def test_now_must_be_aware() -> None:
    with pytest.raises(CoreError):
        reminder_wait(dt.datetime(2025, 4, 8, 12), CHI, DUE, None, [], False, POLICY)


def test_policy_comes_from_the_clinic_values() -> None:
    policy = ReminderPolicy.from_policy({"checkin.quiet_hours_start_h": 22, "checkin.max_reminders": 1})
    assert (policy.quiet_start_h, policy.max_reminders, policy.default_hour) == (22, 1, 10)
