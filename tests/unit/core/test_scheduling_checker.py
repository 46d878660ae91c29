"""The independent checker: a valid hand-built schedule passes, and each rule is caught on a schedule broken
on purpose (one test per rule)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenfour.core.scheduling.checker import RULES, check_schedule
from tenfour.core.scheduling.model import (
    Clinic,
    FixedSession,
    PlacedSession,
    RequestKind,
    Schedule,
    SchedulingInstance,
    SchedulingPolicy,
    SessionRequest,
    UnplacedReason,
    UnplacedRequest,
)

ZONE = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 2)
POLICY = SchedulingPolicy()


def local(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(DAY0 + timedelta(days=day), time(hour, minute)).replace(tzinfo=ZONE)


def session(rid: str, patient: str, index: int, chair: str, day: int, hour: int, minute: int = 0) -> PlacedSession:
    start = local(day, hour, minute)
    infusion = start + timedelta(minutes=POLICY.prep_min)
    return PlacedSession(rid, patient, index, chair, start, start + timedelta(minutes=POLICY.chair_min), infusion,
                         infusion + timedelta(minutes=POLICY.infusion_min))


CLINIC = Clinic(timezone="America/Chicago", opening_hours={d: ((time(8), time(18)),) for d in range(7)},
                chair_ids=("c1", "c2", "c3"), nurses_per_day=1, closures=frozenset({DAY0 + timedelta(days=10)}))
INSTANCE = SchedulingInstance(
    clinic=CLINIC, start=local(0), days=28,
    requests=(
        SessionRequest("s1", "p1", RequestKind.INDUCTION, local(-2), local(0)),
        SessionRequest("b1", "p2", RequestKind.BOOSTER, local(-9), local(0), latest_end=local(5)),
        SessionRequest("r1", "p3", RequestKind.SINGLE, local(-1), local(0, 12)),
        SessionRequest("r2", "p1", RequestKind.SINGLE, local(-1), local(8)),
    ),
    on_duty={"p1": (), "p2": ((local(3, 8), local(4, 8)),), "p3": ()},
    fixed_sessions=(FixedSession.at("x", "c3", local(1, 8), POLICY, booking_id="booked"),),
    policy=POLICY,
)
SERIES = [session("s1", "p1", k, "c1", day, 8) for k, day in enumerate((0, 2, 4, 7, 9, 11))]
VALID = [*SERIES, session("b1", "p2", 0, "c2", 1, 8), session("r1", "p3", 0, "c2", 0, 12),
         session("r2", "p1", 0, "c1", 14, 8)]


def schedule(sessions, unplaced=()) -> Schedule:
    return Schedule("hand", "test", tuple(sessions), tuple(unplaced))


def swap(label: str, new: PlacedSession) -> list[PlacedSession]:
    """The valid schedule with the session ``request#index`` replaced."""
    rid, index = label.split("#")
    return [new if (s.request_id, s.session_index) == (rid, int(index)) else s for s in VALID]


def without(label: str) -> list[PlacedSession]:
    rid, index = label.split("#")
    return [s for s in VALID if (s.request_id, s.session_index) != (rid, int(index))]


BROKEN = {
    "session_shape": lambda: schedule(swap("s1#0", replace(SERIES[0], end=SERIES[0].end + timedelta(minutes=10)))),
    "unknown_chair": lambda: schedule(swap("s1#0", replace(SERIES[0], chair_id="c9"))),
    "unknown_request": lambda: schedule([*VALID, session("ghost", "p9", 0, "c3", 20, 8)]),
    "patient_mismatch": lambda: schedule(swap("r1#0", session("r1", "p9", 0, "c2", 0, 12))),
    "request_accounting": lambda: schedule(without("r1#0")),
    "horizon": lambda: schedule(swap("r2#0", session("r2", "p1", 0, "c1", 28, 8))),
    "closure": lambda: schedule(swap("r2#0", session("r2", "p1", 0, "c1", 10, 8))),
    "opening_hours": lambda: schedule(swap("r1#0", session("r1", "p3", 0, "c2", 0, 17))),
    "chair_overlap": lambda: schedule(swap("r1#0", session("r1", "p3", 0, "c1", 2, 8, 40))),
    "fixed_session": lambda: schedule(swap("b1#0", session("b1", "p2", 0, "c3", 1, 9))),
    "nurse_limit": lambda: schedule(swap("r1#0", session("r1", "p3", 0, "c1", 1, 8))),
    "on_duty": lambda: schedule(swap("b1#0", session("b1", "p2", 0, "c2", 3, 10))),
    "no_duty_window": lambda: schedule(swap("b1#0", session("b1", "p2", 0, "c2", 2, 8))),
    "one_session_per_day": lambda: schedule(swap("r2#0", session("r2", "p1", 0, "c2", 9, 12))),
    "earliest_start": lambda: schedule(swap("r1#0", session("r1", "p3", 0, "c2", 0, 8))),
    "latest_end": lambda: schedule(swap("b1#0", session("b1", "p2", 0, "c2", 5, 8))),
    "series_count": lambda: schedule(without("s1#5")),
    "series_spacing": lambda: schedule(swap("s1#1", session("s1", "p1", 1, "c1", 1, 12))),
    "series_per_week": lambda: schedule(swap("s1#3", session("s1", "p1", 3, "c1", 6, 8))),
    "series_window": lambda: schedule(swap("s1#5", session("s1", "p1", 5, "c1", 21, 8))),
}


def test_the_hand_built_schedule_is_valid():
    assert check_schedule(INSTANCE, schedule(VALID)) == []


def test_every_rule_has_a_broken_schedule_below():
    assert set(BROKEN) == set(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_checker_catches(rule):
    violations = check_schedule(INSTANCE, BROKEN[rule]())
    assert {v.rule for v in violations} == {rule}, violations
    assert all(v.message for v in violations)


def test_placed_and_listed_unplaced_is_an_accounting_error():
    unplaced = UnplacedRequest("r1", "p3", UnplacedReason.NO_CAPACITY, "no chair")
    violations = check_schedule(INSTANCE, schedule(VALID, [unplaced]))
    assert [(v.rule, v.request_id) for v in violations] == [("request_accounting", "r1")]


def test_an_explained_unplaced_request_is_fine():
    unplaced = UnplacedRequest("r1", "p3", UnplacedReason.NO_CAPACITY, "no chair")
    assert check_schedule(INSTANCE, schedule(without("r1#0"), [unplaced])) == []
