"""Relapse early warning: hand-built scenarios, every boundary, and properties of evaluate().

Baseline PCL-5 50 throughout unless said: the response limit at 30% is 35 (50 x 0.7).
Course: Mon 2025-03-03 to Fri 2025-03-14 (six infusions, Mon/Wed/Fri).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenfour.core import policy as clinic_policy
from tenfour.core.errors import CoreError
from tenfour.core.relapse import (
    CSSRS_RISK_LEVELS,
    RULE_STATE,
    SEVERITY_ORDER,
    CheckIn,
    PatientHistory,
    RelapsePolicy,
    RelapseState,
    Rule,
    evaluate,
    loss_of_response_date,
    response_limit_pcl5,
    slope_points_per_week,
)

D = dt.date
START = D(2025, 3, 3)
END = D(2025, 3, 14)
POLICY = RelapsePolicy()


def history(scores: list[tuple[dt.date, int | None]], *, as_of: dt.date | None = None, baseline: int = 50,
            course_end: dt.date | None = END, next_due: dt.date | None = None,
            last: dict | None = None) -> PatientHistory:
    """A history from (date, PCL-5) pairs; ``last`` sets extra fields on the latest check-in."""
    checkins = [CheckIn(day, score) for day, score in scores]
    if last:
        checkins[-1] = replace(checkins[-1], **last)
    return PatientHistory(baseline_pcl5=baseline, course_start=START, course_end=course_end,
                          as_of=as_of or max(day for day, _ in scores), checkins=checkins, next_due=next_due)


def rules(assessment) -> set[Rule]:
    return {reason.rule for reason in assessment.reasons}


# A responder who stays well: responds during the course, stays near the best score.
STAYS_WELL = [
    (D(2025, 3, 4), 42), (D(2025, 3, 6), 36), (D(2025, 3, 8), 33), (D(2025, 3, 11), 30),
    (D(2025, 3, 13), 29), (D(2025, 3, 15), 27), (D(2025, 3, 21), 28), (D(2025, 3, 28), 26),
    (D(2025, 4, 4), 27),
]


# --- Scenarios ------------------------------------------------------------------------------------


def test_responder_who_stays_well_is_stable():
    result = evaluate(history(STAYS_WELL, next_due=D(2025, 4, 11)), POLICY)
    assert result.state == RelapseState.STABLE
    assert rules(result) == {Rule.STABLE}
    assert result.responded is True
    assert (result.best_pcl5, result.latest_pcl5, result.baseline_pcl5) == (26, 27, 50)
    assert result.slope_points_per_week == pytest.approx(-0.5)  # 28, 26, 27 a week apart
    assert result.reasons[0].message == ("No warning rule holds: latest PCL-5 27 on 2025-04-04, best 26, "
                                         "baseline 50; responded")


EARLY_RELAPSE = [
    (D(2025, 3, 8), 40), (D(2025, 3, 15), 30), (D(2025, 3, 21), 27), (D(2025, 3, 28), 33),
    (D(2025, 4, 4), 36), (D(2025, 4, 11), 36),
]


def test_early_relapse_is_act_at_the_second_non_responding_checkin():
    result = evaluate(history(EARLY_RELAPSE), POLICY)
    assert result.state == RelapseState.ACT
    # 36 - 27 = 9 < 10 (no reliable worsening); trend of 33, 36, 36 weekly = 1.5/week (< 2).
    assert rules(result) == {Rule.ACT_LOSS_OF_RESPONSE}
    assert result.reasons[0].message == (
        "Loss of response: the last 2 PCL-5 scores (36 on 2025-04-04, 36 on 2025-04-11) no longer meet the "
        "response rule (35 or below, 30% below baseline 50); first responded with 30 on 2025-03-15")
    assert loss_of_response_date(history(EARLY_RELAPSE), POLICY) == D(2025, 4, 11)


def test_one_non_responding_checkin_after_response_is_not_yet_act():
    result = evaluate(history(EARLY_RELAPSE[:-1]), POLICY)  # last: 27, 33, 36
    assert result.state == RelapseState.WATCH
    assert rules(result) == {Rule.WATCH_RISING_TREND}  # (36 - 27) / 2 weeks = 4.5/week
    assert result.slope_points_per_week == pytest.approx(4.5)


def test_fast_relapse_holds_act_worsening_and_trend_together():
    scores = [(D(2025, 3, 15), 30), (D(2025, 3, 21), 27), (D(2025, 3, 28), 38), (D(2025, 4, 4), 41)]
    result = evaluate(history(scores), POLICY)
    assert result.state == RelapseState.ACT
    # listed most severe first, every rule that holds
    assert [r.rule for r in result.reasons] == [
        Rule.ACT_LOSS_OF_RESPONSE, Rule.WATCH_RELIABLE_WORSENING, Rule.WATCH_RISING_TREND]
    worsening = result.reasons[1].message
    assert worsening == ("PCL-5 41 on 2025-04-04 is 14 points above the best score 27 of 2025-03-21 "
                         "(reliable change 10)")


def test_slow_drift_is_caught_only_by_the_trend_rule_at_exactly_2_points_a_week():
    # Still responding (<= 35), 6 points above best (< 10): only the trend of 27, 29, 31 weekly = 2.0.
    scores = [(D(2025, 3, 15), 25), (D(2025, 3, 22), 27), (D(2025, 3, 29), 29), (D(2025, 4, 5), 31)]
    result = evaluate(history(scores), POLICY)
    assert result.state == RelapseState.WATCH
    assert rules(result) == {Rule.WATCH_RISING_TREND}
    assert result.slope_points_per_week == 2.0
    assert result.reasons[0].message == (
        "PCL-5 rising 2.0 points/week over the last 3 scores "
        "(27 on 2025-03-22, 29 on 2025-03-29, 31 on 2025-04-05); watch at 2.0")


def test_trend_just_below_2_points_a_week_is_stable():
    # The drift above with its last check-in one day later: 27, 29, 31 at days 0, 7, 15.
    scores = [(D(2025, 3, 15), 25), (D(2025, 3, 22), 27), (D(2025, 3, 29), 29), (D(2025, 4, 6), 31)]
    result = evaluate(history(scores), POLICY)
    # n*Sxy - Sx*Sy = 3*668 - 22*87 = 90; n*Sxx - Sx^2 = 3*274 - 22^2 = 338; x 7 for weeks: 630/338 = 1.86
    assert result.slope_points_per_week == pytest.approx(630 / 338)
    assert result.state == RelapseState.STABLE


def test_suicide_flag_during_a_stable_period_is_urgent_with_only_its_own_reason():
    # Stable is not a rule that holds, it is the absence of every rule: it is not listed beside urgent.
    result = evaluate(history(STAYS_WELL, last={"phq9_item9": 1}), POLICY)
    assert result.state == RelapseState.URGENT
    assert rules(result) == {Rule.URGENT_PHQ9_ITEM9}
    assert result.reasons[0].message == ("PHQ-9 item 9 answered 1 (above 0) on 2025-04-04: "
                                         "assess suicide risk the same day")
    assert result.responded is True


def test_cssrs_high_and_item9_give_two_urgent_reasons():
    result = evaluate(history(STAYS_WELL, last={"phq9_item9": 2, "cssrs_risk": "high"}), POLICY)
    assert result.state == RelapseState.URGENT
    assert rules(result) == {Rule.URGENT_PHQ9_ITEM9, Rule.URGENT_CSSRS_HIGH}


@pytest.mark.parametrize("risk", ["none", "low", "moderate"])
def test_cssrs_below_high_is_not_urgent(risk):
    assert evaluate(history(STAYS_WELL, last={"cssrs_risk": risk, "phq9_item9": 0}), POLICY).state == "stable"


def test_a_flag_in_an_earlier_checkin_is_not_urgent_now():
    checkins = [CheckIn(day, score) for day, score in STAYS_WELL]
    checkins[-2] = replace(checkins[-2], phq9_item9=2, cssrs_risk="high")
    result = evaluate(PatientHistory(50, START, END, D(2025, 4, 4), checkins), POLICY)
    assert result.state == RelapseState.STABLE


def test_a_second_same_day_checkin_does_not_hide_a_flag():
    checkins = [CheckIn(day, score) for day, score in STAYS_WELL]
    checkins.append(CheckIn(D(2025, 4, 5), 27, phq9_item9=3))
    checkins.append(CheckIn(D(2025, 4, 5), 27, phq9_item9=0))
    result = evaluate(PatientHistory(50, START, END, D(2025, 4, 5), checkins), POLICY)
    assert result.state == RelapseState.URGENT
    assert "answered 3" in result.reasons[0].message


def test_non_responder_after_the_course():
    scores = [(D(2025, 3, 4), 48), (D(2025, 3, 6), 46), (D(2025, 3, 8), 45), (D(2025, 3, 11), 44),
              (D(2025, 3, 13), 42), (D(2025, 3, 15), 41), (D(2025, 3, 22), 41)]
    result = evaluate(history(scores), POLICY)
    assert result.state == RelapseState.NON_RESPONDER
    assert rules(result) == {Rule.NON_RESPONDER}
    assert result.responded is False
    assert result.reasons[0].message == ("Course ended 2025-03-14 and no PCL-5 score met the response rule "
                                         "(35 or below, 30% below baseline 50); best score 41")


def test_not_yet_responded_during_the_course_is_stable():
    result = evaluate(history([(D(2025, 3, 4), 48), (D(2025, 3, 6), 46)], course_end=None), POLICY)
    assert result.state == RelapseState.STABLE
    assert result.reasons[0].message.endswith("not yet responded, course in progress")


def test_course_ending_on_as_of_counts_as_ended():
    scores = [(D(2025, 3, 4), 48), (D(2025, 3, 6), 46)]
    assert evaluate(history(scores, as_of=END), POLICY).state == RelapseState.NON_RESPONDER
    assert evaluate(history(scores, as_of=END - dt.timedelta(days=1)), POLICY).state == RelapseState.STABLE


def test_non_responder_with_a_suicide_flag_is_urgent_and_keeps_the_non_responder_reason():
    scores = [(D(2025, 3, 8), 45), (D(2025, 3, 15), 44)]
    result = evaluate(history(scores, last={"phq9_item9": 1}), POLICY)
    assert result.state == RelapseState.URGENT
    assert rules(result) == {Rule.URGENT_PHQ9_ITEM9, Rule.NON_RESPONDER}


def test_non_responder_without_any_score():
    result = evaluate(PatientHistory(50, START, END, D(2025, 3, 20), []), POLICY)
    assert result.state == RelapseState.NON_RESPONDER
    assert result.reasons[0].message.endswith("no PCL-5 score has been recorded since the course began")
    assert (result.best_pcl5, result.latest_pcl5, result.slope_points_per_week) == (None, None, None)


# --- Boundaries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overdue_days", "state", "expected"), [
    (3, RelapseState.STABLE, {Rule.STABLE}),
    (4, RelapseState.WATCH, {Rule.WATCH_OVERDUE}),
])
def test_missed_checkin_overdue_by_3_vs_4_days(overdue_days, state, expected):
    as_of = D(2025, 4, 15)
    result = evaluate(history(STAYS_WELL, as_of=as_of, next_due=as_of - dt.timedelta(days=overdue_days)),
                      POLICY)
    assert result.state == state
    assert rules(result) == expected
    if overdue_days == 4:
        assert result.reasons[0].message == "Check-in due 2025-04-11 is 4 days overdue (watch after 3)"


@pytest.mark.parametrize(("signs", "count", "state"), [
    (["sleep change", "irritability"], None, RelapseState.STABLE),
    (["sleep change", "irritability", "avoidance"], None, RelapseState.WATCH),
    (["sleep change", "irritability", "irritability"], None, RelapseState.STABLE),  # named once
    ([], 3, RelapseState.WATCH),  # a count without names
    (["sleep change"], 3, RelapseState.WATCH),  # the larger of names and count
    ([], 2, RelapseState.STABLE),
    (None, None, RelapseState.STABLE),  # not asked
])
def test_warning_signs_2_vs_3(signs, count, state):
    result = evaluate(history(STAYS_WELL, last={"warning_signs": signs, "warning_sign_count": count}), POLICY)
    assert result.state == state
    assert rules(result) == ({Rule.WATCH_WARNING_SIGNS} if state == RelapseState.WATCH else {Rule.STABLE})


def test_warning_sign_message_names_the_signs():
    signs = ["sleep change or nightmares", "irritability/anger", "withdrawal"]
    result = evaluate(history(STAYS_WELL, last={"warning_signs": signs}), POLICY)
    assert result.reasons[0].message == ("3 warning signs endorsed on 2025-04-04 (sleep change or "
                                         "nightmares, irritability/anger, withdrawal); watch at 3")


def test_warning_signs_of_an_earlier_checkin_do_not_count():
    checkins = [CheckIn(day, score) for day, score in STAYS_WELL]
    checkins[-2] = replace(checkins[-2], warning_sign_count=5)
    assert evaluate(PatientHistory(50, START, END, D(2025, 4, 4), checkins), POLICY).state == "stable"


@pytest.mark.parametrize(("latest", "state"), [(34, RelapseState.STABLE), (35, RelapseState.WATCH)])
def test_reliable_change_9_vs_10_points(latest, state):
    # Best 25; latest still responds (<= 35) so no act; trend of the last 3 stays under 2/week.
    scores = [(D(2025, 3, 15), 30), (D(2025, 3, 22), 25), (D(2025, 3, 29), 30), (D(2025, 4, 5), 29),
              (D(2025, 4, 26), latest)]
    result = evaluate(history(scores), POLICY)
    assert result.state == state
    assert rules(result) == ({Rule.WATCH_RELIABLE_WORSENING} if latest == 35 else {Rule.STABLE})
    assert result.slope_points_per_week is not None and result.slope_points_per_week < 2.0


@pytest.mark.parametrize(("score", "responded"), [(35, True), (36, False)])
def test_response_boundary_is_exactly_30_percent(score, responded):
    result = evaluate(history([(D(2025, 3, 15), score)], course_end=None), POLICY)
    assert result.responded is responded
    ended = evaluate(history([(D(2025, 3, 15), score)]), POLICY)
    assert ended.state == (RelapseState.STABLE if responded else RelapseState.NON_RESPONDER)


def test_act_boundary_scores_of_36_are_a_loss_35_is_not():
    base = [(D(2025, 3, 15), 30), (D(2025, 3, 22), 30)]
    lost = evaluate(history([*base, (D(2025, 3, 29), 36), (D(2025, 4, 5), 36)]), POLICY)
    kept = evaluate(history([*base, (D(2025, 3, 29), 36), (D(2025, 4, 5), 35)]), POLICY)
    assert Rule.ACT_LOSS_OF_RESPONSE in rules(lost)
    assert Rule.ACT_LOSS_OF_RESPONSE not in rules(kept)


def test_short_form_checkins_do_not_break_the_run_of_consecutive_scores():
    scores = [(D(2025, 3, 15), 30), (D(2025, 3, 22), 36), (D(2025, 3, 29), None), (D(2025, 4, 5), 36)]
    result = evaluate(history(scores), POLICY)
    assert result.state == RelapseState.ACT
    assert result.latest_pcl5 == 36


def test_trend_uses_the_actual_dates():
    # 20, 22, 26 would be 3/week by index; 0, 7 and 28 days apart it is 1.46/week.
    scores = [(D(2025, 3, 15), 20), (D(2025, 3, 22), 22), (D(2025, 4, 12), 26)]
    result = evaluate(history(scores), POLICY)
    assert result.slope_points_per_week == pytest.approx(114 / 78)
    assert result.state == RelapseState.STABLE
    # 0, 7 and 21 days apart the same scores are exactly 2.0/week.
    scores[-1] = (D(2025, 4, 5), 26)
    assert evaluate(history(scores), POLICY).slope_points_per_week == 2.0
    assert evaluate(history(scores), POLICY).state == RelapseState.WATCH


def test_trend_threshold_compares_exactly_as_typed():
    # 20, 25, 29 at days 0, 15, 30: 9 points over 30/7 weeks = 2.1 exactly (and 9 < reliable change).
    scores = [(D(2025, 3, 15), 20), (D(2025, 3, 30), 25), (D(2025, 4, 14), 29)]
    assert evaluate(history(scores), POLICY).slope_points_per_week == pytest.approx(2.1)
    assert rules(evaluate(history(scores), RelapsePolicy(watch_slope_points_per_week=2.1))) == {
        Rule.WATCH_RISING_TREND}
    assert evaluate(history(scores), RelapsePolicy(watch_slope_points_per_week=2.2)).state == "stable"


def test_trend_needs_three_scores_and_a_time_span():
    two = [(D(2025, 3, 15), 20), (D(2025, 3, 22), 30)]
    assert evaluate(history(two), POLICY).slope_points_per_week is None
    same_day = [(D(2025, 3, 15), 20), (D(2025, 3, 15), 25), (D(2025, 3, 15), 30)]
    assert evaluate(history(same_day), POLICY).slope_points_per_week is None


def test_act_after_more_consecutive_checkins_when_the_clinic_says_so():
    scores = [(D(2025, 3, 15), 30), (D(2025, 3, 22), 37), (D(2025, 3, 29), 37)]
    assert evaluate(history(scores), RelapsePolicy(act_consecutive_checkins=3)).state == "watch"  # trend 3.5
    longer = [*scores, (D(2025, 4, 5), 37)]
    assert evaluate(history(longer), RelapsePolicy(act_consecutive_checkins=3)).state == "act"


# --- Helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("baseline", "pct", "limit"), [(50, 30, 35), (51, 30, 35), (40, 30, 28), (0, 30, 0),
                                                        (80, 50, 40), (33, 100, 0)])
def test_response_limit(baseline, pct, limit):
    assert response_limit_pcl5(baseline, pct) == limit


def test_slope_helper_is_exact():
    days = [D(2025, 1, 1), D(2025, 1, 8), D(2025, 1, 15)]
    assert slope_points_per_week(days, [10, 12, 14]) == 2
    assert slope_points_per_week(days[:1], [10]) is None


def test_loss_of_response_date_after_a_booster_counts_only_later_checkins():
    scores = [(D(2025, 3, 15), 30), (D(2025, 3, 22), 40), (D(2025, 3, 29), 40),  # lost 03-29
              (D(2025, 4, 2), 30), (D(2025, 4, 9), 38), (D(2025, 4, 16), 39)]  # booster 04-01, lost 04-16
    h = history(scores)
    assert loss_of_response_date(h, POLICY) == D(2025, 3, 29)
    assert loss_of_response_date(h, POLICY, after=D(2025, 4, 1)) == D(2025, 4, 16)
    assert loss_of_response_date(h, POLICY, after=D(2025, 4, 9)) is None  # no response after that


def test_loss_of_response_date_is_none_for_a_responder_who_stays_well():
    assert loss_of_response_date(history(STAYS_WELL), POLICY) is None


# --- Policy --------------------------------------------------------------------------------------------


def test_policy_defaults_come_from_clinic_policy():
    assert RelapsePolicy() == RelapsePolicy.from_policy(clinic_policy.resolve({}))
    assert (POLICY.response_reduction_pct, POLICY.reliable_change_points, POLICY.watch_warning_signs,
            POLICY.watch_slope_points_per_week, POLICY.watch_overdue_days,
            POLICY.act_consecutive_checkins) == (30, 10, 3, 2.0, 3, 2)


def test_policy_overrides_apply():
    policy = RelapsePolicy.from_policy(clinic_policy.resolve({"pcl5.reliable_change": 15,
                                                              "relapse.watch_overdue_days": 7}))
    assert (policy.reliable_change_points, policy.watch_overdue_days) == (15, 7)


def test_policy_rejects_values_outside_the_clinic_limits():
    with pytest.raises(clinic_policy.PolicyError, match="relapse.act_consecutive_checkins"):
        RelapsePolicy(act_consecutive_checkins=0)


# --- Bad input -------------------------------------------------------------------------------------------


def test_every_problem_is_listed_with_field_and_rule():
    bad = PatientHistory(
        baseline_pcl5=81, course_start=START, course_end=D(2025, 3, 1), as_of=D(2025, 4, 1),
        checkins=[
            CheckIn(D(2025, 4, 2), 30),  # future
            CheckIn(D(2025, 3, 1), 30),  # before the course
            CheckIn(D(2025, 3, 10), -1, phq9_item9=4, cssrs_risk="severe", warning_sign_count=-1),
            CheckIn(D(2025, 3, 11), True, warning_signs=[""]),  # type: ignore[arg-type]
        ])
    with pytest.raises(CoreError) as caught:
        evaluate(bad, POLICY)
    found = {(p.field, p.rule) for p in caught.value.problems}
    assert found == {
        ("baseline_pcl5", "range"),
        ("course_end", "not_before_course_start"),
        ("checkins[0].date", "not_in_future"),
        ("checkins[1].date", "not_before_course"),
        ("checkins[2].pcl5", "range"),
        ("checkins[2].phq9_item9", "range"),
        ("checkins[2].cssrs_risk", "known_level"),
        ("checkins[2].warning_sign_count", "range"),
        ("checkins[3].pcl5", "range"),
        ("checkins[3].warning_signs", "names"),
    }


def test_datetimes_are_not_dates():
    bad = PatientHistory(50, START, END, dt.datetime(2025, 4, 1, 12, tzinfo=dt.UTC), [])  # type: ignore[arg-type]
    with pytest.raises(CoreError) as caught:
        evaluate(bad, POLICY)
    assert [(p.field, p.rule) for p in caught.value.problems] == [("as_of", "type")]


def test_checkins_on_course_start_and_as_of_are_valid():
    h = PatientHistory(50, START, None, D(2025, 3, 20), [CheckIn(START, 40), CheckIn(D(2025, 3, 20), 30)])
    assert evaluate(h, POLICY).responded is True


# --- Properties --------------------------------------------------------------------------------------------

DAY0 = D(2025, 1, 6)


@st.composite
def histories(draw) -> PatientHistory:
    span = draw(st.integers(0, 200))
    as_of = DAY0 + dt.timedelta(days=span)
    checkins = draw(st.lists(st.builds(
        CheckIn,
        date=st.integers(0, span).map(lambda d: DAY0 + dt.timedelta(days=d)),
        pcl5=st.none() | st.integers(0, 80),
        phq9_item9=st.none() | st.integers(0, 3),
        cssrs_risk=st.none() | st.sampled_from(CSSRS_RISK_LEVELS),
        warning_signs=st.lists(st.sampled_from(["sleep", "anger", "avoidance", "withdrawal", "alcohol"])),
        warning_sign_count=st.none() | st.integers(0, 8),
    ), max_size=25))
    course_end = draw(st.none() | st.integers(0, span + 30).map(lambda d: DAY0 + dt.timedelta(days=d)))
    next_due = draw(st.none() | st.integers(0, span + 30).map(lambda d: DAY0 + dt.timedelta(days=d)))
    return PatientHistory(draw(st.integers(0, 80)), DAY0, course_end, as_of, checkins, next_due)


policies = st.builds(
    RelapsePolicy,
    response_reduction_pct=st.integers(1, 100),
    reliable_change_points=st.integers(1, 80),
    watch_warning_signs=st.integers(1, 10),
    watch_slope_points_per_week=st.sampled_from([0.1, 1.0, 2.0, 2.5, 20.0]),
    watch_overdue_days=st.integers(1, 30),
    act_consecutive_checkins=st.integers(1, 6),
)


@settings(max_examples=150, deadline=None)
@given(histories(), policies)
def test_evaluate_is_total_and_consistent_on_valid_histories(h, policy):
    result = evaluate(h, policy)
    assert result.state in set(RelapseState)
    # responded iff some check-in is >= pct below baseline (independent statement of the rule)
    assert result.responded == any(
        c.pcl5 is not None and c.pcl5 * 100 <= h.baseline_pcl5 * (100 - policy.response_reduction_pct)
        for c in h.checkins)
    scores = [c.pcl5 for c in h.checkins if c.pcl5 is not None]
    assert result.best_pcl5 == (min(scores) if scores else None)
    # the state is the most severe state among the reasons; stable only alone
    assert result.reasons
    assert result.state == min((RULE_STATE[r.rule] for r in result.reasons), key=SEVERITY_ORDER.index)
    assert (Rule.STABLE in rules(result)) == (result.state == RelapseState.STABLE) == (
        rules(result) == {Rule.STABLE})
    assert not (Rule.ACT_LOSS_OF_RESPONSE in rules(result) and Rule.NON_RESPONDER in rules(result))


@settings(max_examples=100, deadline=None)
@given(histories())
def test_order_of_checkins_on_different_days_does_not_matter(h):
    by_day = {c.date: c for c in h.checkins}  # one check-in a day
    ordered = replace(h, checkins=[by_day[d] for d in sorted(by_day)])
    shuffled = list(ordered.checkins)
    random.Random(len(shuffled)).shuffle(shuffled)
    assert evaluate(replace(ordered, checkins=shuffled), POLICY) == evaluate(ordered, POLICY)


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 4))
def test_loss_of_response_date_is_the_first_day_act_holds(h, consecutive):
    policy = RelapsePolicy(act_consecutive_checkins=consecutive)
    first_act = None
    for day in sorted({c.date for c in h.checkins}):
        upto = replace(h, as_of=day, next_due=None, checkins=[c for c in h.checkins if c.date <= day])
        if Rule.ACT_LOSS_OF_RESPONSE in rules(evaluate(upto, policy)):
            first_act = day
            break
    assert loss_of_response_date(h, policy) == first_act
