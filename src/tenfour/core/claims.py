"""The clinics' claims and the trials, each beside the clinic's own measurement, with a plain verdict.

The claims come from the seed page of the clinics that started this project (../shared/seed/, DESIGN.md) and from
two randomised trials. The verdict rule is a **product choice** (labelled so wherever it is shown):

- ``not enough data yet``: fewer than ``cohort.MIN_N`` (10) patients behind the measurement — for a median
  durability, fewer than 10 losses of response observed — or no interval to compare with;
- for a claimed number (``point``): ``consistent`` when it lies inside the clinic's 95% interval, ``not consistent``
  when it lies outside;
- for a claimed floor (``at_least``): ``consistent`` when the whole interval is at or above it, ``not consistent``
  when the whole interval is below it, otherwise ``not enough data yet`` (the interval straddles it);
- ``cannot be checked here``: a claim about a difference from placebo needs a comparison group, which a clinic's
  own patients are not. (The issue asked for three verdicts; saying "not enough data yet" here would promise that
  more patients could settle it, which they cannot.)

"Consistent" means only that this clinic's data do not contradict the figure at the 95% level; it is not proof.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenfour.core.cohort import Estimate

SEED = ("Ketamine Infusion Centers, \"First Responders PTSD - Ketamine Treatment Benefits\" (clinic web page; "
        "shared/seed), citing NIH-posted studies")
FEDER_2021 = ("Feder A et al. 2021, A randomized controlled trial of repeated ketamine administration for chronic "
              "PTSD, Am J Psychiatry 178:193-202 (30 patients; response = CAPS-5 30% or more better after 2 weeks)")
ABDALLAH_2022 = ("Abdallah CG et al. 2022, Neuropsychopharmacology 47:1574-1581: a randomized, placebo-controlled "
                 "multisite trial of ketamine in 158 veterans and active-duty service members with PTSD")
FOURTEEN_WEEKS_DAYS = 98


class Rule(StrEnum):
    POINT = "point"  # the claimed number lies inside the 95% interval
    AT_LEAST = "at_least"  # the whole interval is at or above the claimed floor
    COMPARISON = "comparison"  # a difference from placebo: needs a comparison group


class Verdict(StrEnum):
    CONSISTENT = "consistent"
    NOT_CONSISTENT = "not_consistent"
    NOT_ENOUGH_DATA = "not_enough_data"
    NOT_TESTABLE = "not_testable"

    @property
    def label(self) -> str:
        return {"consistent": "consistent", "not_consistent": "not consistent",
                "not_enough_data": "not enough data yet", "not_testable": "cannot be checked here"}[self.value]


@dataclass(frozen=True)
class Claim:
    """A claim, its source, the clinic's measurement it is checked against (a key of the outcomes report) and how."""

    key: str
    claim: str
    source: str
    measure: str
    measure_label: str
    rule: Rule
    target: float | None  # a share 0-1, or days; None for a comparison
    target_label: str
    caveat: str


CLAIMS: tuple[Claim, ...] = (
    Claim("improvement_24h", "Ketamine can show improvement within 24 hours of the first infusion.", SEED,
          "improved_at_24h", "Share with reliable improvement (PCL-5 down by the clinic's reliable-change points) "
          "at the 24-hour check-in", Rule.AT_LEAST, 0.20, "more than 20% (the placebo-like response rate of the "
          "active control in Feder 2021)",
          "The claim names no share; the floor of 20% is a product choice: more patients improving than the "
          "response rate seen with an active placebo."),
    Claim("durability_14_weeks", "The effect can last up to 14 weeks after the first series.", SEED,
          "median_days_to_loss_of_response", "Median days from the end of the course to loss of response, among "
          "responders (Kaplan-Meier)", Rule.POINT, FOURTEEN_WEEKS_DAYS, "about 98 days (14 weeks)",
          "Read as a typical durability of about 14 weeks."),
    Claim("maintenance_35pct", "Only about 35% of patients need maintenance infusions.", SEED,
          "booster_within_14_weeks", "Share who needed a booster (a loss of response or a booster given) within 14 "
          "weeks of the course end, among those followed that long", Rule.POINT, 0.35, "35%",
          "The claim gives no time frame; 14 weeks is the seed's own horizon."),
    Claim("feder_response", "67% of patients respond to six ketamine infusions (20% with midazolam).", FEDER_2021,
          "response_rate", "Response rate (PCL-5 at least the clinic's response percentage below the course "
          "baseline at any check-in)", Rule.POINT, 0.67, "67%",
          "Feder judged response on the clinician-rated CAPS-5 at week 2; this clinic uses the self-reported "
          "PCL-5 at any check-in after the course began."),
    Claim("feder_durability", "Among responders, the median time to loss of response is 27.5 days.", FEDER_2021,
          "median_days_to_loss_of_response", "Median days from the end of the course to loss of response, among "
          "responders (Kaplan-Meier)", Rule.POINT, 27.5, "27.5 days",
          "Loss of response here is the clinic's rule on PCL-5 check-ins (product choice), not the trial's."),
    Claim("abdallah_no_difference", "A larger trial found no difference from placebo in PCL-5.", ABDALLAH_2022,
          "response_rate", "Response rate (no comparison group)", Rule.COMPARISON, None, "no difference from placebo",
          "A clinic's own patients have no placebo group, so its data can neither confirm nor refute this; "
          "improvement in an open clinic includes expectation and regression to the mean."),
)


def verdict(claim: Claim, estimate: Estimate) -> Verdict:
    """The verdict for ``claim`` given the clinic's ``estimate`` (product choice; see the module doc)."""
    if claim.rule is Rule.COMPARISON:
        return Verdict.NOT_TESTABLE
    if not estimate.enough or estimate.ci95 is None:
        return Verdict.NOT_ENOUGH_DATA
    low, high = estimate.ci95
    if low is None:
        return Verdict.NOT_ENOUGH_DATA  # no lower limit: the data cannot place the figure
    upper = float("inf") if high is None else high
    assert claim.target is not None
    if claim.rule is Rule.POINT:
        return Verdict.CONSISTENT if low <= claim.target <= upper else Verdict.NOT_CONSISTENT
    if low >= claim.target:
        return Verdict.CONSISTENT
    if upper < claim.target:
        return Verdict.NOT_CONSISTENT
    return Verdict.NOT_ENOUGH_DATA
