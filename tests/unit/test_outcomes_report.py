"""The outcomes report from tallies, without a database: an empty cohort, one or two patients, what the page and the
command line write (never a bare percentage), and JSON-safe numbers."""

from __future__ import annotations

import json
from collections import Counter

from tenfour.outcomes import report
from tenfour.outcomes.tallies import Tallies

SCOPE = {"clinics": [{"slug": "north", "name": "North", "as_of": "2026-06-01"}], "filters": {}, "min_n_to_judge": 10,
         "definitions": [{"key": k, "label": k, "unit": u, "basis": "product choice", "source": "",
                          "values": {"north": v}} for k, u, v in (("outcome.response_reduction_pct", "%", 30),
                                         ("outcome.remission_below_cutoff", "", True),
                                         ("pcl5.provisional_cutoff", "points", 33),
                                         ("pcl5.reliable_change", "points", 10),
                                         ("relapse.act_consecutive_checkins", "check-ins", 2))]}


def test_an_empty_cohort_says_so_and_divides_by_nothing() -> None:
    built = report.build(Tallies(), SCOPE)
    assert built["notes"] == ["No patients match: nobody was referred, assessed or treated for this selection. "
                              "Widen the filters or the period."]
    for key in ("response_rate", "remission_rate", "improved_at_24h", "median_days_to_loss_of_response",
                "booster_within_14_weeks", "cadss6_mean"):
        assert built[key]["value"] is None and built[key]["ci95"] is None and built[key]["n"] == 0
    assert built["safety"]["stopped_early_per_100"]["value"] is None
    assert {c["verdict"] for c in built["claims"]} == {"not_enough_data", "not_testable"}
    json.dumps(built, allow_nan=False)  # no NaN or Infinity anywhere
    assert all(row["shown"]["value"] == "no patients yet" for row in report.rows(built))


def test_two_patients_are_shown_with_n_and_a_wide_interval() -> None:
    t = Tallies(started=2, completed_induction=2, response_n=2, responders=2, remission_n=2, remitters=1,
                waterfall=Counter({(50, 30, True): 1, (40, 20, True): 1}))
    built = report.build(t, SCOPE)
    assert any("Only 2 patients have finished a course" in note for note in built["notes"])
    row = next(r for r in report.rows(built) if r["key"] == "response_rate")
    assert row["shown"] == {"value": "100% (2 of 2)", "interval": "34% to 100%", "n": "2"}
    assert row["too_few"] is True
    assert next(c for c in built["claims"] if c["key"] == "feder_response")["verdict"] == "not_enough_data"


def test_one_patient() -> None:
    built = report.build(Tallies(started=1, response_n=1, responders=0, remission_n=1), SCOPE)
    assert any("Only 1 patient has finished a course" in note for note in built["notes"])
    assert built["response_rate"] == {"value": 0.0, "ci95": [0.0, 0.7935], "n": 1, "count": 0}


def test_started_but_nothing_ended_yet() -> None:
    built = report.build(Tallies(started=3, in_progress=3), SCOPE)
    assert built["notes"] == ["3 courses started, but none has ended with a PCL-5 score yet: response is judged "
                              "once the course has ended."]


def test_show_writes_days_and_unbounded_limits() -> None:
    shown = report.show({"value": None, "ci95": [28.0, None], "n": 12, "events": 2}, "days")
    assert shown == {"value": "not reached", "interval": "28 days to not reached", "n": "12 (2 losses)"}
    assert report.show({"value": 4.6731, "ci95": [4.2, 5.1], "n": 208}, "mean")["value"] == "4.7"


def test_clinics_with_different_policies_are_named() -> None:
    scope = {**SCOPE, "clinics": SCOPE["clinics"] + [{"slug": "south", "name": "South", "as_of": "2026-06-01"}],
             "definitions": [{**d, "values": {**d["values"], "south": 40 if d["unit"] == "%" else d["values"]["north"]}}
                             for d in SCOPE["definitions"]]}
    row = next(r for r in report.rows(report.build(Tallies(), scope)) if r["key"] == "response_rate")
    assert "30% (north), 40% (south)" in row["definition"]
