"""Shared scheduling rules: grid, daylight saving, nurse capacity, duty windows, series day rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tenfour.core.scheduling.feasibility import (
    DutyCalendar,
    Frame,
    Occupancy,
    earliest_chain,
    latest_chain,
    max_series_length,
    next_day_allowed,
    request_options,
)
from tenfour.core.scheduling.model import (
    Clinic,
    FixedSession,
    NurseShift,
    RequestKind,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
)

ZONE = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 2)  # a Monday; US daylight saving starts on Sunday 8 March (day 6)
RULES = SchedulingPolicy()


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour, minute)).replace(tzinfo=ZONE)


def make_instance(requests=(), on_duty=None, days=7, fixed=(), nurse_shifts=(), chairs=2) -> SchedulingInstance:
    clinic = Clinic(timezone="America/Chicago", opening_hours={d: ((time(8), time(18)),) for d in range(7)},
                    chair_ids=tuple(f"c{i + 1}" for i in range(chairs)), nurses_per_day=1,
                    nurse_shifts=tuple(nurse_shifts))
    duty = {r.patient_id: () for r in requests} | (on_duty or {})
    return SchedulingInstance(clinic, local(0), days, tuple(requests), duty, tuple(fixed), RULES)


def series(rid: str = "s1", patient: str = "p1", earliest: int = 0) -> SessionRequest:
    return SessionRequest(rid, patient, RequestKind.INDUCTION, local(-5), local(earliest))


def test_a_ten_hour_day_holds_six_sessions_back_to_back_per_chair():
    frame = Frame(make_instance())
    starts = [frame.local(t).time() for t in frame.open_starts[0]]
    assert starts[0] == time(8, 0) and starts[-1] == time(16, 20)
    assert len(starts) == 26  # every 20 minutes from 08:00 to 16:20
    back_to_back = [time(8), time(9, 40), time(11, 20), time(13), time(14, 40), time(16, 20)]
    assert set(back_to_back) <= set(starts)


def test_opening_hours_follow_the_wall_clock_across_daylight_saving():
    frame = Frame(make_instance(days=8))
    assert frame.day_start[7] - frame.day_start[6] == 23 * 60  # Sunday 8 March is 23 hours long
    assert frame.moment(frame.blocks[0][0][0]) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 08:00 CST
    assert frame.moment(frame.blocks[7][0][0]) == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 08:00 CDT
    assert frame.day_of(frame.blocks[7][0][0]) == 7


def test_no_infusion_without_a_nurse_on_duty():
    # one nurse 10:00-16:00: prep may start before she arrives, the infusion may not
    shift = NurseShift("n1", local(0, 10), local(0, 16))
    frame = Frame(make_instance(days=1, nurse_shifts=[shift]))
    starts = [frame.local(t).time() for t in frame.open_starts[0]]
    assert starts[0] == time(9, 40)  # infusion 10:00-10:40
    assert starts[-1] == time(15, 0)  # infusion 15:20-16:00
    assert frame.infusion_capacity(0, *frame.infusion_of(frame.open_starts[0][0])) == 2


def test_booked_infusions_use_nurse_capacity():
    fixed = [FixedSession.at("x", "c1", local(0, 8), RULES), FixedSession.at("y", "c2", local(0, 8), RULES)]
    frame = Frame(make_instance(days=1, fixed=fixed, chairs=3))
    # one nurse, two patients each: both places are taken while the two booked patients infuse
    assert frame.infusion_capacity(0, *frame.infusion_of(frame.minutes(local(0, 8)))) == 0
    assert frame.minutes(local(0, 8)) not in frame.open_starts[0]
    assert frame.minutes(local(0, 8, 40)) in frame.open_starts[0]  # its infusion starts as theirs end


def test_duty_rules_at_their_boundaries():
    frame = Frame(make_instance(days=3))
    duty = DutyCalendar(frame, [(local(1, 9, 40), local(2, 9, 40))])
    chair = RULES.chair_min

    def conflict(moment: datetime, shift_min: int = 0) -> str | None:
        start = frame.minutes(moment) + shift_min
        return duty.conflict(start, start + chair)

    assert conflict(local(0, 8)) is None  # ends 09:40: the shift starts exactly 24 h later (allowed)
    assert conflict(local(0, 8), 1) == "no_duty_window"  # ends 09:41: the shift starts 23 h 59 min later
    assert conflict(local(1, 8)) == "no_duty_window"  # the shift starts as the session ends
    assert conflict(local(1, 8), 1) == "on_duty"  # one minute of overlap
    assert conflict(local(2, 9, 40)) is None  # starts as the shift ends


def test_series_rules_spacing_rolling_week_and_window():
    assert next_day_allowed([0], 2, RULES) and not next_day_allowed([0], 1, RULES)
    assert not next_day_allowed([0, 2, 4], 6, RULES)  # four in the 7 days 0..6
    assert next_day_allowed([0, 2, 4], 7, RULES)
    assert not next_day_allowed([0, 7, 14], 21, RULES)  # 22 calendar days from the first
    assert next_day_allowed([0, 7, 14], 20, RULES)


def test_earliest_series_is_mon_wed_fri_then_mon_wed_fri():
    every_day = list(range(28))
    assert earliest_chain(0, every_day, 6, RULES) == [0, 2, 4, 7, 9, 11]
    assert latest_chain(0, every_day, 6, RULES) == [0, 11, 13, 16, 18, 20]
    assert earliest_chain(0, [0, 2, 4, 20, 22, 24], 6, RULES) is None  # 22 and 24 are outside 21 days


def test_fridays_and_saturdays_hold_at_most_four_sessions():
    fri_sat = [4, 5, 11, 12, 18, 19, 25, 26]
    assert max_series_length(fri_sat, RULES) == 4  # Sat 5, Fri 11, Fri 18, Fri 25
    assert all(earliest_chain(f, fri_sat, 6, RULES) is None for f in fri_sat)


def _valid(chain, rules) -> bool:
    return all(next_day_allowed(chain[:k], chain[k], rules) for k in range(1, len(chain)))


@settings(max_examples=60, deadline=None)
@given(days=st.sets(st.integers(0, 24), min_size=1, max_size=12), count=st.integers(2, 6))
def test_earliest_chain_is_valid_and_componentwise_earliest(days, count):
    days = sorted(days)
    first = days[0]
    rest = [d for d in days if d > first]
    valid = [(first, *c) for c in combinations(rest, count - 1) if _valid((first, *c), RULES)]
    chain = earliest_chain(first, days, count, RULES)
    if not valid:
        assert chain is None
        return
    assert chain is not None and _valid(chain, RULES) and set(chain) <= set(days)
    assert all(all(a <= b for a, b in zip(chain, other, strict=True)) for other in valid)
    late = latest_chain(first, days, count, RULES)
    assert _valid(late, RULES)
    assert all(all(a >= b for a, b in zip(late, other, strict=True)) for other in valid)


def test_24_48_patient_can_come_only_the_day_after_each_shift():
    # shifts 07:00-07:00 every third day from day 0: the day after is free, the next day ends < 24 h before
    shifts = [(local(d, 7), local(d + 1, 7)) for d in range(0, 30, 3)]
    inst = make_instance([series()], on_duty={"p1": shifts}, days=24)
    options = request_options(Frame(inst), inst.requests[0])
    assert sorted(options.starts) == [1, 4, 7, 10, 13, 16, 19, 22]
    assert options.first_days == [1, 4, 7]  # from day 10 on, six sessions no longer fit in 24 days
    assert options.session_days[5] == [16, 19, 22]
    assert options.blocked["on_duty"] > 0 and options.blocked["no_duty_window"] > 0


def test_a_booked_session_takes_the_patients_day():
    fixed = [FixedSession.at("p1", "c1", local(1, 8), RULES)]
    inst = make_instance([SessionRequest("r", "p1", RequestKind.SINGLE, local(-1), local(0))], days=3,
                         fixed=fixed)
    options = request_options(Frame(inst), inst.requests[0])
    assert sorted(options.starts) == [0, 2]
    assert options.blocked["day_taken"] == 26


def test_best_fit_chair_keeps_a_chair_day_compact():
    frame = Frame(make_instance(days=1, chairs=3))
    occupancy = Occupancy(frame)
    at = frame.minutes
    occupancy.book("a", 0, at(local(0, 8)), "c2")
    occupancy.book("b", 0, at(local(0, 8, 20)), "c1")
    # 10:00: c1 (free since 10:00) beats c2 (free since 09:40) and the unused c3
    assert occupancy.pick_chair(0, at(local(0, 10)), at(local(0, 11, 40))) == "c1"
    assert occupancy.blocker("c", 0, at(local(0, 8, 20))) == "nurses"  # one nurse, two already infusing at 08:40
    assert occupancy.blocker("c", 0, at(local(0, 8, 40))) is None  # by 09:00 the first infusion has ended
    assert occupancy.blocker("a", 0, at(local(0, 12))) == "day_taken"
