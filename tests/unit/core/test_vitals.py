"""Vitals thresholds at every boundary, impossible values, timing, discharge and return to duty."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenfour.core import policy
from tenfour.core.errors import CoreError
from tenfour.core.vitals import (
    Level,
    Phase,
    VitalsPolicy,
    VitalsReading,
    discharge_readiness,
    evaluate,
    return_to_duty_at,
    vitals_due,
)

DEFAULT = VitalsPolicy()
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def reading(sbp=120, dbp=80, hr=80, spo2=98, **kw) -> VitalsReading:
    return VitalsReading(sbp, dbp, hr, spo2, **kw)


def level(phase, **kw) -> Level:
    return evaluate(reading(**kw), phase, DEFAULT).level


def problems(error: pytest.ExceptionInfo[CoreError]) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in error.value.problems}


# --- levels and policy ------------------------------------------------------------------------------


def test_levels_are_ordered():
    assert Level.OK < Level.CAUTION < Level.NOTIFY < Level.HOLD < Level.STOP
    assert max([Level.NOTIFY, Level.STOP, Level.OK]) is Level.STOP
    assert Level.HOLD >= Level.HOLD and not Level.HOLD > Level.HOLD


def test_policy_defaults_and_overrides():
    sbp_lines = (DEFAULT.pre_caution_sbp, DEFAULT.pre_hold_sbp, DEFAULT.notify_sbp, DEFAULT.stop_sbp)
    assert sbp_lines == (140, 180, 180, 200)
    assert (DEFAULT.notify_hr, DEFAULT.notify_spo2, DEFAULT.stop_spo2) == (130, 92, 88)
    assert (DEFAULT.interval_infusing_min, DEFAULT.interval_recovery_min) == (10, 15)
    assert (DEFAULT.min_observation_min, DEFAULT.escort_required, DEFAULT.no_duty_window_h) == (40, True, 24)
    built = VitalsPolicy.from_policy(policy.resolve({"vitals.notify_sbp": 170, "duty.no_duty_window_h": 36}))
    assert built.notify_sbp == 170 and built.no_duty_window_h == 36
    assert VitalsPolicy.from_policy(policy.resolve({})) == DEFAULT
    assert evaluate(reading(sbp=175), "infusing", built).level is Level.NOTIFY


def test_normal_reading_is_ok_in_every_phase():
    for phase in Phase:
        result = evaluate(reading(), phase, DEFAULT)
        assert result.level is Level.OK
        assert result.reasons == []


# --- pre-infusion --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sbp", "expected"), [(139, Level.OK), (140, Level.OK), (141, Level.CAUTION),
                                               (179, Level.CAUTION), (180, Level.HOLD), (230, Level.HOLD)])
def test_pre_systolic_boundaries(sbp, expected):
    assert level("pre", sbp=sbp, dbp=70) is expected


@pytest.mark.parametrize(("dbp", "expected"), [(89, Level.OK), (90, Level.OK), (91, Level.CAUTION),
                                               (109, Level.CAUTION), (110, Level.HOLD)])
def test_pre_diastolic_boundaries(dbp, expected):
    assert level("pre", sbp=135, dbp=dbp) is expected


def test_pre_hold_reason_names_measurement_value_threshold_and_rule():
    result = evaluate(reading(sbp=180, dbp=95), "pre", DEFAULT)
    assert result.level is Level.HOLD
    by_measure = {r.measurement: r for r in result.reasons}
    sbp = by_measure["systolic_bp"]
    assert (sbp.value, sbp.comparison, sbp.threshold, sbp.rule, sbp.level) == (
        180, ">=", 180, "vitals.pre_hold_sbp", Level.HOLD)
    assert "180" in sbp.message and "vitals.pre_hold_sbp" in sbp.message and "Systolic" in sbp.message
    dbp = by_measure["diastolic_bp"]
    assert (dbp.value, dbp.threshold, dbp.rule, dbp.level) == (
        95, 90, "vitals.pre_caution_dbp", Level.CAUTION)
    assert result.reasons[0] is sbp  # most severe first


def test_pre_heart_rate_and_spo2_past_the_infusion_lines_hold_the_start():
    assert level("pre", hr=130) is Level.OK
    assert level("pre", hr=131) is Level.HOLD
    assert level("pre", spo2=92) is Level.OK
    assert level("pre", spo2=91) is Level.HOLD
    assert level("pre", spo2=85) is Level.HOLD
    assert "product choice" in evaluate(reading(hr=131), "pre", DEFAULT).reasons[0].message


# --- during infusion and recovery ---------------------------------------------------------------------------

TIMED = ["infusing", "recovery"]


@pytest.mark.parametrize("phase", TIMED)
@pytest.mark.parametrize(("sbp", "expected"), [(141, Level.OK), (179, Level.OK), (180, Level.NOTIFY),
                                               (199, Level.NOTIFY), (200, Level.STOP)])
def test_systolic_boundaries(phase, sbp, expected):
    assert level(phase, sbp=sbp, dbp=80) is expected


@pytest.mark.parametrize("phase", TIMED)
@pytest.mark.parametrize(("dbp", "expected"), [(91, Level.OK), (109, Level.OK), (110, Level.NOTIFY),
                                               (119, Level.NOTIFY), (120, Level.STOP)])
def test_diastolic_boundaries(phase, dbp, expected):
    assert level(phase, sbp=170, dbp=dbp) is expected


@pytest.mark.parametrize("phase", TIMED)
@pytest.mark.parametrize(("hr", "expected"), [(130, Level.OK), (131, Level.NOTIFY), (200, Level.NOTIFY)])
def test_heart_rate_boundaries(phase, hr, expected):
    assert level(phase, hr=hr) is expected


@pytest.mark.parametrize("phase", TIMED)
@pytest.mark.parametrize(("spo2", "expected"), [(92, Level.OK), (91, Level.NOTIFY), (88, Level.NOTIFY),
                                                (87, Level.STOP), (91.5, Level.NOTIFY)])
def test_spo2_boundaries(phase, spo2, expected):
    assert level(phase, spo2=spo2) is expected


def test_each_measurement_gives_its_most_severe_reason_only():
    result = evaluate(reading(sbp=205, dbp=100, hr=135, spo2=90), "infusing", DEFAULT)
    assert result.level is Level.STOP
    assert [(r.measurement, r.rule, r.level) for r in result.reasons] == [
        ("systolic_bp", "vitals.stop_sbp", Level.STOP),
        ("heart_rate", "vitals.notify_hr", Level.NOTIFY),
        ("spo2", "vitals.notify_spo2", Level.NOTIFY),
    ]
    for reason in result.reasons:
        assert reason.rule in reason.message and f"{reason.threshold:g}" in reason.message


def test_recovery_uses_the_infusion_lines():
    for kw in ({"sbp": 180}, {"dbp": 120, "sbp": 170}, {"hr": 131}, {"spo2": 87}):
        assert level("recovery", **kw) is level("infusing", **kw)
    assert "in recovery" in evaluate(reading(sbp=185), "recovery", DEFAULT).reasons[0].message


# --- sedation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sedation", "infusing", "pre"), [
    ("alert", Level.OK, Level.OK), ("drowsy", Level.OK, Level.OK), ("responds_to_voice", Level.OK, Level.OK),
    ("responds_to_touch", Level.NOTIFY, Level.HOLD), ("unresponsive", Level.STOP, Level.HOLD)])
def test_sedation_levels(sedation, infusing, pre):
    assert level("infusing", sedation=sedation) is infusing
    assert level("recovery", sedation=sedation) is infusing
    assert level("pre", sedation=sedation) is pre


def test_sedation_reason_is_labelled_product_choice():
    reason = evaluate(reading(sedation="unresponsive"), "infusing", DEFAULT).reasons[0]
    assert (reason.measurement, reason.rule, reason.level) == (
        "sedation", "sedation.unresponsive", Level.STOP)
    assert "product choice" in reason.message


def test_respiratory_rate_is_checked_for_plausibility_only():
    assert level("infusing", respiratory_rate=8) is Level.OK
    with pytest.raises(CoreError) as error:
        evaluate(reading(respiratory_rate=3), "infusing", DEFAULT)
    assert problems(error) == {("respiratory_rate", "plausible_range")}


# --- impossible values ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kw", "field"), [
    ({"sbp": 39}, "systolic_bp"), ({"sbp": 301}, "systolic_bp"), ({"sbp": 20, "dbp": 10}, "systolic_bp"),
    ({"dbp": 19}, "diastolic_bp"), ({"sbp": 250, "dbp": 201}, "diastolic_bp"),
    ({"hr": 19}, "heart_rate"), ({"hr": 251}, "heart_rate"),
    ({"spo2": 49}, "spo2"), ({"spo2": 101}, "spo2"), ({"spo2": 140}, "spo2"),
    ({"respiratory_rate": 61}, "respiratory_rate")])
def test_impossible_values_are_rejected_not_evaluated(kw, field):
    with pytest.raises(CoreError) as error:
        evaluate(reading(**kw), "infusing", DEFAULT)
    assert (field, "plausible_range") in problems(error)


@pytest.mark.parametrize(("kw", "expected"), [
    ({"sbp": 40, "dbp": 20}, Level.OK), ({"sbp": 300, "dbp": 200}, Level.STOP), ({"hr": 20}, Level.OK),
    ({"hr": 250}, Level.NOTIFY), ({"spo2": 50}, Level.STOP), ({"spo2": 100}, Level.OK),
    ({"respiratory_rate": 4}, Level.OK), ({"respiratory_rate": 60}, Level.OK)])
def test_plausibility_limits_are_inclusive(kw, expected):
    assert evaluate(reading(**kw), "infusing", DEFAULT).level is expected


def test_diastolic_must_be_below_systolic():
    with pytest.raises(CoreError) as error:
        evaluate(reading(sbp=100, dbp=100), "pre", DEFAULT)
    assert problems(error) == {("diastolic_bp", "diastolic_below_systolic")}


def test_all_problems_are_listed_together():
    with pytest.raises(CoreError) as error:
        evaluate(VitalsReading(20, 300, 0, 140, sedation="sleepy"), "during", DEFAULT)
    assert problems(error) == {("phase", "known_choice"), ("systolic_bp", "plausible_range"),
                               ("diastolic_bp", "plausible_range"), ("heart_rate", "plausible_range"),
                               ("spo2", "plausible_range"), ("sedation", "known_choice")}


@pytest.mark.parametrize("bad", [None, True, "120", float("nan")])
def test_non_numbers_are_rejected(bad):
    with pytest.raises(CoreError) as error:
        evaluate(reading(sbp=bad), "infusing", DEFAULT)
    assert problems(error) == {("systolic_bp", "number")}


@given(st.integers(41, 300), st.integers(20, 200), st.integers(20, 250), st.integers(50, 100),
       st.sampled_from(list(Phase)))
def test_level_is_the_most_severe_reason(sbp, dbp, hr, spo2, phase):
    if dbp >= sbp:
        return
    result = evaluate(reading(sbp, dbp, hr, spo2), phase, DEFAULT)
    assert result.level is max((r.level for r in result.reasons), default=Level.OK)
    assert len({r.measurement for r in result.reasons}) == len(result.reasons)
    if phase is not Phase.PRE:
        assert (result.level is Level.STOP) == (sbp >= 200 or dbp >= 120 or spo2 < 88)


# --- vitals due ------------------------------------------------------------------------------------


def test_first_reading_of_infusion_due_one_interval_after_start():
    due = vitals_due("infusing", T0, None, T0 + timedelta(minutes=5), DEFAULT)
    assert (due.next_due_at, due.overdue, due.minutes_overdue) == (T0 + timedelta(minutes=10), False, 0)


def test_exactly_due_is_not_overdue_and_later_is():
    at_due = vitals_due("infusing", T0, None, T0 + timedelta(minutes=10), DEFAULT)
    assert not at_due.overdue and at_due.minutes_overdue == 0
    late = vitals_due("infusing", T0, None, T0 + timedelta(minutes=13, seconds=30), DEFAULT)
    assert late.overdue and late.minutes_overdue == 3
    just_late = vitals_due("infusing", T0, None, T0 + timedelta(minutes=10, seconds=1), DEFAULT)
    assert just_late.overdue and just_late.minutes_overdue == 0


def test_next_due_follows_the_last_reading():
    due = vitals_due("infusing", T0, T0 + timedelta(minutes=12), T0 + timedelta(minutes=15), DEFAULT)
    assert due.next_due_at == T0 + timedelta(minutes=22)


def test_recovery_interval_and_clock_restarts_at_phase_start():
    recovery_start = T0 + timedelta(minutes=40)
    # last reading during the infusion (10:35) does not count for recovery: due 10:40 + 15 = 10:55
    due = vitals_due("recovery", recovery_start, T0 + timedelta(minutes=35), recovery_start, DEFAULT)
    assert due.next_due_at == T0 + timedelta(minutes=55)
    last, now = T0 + timedelta(minutes=50), T0 + timedelta(minutes=70)
    due = vitals_due("recovery", recovery_start, last, now, DEFAULT)
    assert (due.next_due_at, due.overdue, due.minutes_overdue) == (T0 + timedelta(minutes=65), True, 5)


def test_due_time_is_in_the_clinic_time_zone():
    eastern = ZoneInfo("America/New_York")
    now = T0.astimezone(eastern) + timedelta(minutes=1)
    due = vitals_due("infusing", T0, None, now, DEFAULT)
    assert due.next_due_at.tzinfo == eastern
    assert due.next_due_at == T0 + timedelta(minutes=10)


def test_due_counts_real_minutes_across_daylight_saving():
    eastern = ZoneInfo("America/New_York")
    started = datetime(2026, 3, 8, 1, 55, tzinfo=eastern)  # EST; clocks jump 02:00 -> 03:00
    now = datetime(2026, 3, 8, 3, 10, tzinfo=eastern)  # EDT: 15 real minutes later
    due = vitals_due("infusing", started, None, now, DEFAULT)
    assert due.next_due_at == datetime(2026, 3, 8, 3, 5, tzinfo=eastern)
    assert (due.overdue, due.minutes_overdue) == (True, 5)


def test_due_refuses_pre_phase_future_and_naive_times():
    with pytest.raises(CoreError) as error:
        vitals_due("pre", T0, None, T0, DEFAULT)
    assert problems(error) == {("phase", "timed_phase")}
    with pytest.raises(CoreError) as error:
        vitals_due("infusing", T0, T0 + timedelta(minutes=5), T0, DEFAULT)
    assert problems(error) == {("last_reading_at", "not_in_future")}
    with pytest.raises(CoreError) as error:
        vitals_due("infusing", T0 + timedelta(minutes=1), None, T0, DEFAULT)
    assert problems(error) == {("phase_started_at", "not_in_future")}
    with pytest.raises(CoreError) as error:
        vitals_due("infusing", datetime(2026, 5, 4, 10, 0), None, T0, DEFAULT)
    assert problems(error) == {("phase_started_at", "timezone_aware")}


# --- discharge ---------------------------------------------------------------------------------------

ENDED = T0 + timedelta(minutes=40)


def ready(now=ENDED + timedelta(minutes=40), last=None, alert=True, escort=True, vitals_policy=DEFAULT):
    last = reading(taken_at=ENDED + timedelta(minutes=35)) if last is None else last
    return discharge_readiness(ENDED, now, last, alert, escort, vitals_policy)


def codes(readiness) -> list[str]:
    return [c.code for c in readiness.unmet]


def test_discharge_ready_when_every_criterion_is_met():
    result = ready()
    assert result.ready is True and result.unmet == []
    assert result.observation_ends_at == ENDED + timedelta(minutes=40)


def test_discharge_observation_time_boundary():
    result = ready(now=ENDED + timedelta(minutes=39))
    assert not result.ready and codes(result) == ["observation_time"]
    assert result.unmet[0].rule == "discharge.min_observation_min"
    assert "1 min to go" in result.unmet[0].message
    assert ready(now=ENDED + timedelta(minutes=40)).ready


def test_discharge_needs_vitals():
    result = discharge_readiness(ENDED, ENDED + timedelta(minutes=45), None, True, True, DEFAULT)
    assert codes(result) == ["vitals_recorded"]


def test_discharge_needs_vitals_back_under_notify_lines():
    assert ready(last=reading(sbp=179)).ready
    for bad in (reading(sbp=180), reading(dbp=110, sbp=150), reading(hr=131), reading(spo2=91),
                reading(sedation="responds_to_touch")):
        result = ready(last=bad)
        assert codes(result) == ["vitals_under_notify_lines"]
        assert result.unmet[0].rule == "discharge.vitals_under_notify_lines"


def test_discharge_needs_vitals_taken_after_the_infusion_ended():
    result = ready(last=reading(taken_at=ENDED - timedelta(minutes=1)))
    assert codes(result) == ["vitals_after_infusion"]


def test_discharge_needs_alert_and_oriented():
    assert codes(ready(alert=False)) == ["alert_and_oriented"]


def test_discharge_needs_escort_unless_policy_waives_it():
    result = ready(escort=False)
    assert codes(result) == ["escort_present"]
    assert result.unmet[0].rule == "discharge.escort_required"
    assert ready(escort=False, vitals_policy=VitalsPolicy(escort_required=False)).ready


def test_discharge_lists_every_unmet_criterion():
    result = ready(now=ENDED + timedelta(minutes=10), last=reading(sbp=200), alert=False, escort=False)
    assert codes(result) == ["observation_time", "vitals_under_notify_lines", "alert_and_oriented",
                             "escort_present"]


def test_discharge_rejects_impossible_vitals_and_future_end():
    with pytest.raises(CoreError):
        ready(last=reading(spo2=140))
    with pytest.raises(CoreError) as error:
        discharge_readiness(ENDED, ENDED - timedelta(minutes=1), reading(), True, True, DEFAULT)
    assert problems(error) == {("infusion_ended_at", "not_in_future")}


# --- return to duty ---------------------------------------------------------------------------------


def test_return_to_duty_is_24_hours_after_infusion_end():
    assert return_to_duty_at(ENDED, DEFAULT) == ENDED + timedelta(hours=24)
    assert return_to_duty_at(ENDED, VitalsPolicy(no_duty_window_h=48)) == ENDED + timedelta(hours=48)


def test_return_to_duty_counts_real_hours_across_daylight_saving():
    eastern = ZoneInfo("America/New_York")
    # DST starts 2026-03-08 02:00 EST: 24 real hours after 20:00 EST on the 7th is 21:00 EDT on the 8th
    ended = datetime(2026, 3, 7, 20, 0, tzinfo=eastern)
    back = return_to_duty_at(ended, DEFAULT)
    assert back.tzinfo == eastern
    assert (back.day, back.hour, back.minute) == (8, 21, 0)
    assert back.astimezone(UTC) - ended.astimezone(UTC) == timedelta(hours=24)


def test_return_to_duty_refuses_naive_time():
    with pytest.raises(CoreError) as error:
        return_to_duty_at(datetime(2026, 3, 7, 20, 0), DEFAULT)
    assert problems(error) == {("infusion_ended_at", "timezone_aware")}
