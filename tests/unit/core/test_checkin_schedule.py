"""Check-in schedule: hand-written dates for a Mon/Wed/Fri course, moved infusions, daylight saving."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenfour.core import policy as clinic_policy
from tenfour.core.checkin_schedule import (
    CheckInKind,
    CheckInSchedulePolicy,
    CheckInStatus,
    DueCheckIn,
    ScheduledCheckIn,
    build_schedule,
    pcl5_form_for,
    reconcile,
)
from tenfour.core.errors import CoreError

D = dt.date
CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
POLICY = CheckInSchedulePolicy()
FIRST, AFTER, WEEKLY, MONTHLY = (CheckInKind.AFTER_FIRST_INFUSION, CheckInKind.AFTER_INFUSION,
                                 CheckInKind.WEEKLY, CheckInKind.MONTHLY)


def at(day: dt.date, hour: int, minute: int = 0, tz: ZoneInfo = CHICAGO) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


# Mon/Wed/Fri induction, 6 infusions at 09:00 Chicago: Mon 2025-04-07 to Fri 2025-04-18.
MWF = [at(D(2025, 4, day), 9) for day in (7, 9, 11, 14, 16, 18)]
COURSE_END = D(2025, 4, 18)

EXPECTED_MWF = [
    DueCheckIn(D(2025, 4, 8), FIRST, 0),
    DueCheckIn(D(2025, 4, 10), AFTER, 1),
    DueCheckIn(D(2025, 4, 12), AFTER, 2),
    DueCheckIn(D(2025, 4, 15), AFTER, 3),
    DueCheckIn(D(2025, 4, 17), AFTER, 4),
    DueCheckIn(D(2025, 4, 19), AFTER, 5),
    DueCheckIn(D(2025, 4, 25), WEEKLY, week=1),
    DueCheckIn(D(2025, 5, 2), WEEKLY, week=2),
    DueCheckIn(D(2025, 5, 9), WEEKLY, week=3),
    DueCheckIn(D(2025, 5, 16), WEEKLY, week=4),
    DueCheckIn(D(2025, 5, 23), WEEKLY, week=5),
    DueCheckIn(D(2025, 5, 30), WEEKLY, week=6),
    DueCheckIn(D(2025, 6, 6), WEEKLY, week=7),
    DueCheckIn(D(2025, 6, 13), WEEKLY, week=8),
    DueCheckIn(D(2025, 6, 20), WEEKLY, week=9),
    DueCheckIn(D(2025, 6, 27), WEEKLY, week=10),
    DueCheckIn(D(2025, 7, 4), WEEKLY, week=11),
    DueCheckIn(D(2025, 7, 11), WEEKLY, week=12),
    DueCheckIn(D(2025, 7, 18), WEEKLY, week=13),
    DueCheckIn(D(2025, 7, 25), WEEKLY, week=14),  # 14 weeks after the course end
    DueCheckIn(D(2025, 8, 24), MONTHLY),  # then every 30 days
    DueCheckIn(D(2025, 9, 23), MONTHLY),
    DueCheckIn(D(2025, 10, 23), MONTHLY),
]


def test_mon_wed_fri_course_with_hand_written_dates():
    assert build_schedule(MWF, COURSE_END, D(2025, 10, 31), CHICAGO, POLICY) == EXPECTED_MWF


def test_schedule_does_not_depend_on_the_order_of_infusions():
    assert build_schedule(list(reversed(MWF)), COURSE_END, D(2025, 10, 31), CHICAGO, POLICY) == EXPECTED_MWF


def test_horizon_is_inclusive():
    schedule = build_schedule(MWF, COURSE_END, D(2025, 5, 9), CHICAGO, POLICY)
    assert schedule == EXPECTED_MWF[:9]
    assert schedule[-1] == DueCheckIn(D(2025, 5, 9), WEEKLY, week=3)


def test_course_in_progress_has_only_infusion_checkins():
    schedule = build_schedule(MWF[:3], None, D(2025, 12, 31), CHICAGO, POLICY)
    assert schedule == EXPECTED_MWF[:3]


def test_clinic_rhythm_from_policy():
    policy = CheckInSchedulePolicy.from_policy(clinic_policy.resolve({
        "checkin.weekly_until_week": 2, "checkin.monthly_interval_days": 28}))
    schedule = build_schedule(MWF, COURSE_END, D(2025, 6, 30), CHICAGO, policy)
    assert [(d.due_on, d.kind) for d in schedule[6:]] == [
        (D(2025, 4, 25), WEEKLY), (D(2025, 5, 2), WEEKLY),
        (D(2025, 5, 30), MONTHLY), (D(2025, 6, 27), MONTHLY)]


# --- Same-day merges ----------------------------------------------------------------------------------


def test_first_checkin_48h_later_merges_with_the_next_infusions_checkin():
    policy = CheckInSchedulePolicy(first_after_infusion_h=48)
    infusions = [at(D(2025, 4, 7), 9), at(D(2025, 4, 8), 9)]
    schedule = build_schedule(infusions, None, D(2025, 5, 1), CHICAGO, policy)
    assert schedule == [DueCheckIn(D(2025, 4, 9), FIRST, 0)]


def test_booster_checkin_replaces_the_weekly_one_on_the_same_day():
    booster = at(D(2025, 4, 24), 9)  # the day before week 1
    schedule = build_schedule([*MWF, booster], COURSE_END, D(2025, 5, 3), CHICAGO, POLICY)
    assert schedule[6:] == [DueCheckIn(D(2025, 4, 25), AFTER, 6), DueCheckIn(D(2025, 5, 2), WEEKLY, week=2)]


def test_two_infusions_on_one_day_give_one_checkin_for_the_later():
    schedule = build_schedule([at(D(2025, 4, 7), 9), at(D(2025, 4, 9), 8), at(D(2025, 4, 9), 14)], None,
                              D(2025, 5, 1), CHICAGO, POLICY)
    assert schedule == [DueCheckIn(D(2025, 4, 8), FIRST, 0), DueCheckIn(D(2025, 4, 10), AFTER, 2)]


# --- Time zones and daylight saving ---------------------------------------------------------------------


def test_dst_week_mon_wed_fri_in_new_york():
    # US daylight saving starts Sun 2025-03-09: 09:00 is 14:00 UTC before, 13:00 UTC after.
    utc = dt.UTC
    infusions = [dt.datetime(2025, 3, 3, 14, tzinfo=utc), dt.datetime(2025, 3, 5, 14, tzinfo=utc),
                 dt.datetime(2025, 3, 7, 14, tzinfo=utc), dt.datetime(2025, 3, 10, 13, tzinfo=utc),
                 dt.datetime(2025, 3, 12, 13, tzinfo=utc), dt.datetime(2025, 3, 14, 13, tzinfo=utc)]
    schedule = build_schedule(infusions, D(2025, 3, 14), D(2025, 3, 28), NEW_YORK, POLICY)
    assert [(d.due_on, d.kind) for d in schedule] == [
        (D(2025, 3, 4), FIRST), (D(2025, 3, 6), AFTER), (D(2025, 3, 8), AFTER), (D(2025, 3, 11), AFTER),
        (D(2025, 3, 13), AFTER), (D(2025, 3, 15), AFTER), (D(2025, 3, 21), WEEKLY), (D(2025, 3, 28), WEEKLY)]


def test_first_checkin_counts_elapsed_hours_across_the_clock_change():
    # Sat 2025-03-08 23:30 EST + 24 h of elapsed time = Mon 2025-03-10 00:30 EDT (the night lost an hour).
    spring = build_schedule([at(D(2025, 3, 8), 23, 30, NEW_YORK)], None, D(2025, 4, 1), NEW_YORK, POLICY)
    assert spring == [DueCheckIn(D(2025, 3, 10), FIRST, 0)]
    # Sat 2025-11-01 23:30 EDT + 24 h = Sun 2025-11-02 22:30 EST (the night gained an hour).
    autumn = build_schedule([at(D(2025, 11, 1), 23, 30, NEW_YORK)], None, D(2025, 12, 1), NEW_YORK, POLICY)
    assert autumn == [DueCheckIn(D(2025, 11, 2), FIRST, 0)]


def test_days_are_counted_in_the_patients_time_zone_not_utc():
    # Fri 20:00 in Los Angeles is Sat 03:00 UTC: the day after is Saturday, not Sunday.
    evening = dt.datetime(2025, 4, 19, 3, tzinfo=dt.UTC)
    schedule = build_schedule([at(D(2025, 4, 16), 9, tz=LOS_ANGELES), evening], None, D(2025, 5, 1),
                              LOS_ANGELES, POLICY)
    assert schedule[-1] == DueCheckIn(D(2025, 4, 19), AFTER, 1)


# --- Moving infusions -------------------------------------------------------------------------------------


def as_stored(id_: int | str, due: DueCheckIn, status: CheckInStatus) -> ScheduledCheckIn:
    return ScheduledCheckIn(id_, status, due.due_on, due.kind, due.infusion_index, due.week)


def stored(schedule: list[DueCheckIn], completed_through: dt.date) -> list[ScheduledCheckIn]:
    done, pending = CheckInStatus.COMPLETED, CheckInStatus.PENDING
    return [as_stored(i, d, done if d.due_on <= completed_through else pending)
            for i, d in enumerate(schedule)]


def test_moving_one_infusion_moves_its_pending_checkin_only():
    existing = stored(EXPECTED_MWF, completed_through=D(2025, 4, 15))
    moved = [*MWF[:4], at(D(2025, 4, 17), 9), MWF[5]]  # Wed 04-16 infusion moved to Thu 04-17
    new = build_schedule(moved, COURSE_END, D(2025, 10, 31), CHICAGO, POLICY)
    plan = reconcile(existing, new)
    assert plan.add == [DueCheckIn(D(2025, 4, 18), AFTER, 4)]
    assert [(c.id, c.due_on) for c in plan.cancel] == [(4, D(2025, 4, 17))]
    assert [c.id for c in plan.keep] == [i for i in range(len(existing)) if i != 4]
    # applying the plan, then reconciling again changes nothing
    applied = [*plan.keep, *(as_stored(100 + i, d, CheckInStatus.PENDING) for i, d in enumerate(plan.add))]
    again = reconcile(applied, new)
    assert (again.add, again.cancel) == ([], [])


def test_completed_and_missed_checkins_are_never_touched():
    existing = stored(EXPECTED_MWF[:4], completed_through=D(2025, 4, 10))
    existing[2] = ScheduledCheckIn(2, CheckInStatus.MISSED, D(2025, 4, 12), AFTER, 2)
    # The course is rebuilt with infusions 1 and 2 a day later: 04-10 (completed) and 04-12 (missed) no
    # longer fit, but they are records of what happened and stay.
    moved = [MWF[0], at(D(2025, 4, 10), 9), at(D(2025, 4, 12), 9), MWF[3]]
    new = build_schedule(moved, None, D(2025, 4, 30), CHICAGO, POLICY)
    assert [d.due_on for d in new] == [D(2025, 4, 8), D(2025, 4, 11), D(2025, 4, 13), D(2025, 4, 15)]
    plan = reconcile(existing, new)
    assert plan.cancel == []
    assert plan.keep == existing
    assert plan.add == [DueCheckIn(D(2025, 4, 11), AFTER, 1), DueCheckIn(D(2025, 4, 13), AFTER, 2)]


def test_a_settled_day_needs_no_new_checkin_and_a_cancelled_one_stays_cancelled():
    existing = [ScheduledCheckIn("a", CheckInStatus.COMPLETED, D(2025, 4, 25), AFTER, 6),
                ScheduledCheckIn("b", CheckInStatus.CANCELLED, D(2025, 5, 2), WEEKLY, week=2)]
    new = [DueCheckIn(D(2025, 4, 25), WEEKLY, week=1), DueCheckIn(D(2025, 5, 2), WEEKLY, week=2)]
    plan = reconcile(existing, new)
    assert plan.add == [DueCheckIn(D(2025, 5, 2), WEEKLY, week=2)]
    assert (plan.cancel, plan.keep) == ([], existing)


def test_unknown_status_is_refused():
    with pytest.raises(CoreError) as caught:
        reconcile([ScheduledCheckIn(1, "done", D(2025, 4, 8), FIRST, 0)], [])  # type: ignore[arg-type]
    assert [(p.field, p.rule) for p in caught.value.problems] == [("existing[0].status", "known_status")]


# --- PCL-5 form ---------------------------------------------------------------------------------------


def test_full_pcl5_every_time_by_default():
    assert {pcl5_form_for(d, POLICY) for d in EXPECTED_MWF} == {"pcl5-week"}


def test_short_form_on_odd_weeks_when_the_clinic_alternates():
    policy = CheckInSchedulePolicy(alternate_short_form=True)
    forms = {(d.kind, d.week): pcl5_form_for(d, policy) for d in EXPECTED_MWF}
    assert [forms[(WEEKLY, w)] for w in range(1, 15)] == ["pcl5-8", "pcl5-week"] * 7  # week 14 is full
    assert {f for (kind, _), f in forms.items() if kind != WEEKLY} == {"pcl5-week"}


# --- Bad input ----------------------------------------------------------------------------------------


def test_bad_input_lists_every_problem():
    with pytest.raises(CoreError) as caught:
        naive = dt.datetime(2025, 4, 7, 9)
        build_schedule([naive, MWF[1]], dt.datetime(2025, 4, 18), D(2025, 5, 1), CHICAGO, POLICY)
    assert {(p.field, p.rule) for p in caught.value.problems} == {
        ("infusions[0]", "aware"), ("course_end", "type")}


def test_course_end_before_the_first_infusion_is_refused():
    with pytest.raises(CoreError) as caught:
        build_schedule(MWF, D(2025, 4, 6), D(2025, 5, 1), CHICAGO, POLICY)
    assert [(p.field, p.rule) for p in caught.value.problems] == [("course_end", "not_before_first_infusion")]


def test_policy_defaults_come_from_clinic_policy():
    assert CheckInSchedulePolicy() == CheckInSchedulePolicy.from_policy(clinic_policy.resolve({}))
    assert (POLICY.first_after_infusion_h, POLICY.weekly_until_week, POLICY.monthly_interval_days,
            POLICY.alternate_short_form) == (24, 14, 30, False)


# --- Properties -----------------------------------------------------------------------------------------

START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


@st.composite
def courses(draw):
    offsets_h = draw(st.lists(st.integers(0, 24 * 60), min_size=0, max_size=8))
    infusions = [START + dt.timedelta(hours=h) for h in offsets_h]
    tz = draw(st.sampled_from([CHICAGO, NEW_YORK, LOS_ANGELES, ZoneInfo("Europe/London"), ZoneInfo("UTC")]))
    first_day = min(infusions).astimezone(tz).date() if infusions else START.date()
    course_end = draw(st.none() | st.integers(0, 60).map(lambda d: first_day + dt.timedelta(days=d)))
    horizon = first_day + dt.timedelta(days=draw(st.integers(0, 400)))
    policy = CheckInSchedulePolicy(first_after_infusion_h=draw(st.integers(1, 96)),
                                   weekly_until_week=draw(st.integers(1, 52)),
                                   monthly_interval_days=draw(st.integers(7, 120)))
    return infusions, course_end, horizon, tz, policy


@settings(max_examples=150, deadline=None)
@given(courses(), st.data())
def test_schedule_is_sorted_one_a_day_within_the_horizon_and_reconciles(course, data):
    schedule = build_schedule(*course)
    days = [d.due_on for d in schedule]
    assert days == sorted(set(days))
    assert all(day <= course[2] for day in days)
    assert schedule == build_schedule(*course)  # deterministic
    statuses = data.draw(st.lists(st.sampled_from(list(CheckInStatus)), min_size=len(schedule),
                                  max_size=len(schedule)))
    existing = [as_stored(i, d, s) for i, (d, s) in enumerate(zip(schedule, statuses, strict=True))]
    plan = reconcile(existing, schedule)
    assert plan.cancel == []  # nothing moved
    assert sorted(c.id for c in plan.keep) == list(range(len(existing)))
    assert plan.add == [d for d, s in zip(schedule, statuses, strict=True) if s == CheckInStatus.CANCELLED]
