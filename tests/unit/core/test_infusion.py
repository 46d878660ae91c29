"""core.infusion: the lifecycle (every legal and illegal move), the pre-checks at each boundary, the no-duty window
with a roster and without, and the pump's progress through pauses and rate changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from tenfour.core import infusion, rosters, vitals
from tenfour.core.errors import CoreError
from tenfour.core.infusion import Outcome, PumpAction, PumpEvent, Step

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # Wednesday 08:00 in Chicago (CST, UTC-6)
TZ = "America/Chicago"
POLICY = infusion.PrecheckPolicy(max_weight_age_days=30, fasting_required=True, fasting_hours=4,
                                 escort_required=True, no_duty_window_h=24)


# --- Lifecycle --------------------------------------------------------------------------------------------

FORWARD = [(Step.SCHEDULED, Step.ARRIVED), (Step.ARRIVED, Step.PRECHECKS_PASSED),
           (Step.PRECHECKS_PASSED, Step.INFUSING), (Step.INFUSING, Step.RECOVERY), (Step.RECOVERY, Step.DISCHARGED)]


@pytest.mark.parametrize(("current", "target"), FORWARD)
def test_each_step_moves_to_the_next(current: Step, target: Step) -> None:
    infusion.check_transition(current, target)
    assert infusion.next_step(current) is target


@pytest.mark.parametrize("current", [s for s in Step if not s.is_final])
def test_any_open_step_can_be_aborted(current: Step) -> None:
    infusion.check_transition(current, Step.ABORTED)


ILLEGAL = [(a, b) for a in Step for b in Step if not a.is_final and b is not Step.ABORTED
           and b is not infusion.next_step(a)]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_no_step_can_be_skipped_repeated_or_undone(current: Step, target: Step) -> None:
    with pytest.raises(CoreError) as error:
        infusion.check_transition(current, target)
    assert error.value.problems[0].rule == "lifecycle_order"
    assert error.value.problems[0].field == "status"


@pytest.mark.parametrize("final", [Step.DISCHARGED, Step.ABORTED])
@pytest.mark.parametrize("target", list(Step))
def test_nothing_leaves_a_final_step(final: Step, target: Step) -> None:
    with pytest.raises(CoreError) as error:
        infusion.check_transition(final, target)
    assert error.value.problems[0].rule == "session_closed"
    assert infusion.next_step(final) is None


# --- Pre-checks -------------------------------------------------------------------------------------------


def _vitals(sbp: float = 128, dbp: float = 80, hr: float = 72, spo2: float = 98) -> vitals.Evaluation:
    return vitals.evaluate(vitals.VitalsReading(sbp, dbp, hr, spo2), "pre", vitals.VitalsPolicy())


def _duty_pass() -> infusion.DutyFinding:
    return infusion.duty_check(infusion.DutyInfo(declared_no_shift_in_window=True), NOW, NOW + timedelta(minutes=40),
                               24, TZ)


def _checks(**overrides: object) -> infusion.PrecheckResult:
    values: dict[str, object] = dict(now=NOW, weight_measured_at=NOW, pre_vitals=_vitals(), fasting_hours=6.0,
                                     escort_confirmed=True, pregnancy_check_required=False, pregnancy_result=None,
                                     duty=_duty_pass(), policy=POLICY, tz=TZ)
    values.update(overrides)
    return infusion.evaluate_prechecks(**values)  # type: ignore[arg-type]


def _outcome(result: infusion.PrecheckResult, code: str) -> Outcome:
    return next(f.outcome for f in result.findings if f.code == code)


def test_all_good_passes() -> None:
    result = _checks()
    assert result.passed and not result.blocking
    assert {f.code for f in result.findings} == {"weight_recent", "pre_infusion_vitals", "fasting", "escort",
                                                  "next_duty_shift"}


@pytest.mark.parametrize(("age", "outcome"), [(timedelta(days=30), Outcome.PASS),
                                              (timedelta(days=30, seconds=1), Outcome.BLOCK)])
def test_weight_exactly_the_limit_old_still_counts(age: timedelta, outcome: Outcome) -> None:
    result = _checks(weight_measured_at=NOW - age)
    assert _outcome(result, "weight_recent") is outcome
    assert result.passed is (outcome is Outcome.PASS)


def test_a_weight_from_the_future_is_bad_input() -> None:
    with pytest.raises(CoreError) as error:
        _checks(weight_measured_at=NOW + timedelta(hours=1))
    assert error.value.problems[0].rule == "not_in_future"


@pytest.mark.parametrize(("sbp", "dbp", "outcome"), [
    (140, 90, Outcome.PASS), (141, 80, Outcome.WARN), (179, 109, Outcome.WARN),
    (180, 80, Outcome.BLOCK), (130, 110, Outcome.BLOCK)])
def test_pre_infusion_vitals_caution_warns_and_hold_blocks(sbp: int, dbp: int, outcome: Outcome) -> None:
    result = _checks(pre_vitals=_vitals(sbp, dbp))
    assert _outcome(result, "pre_infusion_vitals") is outcome


@pytest.mark.parametrize(("hours", "outcome"), [(4.0, Outcome.PASS), (3.9, Outcome.BLOCK), (None, Outcome.BLOCK)])
def test_fasting_at_the_boundary(hours: float | None, outcome: Outcome) -> None:
    assert _outcome(_checks(fasting_hours=hours), "fasting") is outcome


def test_fasting_not_checked_when_the_clinic_does_not_require_it() -> None:
    policy = infusion.PrecheckPolicy(30, False, 4, True, 24)
    result = _checks(fasting_hours=None, policy=policy)
    assert "fasting" not in {f.code for f in result.findings} and result.passed


def test_escort_must_be_confirmed() -> None:
    result = _checks(escort_confirmed=False)
    assert _outcome(result, "escort") is Outcome.BLOCK
    assert next(f for f in result.findings if f.code == "escort").rule == "discharge.escort_required"


@pytest.mark.parametrize(("result_value", "outcome", "rule"), [
    (None, Outcome.BLOCK, "plan.pregnancy_check_required"), ("positive", Outcome.BLOCK, "contraindication.pregnant"),
    ("negative", Outcome.PASS, "plan.pregnancy_check_required")])
def test_pregnancy_test_when_the_plan_requires_it(result_value: str | None, outcome: Outcome, rule: str) -> None:
    result = _checks(pregnancy_check_required=True, pregnancy_result=result_value)
    finding = next(f for f in result.findings if f.code == "pregnancy_test")
    assert (finding.outcome, finding.rule) == (outcome, rule)


def test_impossible_fasting_time_is_bad_input() -> None:
    with pytest.raises(CoreError) as error:
        _checks(fasting_hours=-1.0)
    assert error.value.problems[0].field == "fasting_hours"


# --- The next duty shift ----------------------------------------------------------------------------------

# A firefighter on 24/48, platoon A, shifts at 07:00 Chicago; anchor Monday 2 March 2026 -> on duty Mon 2, Thu 5, ...
ROSTER = rosters.Roster(pattern="24/48", anchor_date=date(2026, 3, 2), shift_start=time(7, 0), timezone=TZ)


def test_roster_shift_inside_the_window_blocks_and_names_it() -> None:
    # Infusion 08:20-09:00 Wednesday; the next shift starts Thursday 07:00 (22 h later): inside 24 h.
    start = NOW + timedelta(minutes=20)
    duty = infusion.duty_check(infusion.DutyInfo(roster=ROSTER), start, start + timedelta(minutes=40), 24, TZ)
    assert duty.finding.outcome is Outcome.BLOCK and duty.source == "roster"
    assert duty.finding.rule == "duty.no_duty_window_h"
    assert duty.next_shift_at == datetime(2026, 3, 5, 13, 0, tzinfo=UTC)
    assert "Thu 05 Mar 2026 07:00" in duty.finding.message


def test_roster_shift_exactly_at_the_end_of_the_window_is_allowed() -> None:
    end = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)  # 07:00 Wednesday; the shift is 07:00 Thursday
    duty = infusion.duty_check(infusion.DutyInfo(roster=ROSTER), end - timedelta(minutes=40), end, 24, TZ)
    assert duty.finding.outcome is Outcome.PASS
    one_minute_later = infusion.duty_check(infusion.DutyInfo(roster=ROSTER), end - timedelta(minutes=39),
                                           end + timedelta(minutes=1), 24, TZ)
    assert one_minute_later.finding.outcome is Outcome.BLOCK


def test_without_a_roster_the_nurse_must_ask() -> None:
    duty = infusion.duty_check(infusion.DutyInfo(), NOW, NOW + timedelta(minutes=40), 24, TZ)
    assert duty.finding.outcome is Outcome.BLOCK and duty.finding.rule == "next_shift_required"
    assert duty.source == "unknown"


@pytest.mark.parametrize(("hours_after_end", "outcome"), [(24, Outcome.PASS), (23.99, Outcome.BLOCK),
                                                          (48, Outcome.PASS), (-1, Outcome.BLOCK)])
def test_declared_shift_against_the_window(hours_after_end: float, outcome: Outcome) -> None:
    end = NOW + timedelta(minutes=40)
    shift = end + timedelta(hours=hours_after_end)
    duty = infusion.duty_check(infusion.DutyInfo(declared_next_shift_at=shift), NOW, end, 24, TZ)
    assert duty.finding.outcome is outcome and duty.next_shift_at == shift and duty.source == "asked"
    assert duty.earliest_duty_at == end + timedelta(hours=24)


def test_only_a_duty_block_can_be_overridden() -> None:
    blocked_duty = infusion.duty_check(infusion.DutyInfo(), NOW, NOW + timedelta(minutes=40), 24, TZ)
    only_duty = _checks(duty=blocked_duty)
    assert not only_duty.passed and only_duty.passed_with_duty_override()
    both = _checks(duty=blocked_duty, escort_confirmed=False)
    assert not both.passed_with_duty_override()


# --- The pump ---------------------------------------------------------------------------------------------


def _at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_progress_at_a_steady_rate() -> None:
    # 40 mL at 60 mL/h: 20 mL after 20 min, 20 min left.
    state = infusion.progress([PumpEvent(_at(0), PumpAction.START, Decimal(60))], Decimal(40), _at(20))
    assert (state.infused_ml, state.remaining_ml, state.minutes_remaining) == (Decimal("20.00"), Decimal("20.00"), 20)
    assert state.running and not state.paused and state.expected_end == _at(40)


def test_a_pause_stops_the_clock_and_a_lower_rate_stretches_it() -> None:
    events = [PumpEvent(_at(0), PumpAction.START, Decimal(60)), PumpEvent(_at(10), PumpAction.PAUSE),
              PumpEvent(_at(15), PumpAction.RESUME), PumpEvent(_at(20), PumpAction.RATE, Decimal(30))]
    paused = infusion.progress(events, Decimal(40), _at(12))
    assert paused.paused and paused.minutes_remaining is None and paused.infused_ml == Decimal("10.00")
    later = infusion.progress(events, Decimal(40), _at(30))
    # 10 mL (0-10) + 5 mL (15-20 at 60) + 5 mL (20-30 at 30) = 20 mL; 20 mL left at 30 mL/h = 40 min.
    assert later.infused_ml == Decimal("20.00") and later.minutes_remaining == 40
    assert later.paused_minutes == 5 and later.running_minutes == 25


def test_a_stopped_pump_counts_nothing_more() -> None:
    events = [PumpEvent(_at(0), PumpAction.START, Decimal(60)), PumpEvent(_at(10), PumpAction.STOP)]
    state = infusion.progress(events, Decimal(40), _at(50))
    assert state.stopped and state.infused_ml == Decimal("10.00") and state.minutes_remaining is None


def test_overrun_is_capped_and_warned() -> None:
    state = infusion.progress([PumpEvent(_at(0), PumpAction.START, Decimal(60))], Decimal(40), _at(45))
    assert state.infused_ml == Decimal("40.00") and state.remaining_ml == 0 and state.warnings


def test_impossible_pump_sequences_are_refused() -> None:
    with pytest.raises(CoreError):
        infusion.progress([PumpEvent(_at(0), PumpAction.PAUSE)], Decimal(40), _at(1))
    with pytest.raises(CoreError):
        infusion.progress([PumpEvent(_at(0), PumpAction.START, Decimal(-5))], Decimal(40), _at(1))
