"""Duty rosters: hand-built calendars for every pattern and platoon, DST, one-off changes, the
no-duty-after-infusion window, validation, and properties of the expansion."""

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenfour.core import policy
from tenfour.core.errors import CoreError
from tenfour.core.rosters import (
    PATTERNS,
    Conflict,
    ConflictRule,
    DutyChange,
    DutyInterval,
    DutySource,
    Roster,
    RosterPolicy,
    ShiftBlock,
    custom_blocks_from_on_off,
    duty_conflict,
    expand,
    is_on_duty,
    next_shift_start,
    preview,
    validate_roster,
)

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
ANCHOR = date(2026, 1, 5)  # a Monday; January in Chicago is CST (UTC-6) throughout
FIXED_PATTERNS = ["24/48", "48/96", "kelly", "pitman", "dupont", "4on4off"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def roster(pattern: str = "24/48", platoon: str = "A", *, anchor: date = ANCHOR, start: time = time(8),
           zone: str = "America/Chicago", **kwargs) -> Roster:
    return Roster(pattern=pattern, anchor_date=anchor, shift_start=start, platoon=platoon, timezone=zone,
                  **kwargs)


def chart(r: Roster, first_day: date, days: int) -> str:
    """One character per local day: X on duty both 6 h and 18 h after the shift start time, D only the
    first (a day shift), N only the second (a night shift), . neither."""
    zone = ZoneInfo(r.timezone)
    lo = datetime.combine(first_day, time(), zone)
    intervals = expand(r, lo, lo + timedelta(days=days + 2))

    def on(at: datetime) -> bool:
        return any(i.start <= at < i.end for i in intervals)

    marks = []
    for n in range(days):
        start = datetime.combine(first_day + timedelta(days=n), r.shift_start, zone)
        marks.append({(True, True): "X", (True, False): "D", (False, True): "N", (False, False): "."}[
            (on(start + timedelta(hours=6)), on(start + timedelta(hours=18)))])
    return "".join(marks)


def assert_well_formed(intervals: list[DutyInterval]) -> None:
    for interval in intervals:
        assert interval.start < interval.end
        assert interval.start.utcoffset() == timedelta(0)
    for before, after in zip(intervals, intervals[1:], strict=False):
        assert before.end <= after.start
        assert not (before.end == after.start and before.source == after.source)


# --- Calendars: four weeks from the anchor, written by hand from DESIGN.md and the offset convention --

CALENDARS = [
    ("24/48", "A", "X..X..X ..X..X. .X..X.. X..X..X"),
    ("24/48", "B", ".X..X.. X..X..X ..X..X. .X..X.."),
    ("24/48", "C", "..X..X. .X..X.. X..X..X ..X..X."),
    ("48/96", "A", "XX....X X....XX ....XX. ...XX.."),
    ("48/96", "B", "..XX... .XX.... XX....X X....XX"),
    ("48/96", "C", "....XX. ...XX.. ..XX... .XX...."),
    ("kelly", "A", "X.X.X.. ..X.X.X ....X.X .X....X"),
    ("kelly", "B", "...X.X. X....X. X.X.... X.X.X.."),
    ("kelly", "C", ".X....X .X.X... .X.X.X. ...X.X."),
    ("pitman", "A", "DD..DDD ..DD... DD..DDD ..DD..."),
    ("pitman", "B", "..DD... DD..DDD ..DD... DD..DDD"),
    ("pitman", "C", "NN..NNN ..NN... NN..NNN ..NN..."),
    ("pitman", "D", "..NN... NN..NNN ..NN... NN..NNN"),
    ("dupont", "A", "NNNN... DDD.NNN ...DDDD ......."),
    ("dupont", "B", "....... NNNN... DDD.NNN ...DDDD"),
    ("dupont", "C", "...DDDD ....... NNNN... DDD.NNN"),
    ("dupont", "D", "DDD.NNN ...DDDD ....... NNNN..."),
    ("4on4off", "A", "DDDD... .DDDD.. ..DDDD. ...DDDD"),
    ("4on4off", "B", "....DDD D....DD DD....D DDD...."),
    ("4on4off", "C", "NNNN... .NNNN.. ..NNNN. ...NNNN"),
    ("4on4off", "D", "....NNN N....NN NN....N NNN...."),
]


@pytest.mark.parametrize(("pattern", "platoon", "expected"), CALENDARS)
def test_four_week_calendar_of_every_platoon(pattern: str, platoon: str, expected: str) -> None:
    start = time(8) if PATTERNS[pattern].blocks[0].length_h >= 24 else time(7)
    assert chart(roster(pattern, platoon, start=start), ANCHOR, 28) == expected.replace(" ", "")


def test_calendars_cover_every_platoon_of_every_pattern() -> None:
    covered = {(pattern, platoon) for pattern, platoon, _ in CALENDARS}
    assert covered == {(key, name) for key in FIXED_PATTERNS for name in PATTERNS[key].platoon_names}
    assert PATTERNS["custom"].platoon_names == ("A",)


def test_kelly_platoons_work_days_0_2_4_then_3_5_7_then_6_8_1_covering_each_day_once() -> None:
    days_on = {}
    for platoon in "ABC":
        row = chart(roster("kelly", platoon), ANCHOR, 9)
        days_on[platoon] = {n for n, mark in enumerate(row) if mark == "X"}
    assert days_on == {"A": {0, 2, 4}, "B": {3, 5, 7}, "C": {1, 6, 8}}
    assert sorted(d for days in days_on.values() for d in days) == list(range(9))


@pytest.mark.parametrize("pattern", FIXED_PATTERNS)
def test_all_platoons_together_cover_the_clock_exactly_once(pattern: str) -> None:
    spec = PATTERNS[pattern]
    lo = datetime.combine(ANCHOR, time(7), UTC)
    hi = lo + timedelta(days=spec.cycle_days)
    pieces = sorted(
        (max(i.start, lo), min(i.end, hi))
        for name in spec.platoon_names
        for i in expand(roster(pattern, name, start=time(7), zone="UTC"), lo, hi)
    )
    assert pieces[0][0] == lo and pieces[-1][1] == hi
    for (_, end), (start, _) in zip(pieces, pieces[1:], strict=False):
        assert end == start  # no gap, no overlap


def test_pattern_specs_match_design() -> None:
    expected = {"24/48": (3, Fraction(1, 3)), "48/96": (6, Fraction(1, 3)), "kelly": (9, Fraction(1, 3)),
                "pitman": (14, Fraction(1, 4)), "dupont": (28, Fraction(1, 4)),
                "4on4off": (8, Fraction(1, 4))}
    for key, (cycle_days, fraction) in expected.items():
        assert PATTERNS[key].cycle_days == cycle_days
        assert PATTERNS[key].duty_fraction == pytest.approx(float(fraction))
    assert PATTERNS["custom"].duty_fraction is None
    assert set(PATTERNS) == {*FIXED_PATTERNS, "custom"}


def test_exact_shift_times_of_12_hour_patterns() -> None:
    dupont_a = expand(roster("dupont", "A", start=time(7)), utc(2026, 1, 5), utc(2026, 1, 14))
    # four nights 19:00-07:00 CST from Jan 5, then days 07:00-19:00 from Jan 12
    assert [(i.start, i.end) for i in dupont_a[:5]] == [
        (utc(2026, 1, 6, 1), utc(2026, 1, 6, 13)),
        (utc(2026, 1, 7, 1), utc(2026, 1, 7, 13)),
        (utc(2026, 1, 8, 1), utc(2026, 1, 8, 13)),
        (utc(2026, 1, 9, 1), utc(2026, 1, 9, 13)),
        (utc(2026, 1, 12, 13), utc(2026, 1, 13, 1)),
    ]
    pitman_d = expand(roster("pitman", "D", start=time(6)), utc(2026, 1, 5, 13), utc(2026, 1, 9, 1))
    # team D is on nights on cycle days 2 and 3 (Jan 7, 8): 18:00-06:00 CST
    assert [(i.start, i.end) for i in pitman_d] == [
        (utc(2026, 1, 8, 0), utc(2026, 1, 8, 12)),
        (utc(2026, 1, 9, 0), utc(2026, 1, 9, 12)),
    ]
    assert all(i.source == DutySource.ROSTER and i.duration_h == 12 for i in dupont_a + pitman_d)


def test_48_hour_shift_is_one_interval() -> None:
    shifts = expand(roster("48/96", "B"), utc(2026, 1, 5), utc(2026, 1, 12))
    assert [(i.start, i.end) for i in shifts] == [(utc(2026, 1, 7, 14), utc(2026, 1, 9, 14))]


# --- Before the anchor -------------------------------------------------------------------------------


def test_cycle_extends_backwards_before_the_anchor() -> None:
    assert chart(roster("24/48"), date(2025, 12, 29), 7) == ".X..X.."
    assert chart(roster("kelly", "A"), date(2025, 12, 29), 7) == "X.X...."
    assert chart(roster("kelly", "B"), date(2025, 12, 26), 10) == "....X.X.X."
    dupont_c = roster("dupont", "C", start=time(7))
    assert chart(dupont_c, date(2025, 12, 8), 28) == "...DDDD.......NNNN...DDD.NNN"
    # a year before: 365 = 26 x 14 + 1, so Pitman A's 5 Jan 2025 is cycle day 13 (off)
    assert chart(roster("pitman", "A", start=time(7)), date(2025, 1, 5), 8) == ".DD..DDD"


def test_shift_starting_before_the_window_is_returned_whole() -> None:
    shifts = expand(roster("24/48"), utc(2026, 1, 6, 0), utc(2026, 1, 6, 1))
    assert [(i.start, i.end) for i in shifts] == [(utc(2026, 1, 5, 14), utc(2026, 1, 6, 14))]


# --- Daylight saving (America/Chicago: 8 March and 1 November 2026) -----------------------------------


def test_spring_forward_week_24_hour_shift_is_23_real_hours() -> None:
    r = roster("24/48", anchor=date(2026, 3, 7))
    shifts = expand(r, local(CHICAGO, 2026, 3, 6), local(CHICAGO, 2026, 3, 13))
    assert [(i.start, i.end) for i in shifts] == [
        (utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)),  # 08:00 CST -> 08:00 CDT
        (utc(2026, 3, 10, 13), utc(2026, 3, 11, 13)),
    ]
    assert [i.duration_h for i in shifts] == [23, 24]


def test_spring_forward_week_pitman_nights() -> None:
    r = roster("pitman", "C", anchor=date(2026, 3, 2), start=time(7))
    shifts = expand(r, local(CHICAGO, 2026, 3, 2), local(CHICAGO, 2026, 3, 9))
    assert [(i.start, i.end) for i in shifts] == [
        (utc(2026, 3, 3, 1), utc(2026, 3, 3, 13)),
        (utc(2026, 3, 4, 1), utc(2026, 3, 4, 13)),
        (utc(2026, 3, 7, 1), utc(2026, 3, 7, 13)),
        (utc(2026, 3, 8, 1), utc(2026, 3, 8, 12)),  # 19:00 CST -> 07:00 CDT: 11 h
        (utc(2026, 3, 9, 0), utc(2026, 3, 9, 12)),  # 19:00 CDT -> 07:00 CDT
    ]


def test_fall_back_week_24_hour_shift_is_25_real_hours() -> None:
    r = roster("24/48", anchor=date(2026, 10, 31))
    shifts = expand(r, local(CHICAGO, 2026, 10, 30), local(CHICAGO, 2026, 11, 6))
    assert [(i.start, i.end) for i in shifts] == [
        (utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)),  # 08:00 CDT -> 08:00 CST
        (utc(2026, 11, 3, 14), utc(2026, 11, 4, 14)),
    ]
    assert [i.duration_h for i in shifts] == [25, 24]


def test_fall_back_week_4on4off_nights_new_york() -> None:
    r = roster("4on4off", "C", anchor=date(2026, 10, 29), start=time(7), zone="America/New_York")
    shifts = expand(r, local(NEW_YORK, 2026, 10, 29), local(NEW_YORK, 2026, 11, 5))
    assert [(i.start, i.end) for i in shifts] == [
        (utc(2026, 10, 29, 23), utc(2026, 10, 30, 11)),
        (utc(2026, 10, 30, 23), utc(2026, 10, 31, 11)),
        (utc(2026, 10, 31, 23), utc(2026, 11, 1, 12)),  # 19:00 EDT -> 07:00 EST: 13 h
        (utc(2026, 11, 2, 0), utc(2026, 11, 2, 12)),  # 19:00 EST -> 07:00 EST
    ]


def test_nonexistent_and_ambiguous_start_times_use_fold_0() -> None:
    gap = expand(roster("24/48", anchor=date(2026, 3, 8), start=time(2, 30)), utc(2026, 3, 8),
                 utc(2026, 3, 9))
    # 02:30 does not exist on 8 March: read with the CST offset -> 08:30Z; ends 02:30 CDT 9 March
    assert [(i.start, i.end) for i in gap] == [(utc(2026, 3, 8, 8, 30), utc(2026, 3, 9, 7, 30))]
    fold = expand(roster("24/48", anchor=date(2026, 11, 1), start=time(1, 30)), utc(2026, 11, 1, 7),
                  utc(2026, 11, 2))
    # 01:30 happens twice on 1 November: the first (CDT) -> 06:30Z; ends 01:30 CST 2 November
    assert [(i.start, i.end) for i in fold] == [(utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 7, 30))]


# --- One-off changes ----------------------------------------------------------------------------------

JAN_5_SHIFT = (utc(2026, 1, 5, 14), utc(2026, 1, 6, 14), DutySource.ROSTER)
JAN_8_SHIFT = (utc(2026, 1, 8, 14), utc(2026, 1, 9, 14), DutySource.ROSTER)
JAN_11_SHIFT = (utc(2026, 1, 11, 14), utc(2026, 1, 12, 14), DutySource.ROSTER)
JAN_14_SHIFT = (utc(2026, 1, 14, 14), utc(2026, 1, 15, 14), DutySource.ROSTER)


def change(kind: str, start: datetime, end: datetime, note: str = "") -> DutyChange:
    return DutyChange(kind=kind, start=start, end=end, note=note)


def triples(r: Roster, lo: datetime = local(CHICAGO, 2026, 1, 5), hi: datetime = local(CHICAGO, 2026, 1, 15)):
    return [(i.start, i.end, i.source) for i in expand(r, lo, hi)]


def test_without_changes() -> None:
    assert triples(roster()) == [JAN_5_SHIFT, JAN_8_SHIFT, JAN_11_SHIFT, JAN_14_SHIFT]


def test_leave_removes_a_shift() -> None:
    r = roster(changes=[change("leave", local(CHICAGO, 2026, 1, 8), local(CHICAGO, 2026, 1, 10), "vacation")])
    assert triples(r) == [JAN_5_SHIFT, JAN_11_SHIFT, JAN_14_SHIFT]
    assert not is_on_duty(r, utc(2026, 1, 8, 20))


def test_partial_leave_moves_the_start_of_duty() -> None:
    r = roster(changes=[change("leave", local(CHICAGO, 2026, 1, 8, 8), local(CHICAGO, 2026, 1, 8, 20))])
    assert triples(r)[1] == (utc(2026, 1, 9, 2), utc(2026, 1, 9, 14), DutySource.ROSTER)
    assert next_shift_start(r, utc(2026, 1, 7)) == utc(2026, 1, 9, 2)


def test_overtime_adds_duty_and_stays_apart_from_the_touching_shift() -> None:
    r = roster(changes=[change("overtime", local(CHICAGO, 2026, 1, 9, 8), local(CHICAGO, 2026, 1, 9, 20))])
    assert triples(r)[1:3] == [JAN_8_SHIFT, (utc(2026, 1, 9, 14), utc(2026, 1, 10, 2), DutySource.OVERTIME)]
    assert is_on_duty(r, utc(2026, 1, 10, 1))


def test_overtime_overlapping_a_shift_counts_only_where_not_rostered() -> None:
    r = roster(changes=[change("overtime", local(CHICAGO, 2026, 1, 8, 6), local(CHICAGO, 2026, 1, 8, 10))])
    assert triples(r)[1:3] == [(utc(2026, 1, 8, 12), utc(2026, 1, 8, 14), DutySource.OVERTIME), JAN_8_SHIFT]
    # duty now begins at the overtime: one start, not two
    assert next_shift_start(r, utc(2026, 1, 7)) == utc(2026, 1, 8, 12)
    assert next_shift_start(r, utc(2026, 1, 8, 13)) == utc(2026, 1, 11, 14)


def test_trade_out_own_shift_and_trade_in_a_colleagues() -> None:
    r = roster(changes=[
        change("trade_out", local(CHICAGO, 2026, 1, 8, 8), local(CHICAGO, 2026, 1, 9, 8), "to B"),
        change("trade_in", local(CHICAGO, 2026, 1, 9, 8), local(CHICAGO, 2026, 1, 10, 8), "from B"),
    ])
    assert triples(r) == [JAN_5_SHIFT, (utc(2026, 1, 9, 14), utc(2026, 1, 10, 14), DutySource.TRADE_IN),
                          JAN_11_SHIFT, JAN_14_SHIFT]


def test_added_duty_stands_inside_a_leave() -> None:
    r = roster(changes=[
        change("leave", local(CHICAGO, 2026, 1, 7), local(CHICAGO, 2026, 1, 12, 8)),
        change("overtime", local(CHICAGO, 2026, 1, 9, 8), local(CHICAGO, 2026, 1, 9, 20), "recall"),
    ])
    assert triples(r) == [JAN_5_SHIFT, (utc(2026, 1, 9, 14), utc(2026, 1, 10, 2), DutySource.OVERTIME),
                          JAN_14_SHIFT]


# --- is_on_duty and next_shift_start ------------------------------------------------------------------


def test_on_duty_is_half_open() -> None:
    r = roster()
    assert is_on_duty(r, local(CHICAGO, 2026, 1, 5, 8))
    assert is_on_duty(r, local(CHICAGO, 2026, 1, 6, 7, 59))
    assert not is_on_duty(r, local(CHICAGO, 2026, 1, 6, 8))
    assert not is_on_duty(r, local(CHICAGO, 2026, 1, 5, 7, 59))


def test_next_shift_start() -> None:
    r = roster()
    # at a start: that one; during a shift: the next one
    assert next_shift_start(r, local(CHICAGO, 2026, 1, 5, 8)) == utc(2026, 1, 5, 14)
    assert next_shift_start(r, local(CHICAGO, 2026, 1, 5, 9)) == utc(2026, 1, 8, 14)
    assert next_shift_start(r, local(CHICAGO, 2025, 12, 31)) == utc(2026, 1, 2, 14)  # before the anchor


def test_next_shift_start_none_when_no_duty_begins_within_400_days() -> None:
    on_leave = roster(changes=[change("leave", utc(2026, 1, 1), utc(2027, 6, 1))])
    assert next_shift_start(on_leave, utc(2026, 1, 2)) is None
    back = roster(changes=[change("leave", utc(2026, 1, 1), utc(2027, 5, 30, 20))])
    assert next_shift_start(back, utc(2027, 5, 1)) == utc(2027, 5, 30, 20)  # the leave ends mid-shift
    always_on = roster("custom", custom_cycle_days=1, custom_blocks=(ShiftBlock(0, 24),))
    assert next_shift_start(always_on, utc(2026, 1, 2)) is None
    assert is_on_duty(always_on, utc(2026, 1, 2))


# --- The no-duty-after-infusion window ----------------------------------------------------------------


def conflict(r: Roster, start: datetime, end: datetime, window_h: float = 24) -> Conflict | None:
    return duty_conflict(r, start, end, window_h)


def test_shift_starting_exactly_24_h_after_the_session_is_allowed() -> None:
    assert conflict(roster(), local(CHICAGO, 2026, 1, 7, 7), local(CHICAGO, 2026, 1, 7, 8)) is None


def test_shift_starting_a_minute_inside_24_h_conflicts() -> None:
    found = conflict(roster(), local(CHICAGO, 2026, 1, 7, 7, 1), local(CHICAGO, 2026, 1, 7, 8, 1))
    assert found is not None
    assert found.rule == ConflictRule.SHIFT_STARTS_IN_NO_DUTY_WINDOW
    assert found.shift == DutyInterval(*JAN_8_SHIFT)
    assert "Thu 08 Jan 2026 08:00 CST" in found.message and "23 h 59 min" in found.message


def test_shift_starting_as_the_session_ends_conflicts() -> None:
    found = conflict(roster(), local(CHICAGO, 2026, 1, 8, 7), local(CHICAGO, 2026, 1, 8, 8))
    assert found is not None and found.rule == ConflictRule.SHIFT_STARTS_IN_NO_DUTY_WINDOW


def test_on_duty_during_the_session_conflicts() -> None:
    found = conflict(roster(), local(CHICAGO, 2026, 1, 6, 7), local(CHICAGO, 2026, 1, 6, 8, 40))
    assert found is not None
    assert found.rule == ConflictRule.ON_DUTY_DURING_SESSION
    assert found.shift == DutyInterval(*JAN_5_SHIFT)
    assert "On duty during the session" in found.message


def test_session_right_after_a_shift_is_allowed() -> None:
    assert conflict(roster(), local(CHICAGO, 2026, 1, 6, 8), local(CHICAGO, 2026, 1, 6, 8, 40)) is None


def test_window_is_real_hours_across_daylight_saving() -> None:
    r = roster(anchor=date(2026, 3, 5))  # shifts 5 March 08:00 CST and 8 March 08:00 CDT (13:00Z)
    assert conflict(r, utc(2026, 3, 7, 12), utc(2026, 3, 7, 13)) is None  # 24 real hours
    found = conflict(r, utc(2026, 3, 7, 13), utc(2026, 3, 7, 14))  # 07:00-08:00 CST: 23 real hours
    assert found is not None and "23 h after" in found.message


def test_window_follows_the_policy_value() -> None:
    session = (local(CHICAGO, 2026, 1, 6, 9), local(CHICAGO, 2026, 1, 6, 10))  # next shift in 46 h
    assert conflict(roster(), *session, window_h=24) is None
    assert conflict(roster(), *session, window_h=48) is not None
    ends_at_shift_start = (local(CHICAGO, 2026, 1, 8, 7), local(CHICAGO, 2026, 1, 8, 8))
    assert conflict(roster(), *ends_at_shift_start, window_h=0) is None


def test_window_honours_leave_and_overtime() -> None:
    session = (local(CHICAGO, 2026, 1, 7, 9), local(CHICAGO, 2026, 1, 7, 10))
    assert conflict(roster(), *session) is not None
    leave = change("leave", local(CHICAGO, 2026, 1, 8), local(CHICAGO, 2026, 1, 9, 12))
    assert conflict(roster(changes=[leave]), *session) is None
    overtime = change("overtime", local(CHICAGO, 2026, 1, 7, 20), local(CHICAGO, 2026, 1, 7, 23))
    found = conflict(roster(changes=[leave, overtime]), *session)
    assert found is not None and found.shift.source == DutySource.OVERTIME
    assert found.message.startswith("An overtime shift starts Wed 07 Jan 2026 20:00 CST, 10 h after")


def test_roster_policy_reads_the_no_duty_window() -> None:
    assert RosterPolicy().no_duty_window_h == 24
    assert RosterPolicy.from_policy(policy.resolve({"duty.no_duty_window_h": 36})).no_duty_window_h == 36


# --- Custom rosters and preview -----------------------------------------------------------------------


def test_custom_four_tens() -> None:
    r = roster("custom", start=time(6), custom_cycle_days=7,
               custom_blocks=[ShiftBlock(day, 10) for day in range(4)])
    assert chart(r, ANCHOR, 14) == "DDDD...DDDD..."
    assert expand(r, utc(2026, 1, 5), utc(2026, 1, 6))[0].end == utc(2026, 1, 5, 22)


def test_custom_touching_blocks_merge() -> None:
    r = roster("custom", custom_cycle_days=3, custom_blocks=(ShiftBlock(0, 24), ShiftBlock(1, 12)))
    shifts = expand(r, local(CHICAGO, 2026, 1, 5), local(CHICAGO, 2026, 1, 7))
    assert [(i.start, i.end) for i in shifts] == [(utc(2026, 1, 5, 14), utc(2026, 1, 7, 2))]


def test_custom_blocks_from_on_off_hours() -> None:
    assert custom_blocks_from_on_off([24, 24, 24, 72]) == (6, (ShiftBlock(0, 24), ShiftBlock(2, 24)))
    assert custom_blocks_from_on_off([12, 6, 12, 18]) == (2, (ShiftBlock(0, 12), ShiftBlock(0, 12, 18)))
    for bad, rule in (([24, 25], "whole_days"), ([], "whole_days"), ([0, 24], "block_positive_length")):
        with pytest.raises(CoreError) as caught:
            custom_blocks_from_on_off(bad)
        assert caught.value.problems[0].rule == rule


def test_preview() -> None:
    kelly_b = preview("kelly", ANCHOR, time(8), "B", "America/Chicago", 9)
    assert [(i.start, i.end) for i in kelly_b] == [
        (utc(2026, 1, 8, 14), utc(2026, 1, 9, 14)),
        (utc(2026, 1, 10, 14), utc(2026, 1, 11, 14)),
        (utc(2026, 1, 12, 14), utc(2026, 1, 13, 14)),
    ]
    later = preview("kelly", ANCHOR, time(8), "B", "America/Chicago", 3, start_date=date(2026, 1, 8))
    assert [i.start for i in later] == [utc(2026, 1, 8, 14), utc(2026, 1, 10, 14)]
    custom = preview("custom", ANCHOR, time(8), "A", "UTC", 2, custom_cycle_days=2,
                     custom_blocks=[ShiftBlock(1, 12)])
    assert [(i.start, i.end) for i in custom] == [(utc(2026, 1, 6, 8), utc(2026, 1, 6, 20))]


# --- Validation: every problem, all at once -----------------------------------------------------------


def problems(call) -> set[tuple[str, str]]:
    with pytest.raises(CoreError) as caught:
        call()
    return {(p.field, p.rule) for p in caught.value.problems}


def test_unknown_pattern_lists_the_known_ones() -> None:
    with pytest.raises(CoreError) as caught:
        validate_roster(roster("3/4"))
    assert caught.value.problems[0].field == "pattern"
    assert "24/48, 48/96, kelly, pitman, dupont, 4on4off, custom" in caught.value.problems[0].message


def test_unknown_platoon_and_time_zone() -> None:
    assert problems(lambda: validate_roster(roster("24/48", "D", zone="Mars/Olympus"))) == {
        ("platoon", "known_platoon"), ("timezone", "known_timezone")}
    assert problems(lambda: validate_roster(roster(zone="localtime"))) == {("timezone", "known_timezone")}


@pytest.mark.parametrize(("anchor", "ok"), [
    (date(2016, 5, 1), True), (date(2016, 4, 30), False), (date(2028, 5, 1), True), (date(2028, 5, 2), False),
])
def test_anchor_date_range(anchor: date, ok: bool) -> None:
    r = roster(anchor=anchor)
    if ok:
        validate_roster(r, today=date(2026, 5, 1))
    else:
        found = problems(lambda: validate_roster(r, today=date(2026, 5, 1)))
        assert found == {("anchor_date", "anchor_date_range")}
    validate_roster(r)  # without today the range is not checked


def test_custom_block_problems() -> None:
    r = roster("custom", custom_cycle_days=2, custom_blocks=(
        ShiftBlock(0, 12), ShiftBlock(0, 12, 6), ShiftBlock(1, 30), ShiftBlock(1, 0), ShiftBlock(1, -3, 1),
        ShiftBlock(2, 4),
    ))
    assert problems(lambda: validate_roster(r)) == {
        ("custom_blocks[1]", "blocks_not_overlapping"),
        ("custom_blocks[2]", "block_within_cycle"),
        ("custom_blocks[3].length_h", "block_positive_length"),
        ("custom_blocks[4].length_h", "block_positive_length"),
        ("custom_blocks[5].day", "block_within_cycle"),
    }
    assert problems(lambda: validate_roster(roster("custom"))) == {
        ("custom_cycle_days", "custom_cycle_range"), ("custom_blocks", "custom_blocks_required")}
    assert problems(lambda: validate_roster(roster(custom_blocks=[ShiftBlock(0, 8)]))) == {
        ("custom_blocks", "custom_only")}


def test_change_problems() -> None:
    r = roster(changes=[
        change("leave", utc(2026, 1, 2), utc(2026, 1, 1)),
        change("overtime", utc(2026, 1, 2), utc(2026, 1, 2)),
        change("sick", datetime(2026, 1, 2), utc(2026, 1, 3)),  # a naive time
    ])
    assert problems(lambda: validate_roster(r)) == {
        ("changes[0].end", "change_end_after_start"), ("changes[1].end", "change_end_after_start"),
        ("changes[2].kind", "change_kind"), ("changes[2].start", "aware_datetime")}


def test_horizon_problems() -> None:
    r = roster()
    new_year = utc(2026, 1, 1)
    assert problems(lambda: expand(r, new_year, utc(2027, 2, 5, 0, 1))) == {("end", "horizon_max_days")}
    assert len(expand(r, new_year, utc(2027, 2, 5))) == 133  # exactly 400 days is allowed
    assert problems(lambda: expand(r, utc(2026, 1, 2), new_year)) == {("end", "horizon_end_after_start")}
    naive = datetime(2026, 1, 1)
    assert problems(lambda: expand(r, naive, utc(2026, 1, 2))) == {("start", "aware_datetime")}
    for days in (0, 401):
        found = problems(lambda days=days: preview("24/48", ANCHOR, time(8), "A", "UTC", days))
        assert found == {("days", "horizon_max_days")}


def test_every_problem_is_listed_at_once() -> None:
    r = Roster(pattern="kelly", anchor_date=date(2000, 1, 1), shift_start=time(8, tzinfo=UTC), platoon="Z",
               timezone="Nowhere", changes=(change("leave", utc(2026, 1, 2), utc(2026, 1, 1)),))
    assert problems(lambda: validate_roster(r, today=date(2026, 5, 1), horizon_start=utc(2026, 1, 1),
                                            horizon_end=utc(2027, 6, 1))) == {
        ("platoon", "known_platoon"), ("timezone", "known_timezone"), ("anchor_date", "anchor_date_range"),
        ("shift_start", "wall_time"), ("changes[0].end", "change_end_after_start"),
        ("end", "horizon_max_days")}


def test_rules_refuse_a_bad_roster_and_bad_sessions() -> None:
    bad = roster("3/4")
    for call in (lambda: expand(bad, utc(2026, 1, 1), utc(2026, 1, 2)),
                 lambda: is_on_duty(bad, utc(2026, 1, 1)), lambda: next_shift_start(bad, utc(2026, 1, 1)),
                 lambda: duty_conflict(bad, utc(2026, 1, 1), utc(2026, 1, 1, 1), 24)):
        assert ("pattern", "known_pattern") in problems(call)
    assert problems(lambda: duty_conflict(roster(), utc(2026, 1, 1, 1), utc(2026, 1, 1), -1)) == {
        ("session_end", "session_end_after_start"), ("no_duty_window_h", "non_negative_hours")}


# --- Properties ---------------------------------------------------------------------------------------

DUTY_FRACTION = {"24/48": Fraction(1, 3), "48/96": Fraction(1, 3), "kelly": Fraction(1, 3),
                 "pitman": Fraction(1, 4), "dupont": Fraction(1, 4), "4on4off": Fraction(1, 4)}
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))


@settings(deadline=None)
@given(data=st.data(), pattern=st.sampled_from(FIXED_PATTERNS), cycles=st.integers(1, 4),
       zone=st.sampled_from(["UTC", "Asia/Tokyo", "Asia/Kolkata"]),  # zones without daylight saving
       anchor=st.dates(date(2000, 1, 1), date(2040, 1, 1)), start=moments,
       shift_start=st.times())
def test_duty_fraction_over_whole_cycles(data, pattern, cycles, zone, anchor, start, shift_start) -> None:
    platoon = data.draw(st.sampled_from(PATTERNS[pattern].platoon_names))
    r = roster(pattern, platoon, anchor=anchor, start=shift_start, zone=zone)
    lo = start.replace(tzinfo=UTC)
    hi = lo + timedelta(days=cycles * PATTERNS[pattern].cycle_days)
    intervals = expand(r, lo, hi)
    assert_well_formed(intervals)
    on_duty = sum((min(i.end, hi) - max(i.start, lo) for i in intervals), timedelta())
    fraction = DUTY_FRACTION[pattern]
    assert on_duty == (hi - lo) * fraction.numerator / fraction.denominator


changes_strategy = st.lists(
    st.tuples(st.sampled_from(["overtime", "trade_in", "trade_out", "leave"]), st.integers(-48, 24 * 20),
              st.integers(1, 24 * 5)), max_size=6)


@settings(deadline=None)
@given(pattern=st.sampled_from(FIXED_PATTERNS), start=moments, raw_changes=changes_strategy,
       zone=st.sampled_from(["America/Chicago", "America/New_York", "UTC"]))
def test_changes_keep_intervals_sorted_and_apart(pattern, start, raw_changes, zone) -> None:
    lo = start.replace(tzinfo=UTC)
    changes = [change(kind, lo + timedelta(hours=at), lo + timedelta(hours=at + hours))
               for kind, at, hours in raw_changes]
    r = roster(pattern, anchor=date(2026, 1, 5), zone=zone, changes=changes)
    intervals = expand(r, lo, lo + timedelta(days=14))
    assert_well_formed(intervals)
    for c in changes:
        if c.kind in ("leave", "trade_out"):
            rostered = [i for i in intervals if i.source == DutySource.ROSTER]
            assert not any(i.start < c.end and c.start < i.end for i in rostered)
        elif c.end > lo and c.start < lo + timedelta(days=14):
            assert is_on_duty(r, c.start + (c.end - c.start) / 2)
