"""Booster window from a patient's own durability: hand-computed medians and windows."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenfour.core import policy as clinic_policy
from tenfour.core.errors import CoreError
from tenfour.core.maintenance import Episode, MaintenancePolicy, median_days, propose

D = dt.date
POLICY = MaintenancePolicy()


def test_no_proposal_before_any_loss_of_response():
    assert propose([], D(2025, 3, 14), POLICY) is None
    assert propose([Episode(D(2025, 3, 14), None)], D(2025, 3, 14), POLICY) is None


def test_one_episode():
    # Course ended 2025-03-14, response lost 2025-04-11 (28 days); booster ended 2025-04-14, still well.
    episodes = [Episode(D(2025, 3, 14), D(2025, 4, 11)), Episode(D(2025, 4, 14), None)]
    proposal = propose(episodes, D(2025, 4, 14), POLICY, as_of=D(2025, 4, 20))
    assert proposal is not None
    assert episodes[0].durability_days == 28
    assert proposal.median_durability_days == 28
    # 75% of 28 = 21 days, 100% = 28 days after 2025-04-14
    assert (proposal.window_start, proposal.window_end) == (D(2025, 5, 5), D(2025, 5, 12))
    assert (proposal.n_episodes, proposal.n_censored, proposal.overdue) == (1, 1, False)
    assert proposal.explanation == (
        "Median durability 28 days from 1 observed loss of response (28 days). "
        "1 episode without a loss of response not counted (censored). "
        "Booster window 75-100% of the median after the latest treatment on 2025-04-14: "
        "2025-05-05 to 2025-05-12.")


def test_even_count_median_and_rounding_down():
    # 28 and 35 days: median 31.5; 75% = 23.625 -> 23 days; 100% = 31.5 -> 31 days.
    episodes = [Episode(D(2025, 1, 10), D(2025, 2, 7)), Episode(D(2025, 3, 1), D(2025, 4, 5))]
    proposal = propose(episodes, D(2025, 6, 1), POLICY)
    assert proposal is not None
    assert [e.durability_days for e in episodes] == [28, 35]
    assert proposal.median_durability_days == 31.5
    assert (proposal.window_start, proposal.window_end) == (D(2025, 6, 24), D(2025, 7, 2))
    assert proposal.n_episodes == 2
    assert proposal.explanation.startswith(
        "Median durability 31.5 days from 2 observed losses of response (28, 35 days).")


def test_odd_count_median_is_the_middle_value():
    # 20, 40, 27 days: median 27; 75% = 20.25 -> 20; 100% = 27.
    episodes = [Episode(D(2025, 1, 1), D(2025, 1, 21)), Episode(D(2025, 2, 1), D(2025, 3, 13)),
                Episode(D(2025, 4, 1), D(2025, 4, 28))]
    proposal = propose(episodes, D(2025, 5, 1), POLICY)
    assert proposal is not None
    assert proposal.median_durability_days == 27
    assert (proposal.window_start, proposal.window_end) == (D(2025, 5, 21), D(2025, 5, 28))


def test_clinic_percentages():
    # median 30: 50% -> 15 days, 90% -> 27 days
    proposal = propose([Episode(D(2025, 1, 1), D(2025, 1, 31))], D(2025, 2, 1),
                       MaintenancePolicy(window_open_pct=50, window_close_pct=90))
    assert proposal is not None
    assert (proposal.window_start, proposal.window_end) == (D(2025, 2, 16), D(2025, 2, 28))


def test_censored_episodes_never_lengthen_the_median():
    # A booster that kept the patient well for 200 days is censored: the median stays 28.
    episodes = [Episode(D(2024, 1, 1), D(2024, 1, 29)), Episode(D(2024, 2, 1), None)]
    proposal = propose(episodes, D(2024, 2, 1), POLICY, as_of=D(2024, 8, 19))
    assert proposal is not None
    assert (proposal.median_durability_days, proposal.n_episodes, proposal.n_censored) == (28, 1, 1)


@pytest.mark.parametrize(("as_of", "overdue"), [(D(2025, 5, 12), False), (D(2025, 5, 13), True)])
def test_window_already_past_is_flagged_overdue(as_of, overdue):
    episodes = [Episode(D(2025, 3, 14), D(2025, 4, 11))]
    proposal = propose(episodes, D(2025, 4, 14), POLICY, as_of=as_of)
    assert proposal is not None
    assert proposal.window_end == D(2025, 5, 12)
    assert proposal.overdue is overdue
    assert ("Overdue: the window closed 1 day before 2025-05-13." in proposal.explanation) is overdue


def test_without_as_of_nothing_is_called_overdue():
    proposal = propose([Episode(D(2020, 1, 1), D(2020, 2, 1))], D(2020, 2, 1), POLICY)
    assert proposal is not None and proposal.overdue is False


def test_a_loss_after_the_latest_treatment_is_mentioned():
    episodes = [Episode(D(2025, 3, 14), D(2025, 4, 11))]
    proposal = propose(episodes, D(2025, 3, 14), POLICY, as_of=D(2025, 4, 12))
    assert proposal is not None
    assert ("Loss of response already recorded on 2025-04-11 after the latest treatment."
            in proposal.explanation)
    assert proposal.overdue is True  # window 2025-04-04 to 2025-04-11


def test_bad_episodes_list_every_problem():
    episodes = [Episode(D(2025, 3, 14), D(2025, 3, 14)), Episode(D(2025, 5, 1), None)]
    with pytest.raises(CoreError) as caught:
        propose(episodes, D(2025, 4, 1), POLICY)
    assert {(p.field, p.rule) for p in caught.value.problems} == {
        ("episodes[0].loss_of_response", "after_treatment_end"),
        ("episodes[1].treatment_end", "not_after_latest_treatment"),
    }


def test_policy_from_clinic_policy_and_its_limits():
    assert MaintenancePolicy() == MaintenancePolicy.from_policy(clinic_policy.resolve({}))
    assert (POLICY.window_open_pct, POLICY.window_close_pct) == (75, 100)
    custom = MaintenancePolicy.from_policy(clinic_policy.resolve({"maintenance.window_open_pct": 60}))
    assert custom.window_open_pct == 60
    with pytest.raises(clinic_policy.PolicyError):
        MaintenancePolicy(window_open_pct=90, window_close_pct=80)
    with pytest.raises(clinic_policy.PolicyError):
        MaintenancePolicy(window_close_pct=200)


def test_median_days_is_exact():
    assert median_days([35, 28]) == 31.5
    assert median_days([5]) == 5
    assert median_days([1, 2, 3, 100]) == 2.5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=8), st.integers(10, 100), st.integers(0, 50))
def test_window_lies_within_the_observed_durabilities(durations, open_pct, extra_close):
    policy = MaintenancePolicy(window_open_pct=open_pct, window_close_pct=min(150, open_pct + extra_close))
    start = D(2024, 1, 1)
    episodes = [Episode(start, start + dt.timedelta(days=d)) for d in durations]
    latest = D(2025, 6, 1)
    proposal = propose(episodes, latest, policy)
    assert proposal is not None
    assert min(durations) <= proposal.median_durability_days <= max(durations)
    assert latest <= proposal.window_start <= proposal.window_end
    close_days = proposal.median_durability_days * policy.window_close_pct / 100
    assert close_days - 1 < (proposal.window_end - latest).days <= close_days
    assert proposal.n_episodes == len(durations)
