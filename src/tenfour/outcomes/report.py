"""Tallies -> the outcomes report: every estimate with its interval and n, the claims with verdicts, missing data,
and plain notes for an empty or tiny cohort. Pure (no I/O): the page, the JSON API and the CLI print this dict.

Shares are fractions 0-1; rates "per 100 infusions"; durations in days. Each estimate is
``{"value", "ci95": [low, high], "n"}`` (``count`` = the numerator of a share); ``value`` None = not estimable.
"""

from __future__ import annotations

from typing import Any

from tenfour.core import claims as core_claims
from tenfour.core import cohort
from tenfour.core.claims import FOURTEEN_WEEKS_DAYS
from tenfour.infusions.models import AdverseEventType
from tenfour.outcomes.tallies import Tallies

ADVERSE_LABELS = {kind.value: kind.label for kind in AdverseEventType}


def estimates(t: Tallies, survival: cohort.Survival) -> dict[str, cohort.Estimate]:
    """Every headline estimate of the report, by key (the claims refer to these keys)."""
    return {
        "completed_induction_share": cohort.proportion(t.completed_induction, t.started),
        "response_rate": cohort.proportion(t.responders, t.response_n),
        "remission_rate": cohort.proportion(t.remitters, t.remission_n),
        "improved_at_24h": cohort.proportion(t.h24_improved, t.h24_n),
        "median_days_to_loss_of_response": survival.median,
        "still_responding_at_14_weeks": survival.at(FOURTEEN_WEEKS_DAYS) if survival.n else cohort.NO_DATA,
        "booster_within_14_weeks": cohort.proportion(t.booster_needed_14w, t.booster_full_window),
        "booster_ever": cohort.proportion(t.booster_needed, t.booster_followed),
        "cadss6_mean": cohort.mean(t.cadss_n, t.cadss_sum, t.cadss_sum_sq),
    }


def _claims(found: dict[str, cohort.Estimate]) -> list[dict[str, Any]]:
    rows = []
    for claim in core_claims.CLAIMS:
        estimate = found[claim.measure]
        decided = core_claims.verdict(claim, estimate)
        rows.append({"key": claim.key, "claim": claim.claim, "source": claim.source, "rule": claim.rule.value,
                     "target": claim.target, "target_label": claim.target_label, "measure": claim.measure,
                     "measure_label": claim.measure_label, "estimate": estimate.as_dict(), "verdict": decided.value,
                     "verdict_label": decided.label, "caveat": claim.caveat})
    return rows


def _notes(t: Tallies, found: dict[str, cohort.Estimate]) -> list[str]:
    """Plain sentences for what the numbers cannot say (an empty cohort, a filter matching nobody, tiny n)."""
    notes = []
    if t.started == 0 and t.referred == 0 and t.eligibility_decided == 0 and t.infusions == 0:
        notes.append("No patients match: nobody was referred, assessed or treated for this selection. "
                     "Widen the filters or the period.")
        return notes
    if t.started == 0:
        notes.append("No course of infusions started for this selection, so there are no treatment outcomes yet.")
    elif t.response_n == 0:
        notes.append(f"{t.started} course{'s' if t.started != 1 else ''} started, but none has ended with a PCL-5 "
                     "score yet: response is judged once the course has ended.")
    response = found["response_rate"]
    if 0 < response.n < cohort.MIN_N:
        patients = "patient has" if response.n == 1 else "patients have"
        notes.append(f"Only {response.n} {patients} finished a course with a score: too few to judge a rate. "
                     "Each share is shown with its n and its 95% interval, which is wide at this size.")
    return notes


def build(t: Tallies, scope: dict[str, Any]) -> dict[str, Any]:
    """The report for ``scope`` (clinics, filters, as-of days, the policy values used)."""
    survival = cohort.kaplan_meier(t.survival)
    found = estimates(t, survival)
    return {
        "scope": scope,
        "funnel": {"referred": t.referred, "eligibility_decided": t.eligibility_decided, "eligible": t.eligible,
                   "started": t.started, "completed_induction": t.completed_induction},
        **{key: estimate.as_dict() for key, estimate in found.items()},
        "loss_of_response": {"responders_followed": survival.n, "losses": survival.events,
                             "censored": survival.censored},
        "safety": {
            "infusions": t.infusions,
            "stopped_early_per_100": cohort.per_100(t.stopped_early, t.infusions).as_dict(),
            "notify_vitals_per_100": cohort.per_100(t.notify_vitals, t.infusions).as_dict(),
            "adverse_events_per_100": {kind: {"label": ADVERSE_LABELS.get(kind, kind),
                                              **cohort.per_100(count, t.infusions).as_dict()}
                                       for kind, count in sorted(t.adverse.items()) if count},
        },
        "missing": {
            "no_baseline_pcl5": t.no_baseline,
            "course_in_progress": t.in_progress,
            "ended_without_pcl5": t.ended_no_score,
            "checkin_24h": {reason: count for reason, count in sorted(t.h24_missing.items()) if count},
            "responders_censored": survival.censored,
            "booster_followed_under_14_weeks": t.booster_followed - t.booster_full_window,
            "infusions_without_cadss6": t.cadss_missing,
            "checkins_missed": t.checkins_missed,
            "checkins_completed": t.checkins_completed,
        },
        "claims": _claims(found),
        "notes": _notes(t, found),
    }


# --- Written out for people (the page and `tenfour report outcomes`) ------------------------------------------

# The headline rows: (label, report key, kind, definition). {placeholders} are the clinic policy values in scope.
ROWS = (
    ("Response", "response_rate", "share", "PCL-5 at least {pct} below the course baseline at any check-in after "
     "the course began; judged once the course has ended", "product choice"),
    ("Remission", "remission_rate", "share", "PCL-5 below the provisional cutoff ({cutoff}) at any check-in after "
     "the course began; judged once the course has ended", "product choice"),
    ("Improved at the 24-hour check-in", "improved_at_24h", "share", "PCL-5 at least {rc} points below the "
     "baseline (reliable change) at the check-in 24 hours after the first infusion", "evidence"),
    ("Median time to loss of response", "median_days_to_loss_of_response", "days", "Kaplan-Meier among patients "
     "who responded after the course ended: days from the last course infusion to loss of response ({run} "
     "non-responding check-ins in a row); censored at the last check-in, or at a booster", "product choice"),
    ("Still responding 14 weeks after the course", "still_responding_at_14_weeks", "share", "The same "
     "Kaplan-Meier curve at day 98", "product choice"),
    ("Needed a booster within 14 weeks", "booster_within_14_weeks", "share", "A loss of response or a booster "
     "given within 98 days of the course end, among patients whose course ended at least 14 weeks ago",
     "product choice"),
    ("Needed a booster so far", "booster_ever", "share", "Any time since the course ended (follow-up differs "
     "from patient to patient)", "product choice"),
    ("Completed the induction", "completed_induction_share", "share", "Every planned course infusion given",
     "operations"),
    ("Mean CADSS-6 (dissociation, 0-24)", "cadss6_mean", "mean", "Per infusion with a CADSS-6 score (Rodrigues "
     "2021); t interval", "evidence"),
)


def _number(value: float | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "share":
        return f"{100 * value:.0f}%"
    if kind == "days":
        return f"{value:g} days"
    return f"{value:.1f}"


def show(estimate: dict[str, Any], kind: str) -> dict[str, str]:
    """An estimate as the page writes it: value, interval and n (never a bare percentage)."""
    value, interval, n = estimate.get("value"), estimate.get("ci95"), estimate.get("n", 0)
    if n == 0:
        return {"value": "no patients yet", "interval": "—", "n": "0"}
    if value is None:
        text = "not reached" if kind == "days" else "—"
    else:
        text = _number(value, kind)
        if estimate.get("count") is not None and kind == "share":
            text += f" ({estimate['count']} of {n})"
    if interval is None:
        span = "—"
    else:
        low, high = interval
        span = (f"{_number(low, kind) if low is not None else 'unknown'} to "
                f"{_number(high, kind) if high is not None else 'not reached'}")
    support = str(n) if estimate.get("events") is None else f"{n} ({estimate['events']} losses)"
    return {"value": text, "interval": span, "n": support}


def _policy_values(report: dict[str, Any]) -> dict[str, str]:
    """Each definition's policy value in scope, e.g. "30%" or "30% (north), 40% (south)" when clinics differ."""
    out = {}
    for row in report["scope"]["definitions"]:
        unit = "%" if row["unit"] == "%" else ""
        distinct = set(row["values"].values())
        if len(distinct) <= 1:
            out[row["key"]] = next((f"{v}{unit}" for v in distinct), "—")
        else:
            out[row["key"]] = ", ".join(f"{v}{unit} ({slug})" for slug, v in row["values"].items())
    return out


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline estimates as the page and the command line write them, each with its definition."""
    values = _policy_values(report)
    words = {"pct": values["outcome.response_reduction_pct"], "cutoff": values["pcl5.provisional_cutoff"],
             "rc": values["pcl5.reliable_change"], "run": values["relapse.act_consecutive_checkins"]}
    out = []
    for label, key, kind, definition, basis in ROWS:
        estimate = report[key]
        support = estimate["n"] if estimate.get("events") is None else estimate["events"]
        out.append({"label": label, "key": key, "shown": show(estimate, kind), "basis": basis,
                    "definition": definition.format(**words),
                    "too_few": 0 < support < report["scope"]["min_n_to_judge"]})
    return out


KINDS = {key: kind for _, key, kind, _, _ in ROWS}
