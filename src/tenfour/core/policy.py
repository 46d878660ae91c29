"""Clinic policy: every clinical and operational threshold, with its default and its source.

Each clinic stores only the values it has changed; everything else falls back to the default here.
Evidence and product choices are kept apart (``basis``), and both are shown to users beside the value.
Pure Python: no I/O. The clinics domain persists overrides and audits every change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Basis(StrEnum):
    EVIDENCE = "evidence"  # a published study, guideline or consensus
    LABEL = "label"  # a drug label (ketamine / esketamine prescribing information)
    PRACTICE = "practice"  # published clinical practice (e.g. a named centre's protocol)
    PRODUCT = "product choice"  # TenFour's own choice; labelled so everywhere it is shown
    OPERATIONS = "operations"  # how the clinic runs, not a clinical claim


@dataclass(frozen=True)
class PolicySetting:
    key: str
    group: str
    label: str
    default: int | float | bool | str
    unit: str
    basis: Basis
    source: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> type:
        return type(self.default)


class PolicyError(ValueError):
    """A policy value that is unknown, of the wrong type or out of its allowed range."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _s(*args: Any, **kwargs: Any) -> PolicySetting:
    return PolicySetting(*args, **kwargs)


NCPTSD = "National Center for PTSD, Using the PTSD Checklist for DSM-5 (PCL-5)"
FEDER = "Feder et al. 2021, Am J Psychiatry 178:193-202"
SANACORA = "Sanacora et al. 2017, JAMA Psychiatry 74:399-405 (APA consensus on ketamine)"
ESKETAMINE = "Spravato (esketamine) prescribing information: blood pressure before dosing"
KETAMINE_LABEL = "Ketalar (ketamine) prescribing information: no driving or hazardous work for 24 h"
EMORY = "Emory ketamine service practice: vitals every 10 min during, every 15 min after infusion"

SETTINGS: tuple[PolicySetting, ...] = (
    # --- Instruments and outcomes -------------------------------------------------------------
    _s("pcl5.provisional_cutoff", "Instruments and outcomes", "PCL-5 provisional PTSD cutoff", 33,
       "points", Basis.EVIDENCE, NCPTSD + ": a cutoff of 31-33 indicates probable PTSD", 0, 80),
    _s("pcl5.reliable_change", "Instruments and outcomes", "PCL-5 reliable change", 10, "points",
       Basis.EVIDENCE, NCPTSD + ": 5-10 points reliable, 10-20 clinically significant; Marx 2022 "
       "(veterans) 15-18; Blanchard 2023 minimal important difference 9-12", 1, 80),
    _s("outcome.response_reduction_pct", "Instruments and outcomes",
       "Response: PCL-5 reduction from course baseline", 30, "%", Basis.PRODUCT,
       "Product choice mirroring the >=30% CAPS-5 response rule of " + FEDER, 1, 100),
    _s("outcome.remission_below_cutoff", "Instruments and outcomes",
       "Remission: PCL-5 below the provisional cutoff", True, "", Basis.PRODUCT,
       "Product choice: remission = PCL-5 under the clinic's provisional cutoff"),
    _s("phq9.item9_same_day_assessment", "Instruments and outcomes",
       "PHQ-9 item 9 > 0 starts a same-day suicide-risk assessment", True, "", Basis.EVIDENCE,
       "Kroenke et al. 2001, J Gen Intern Med 16:606-613"),
    # --- Eligibility --------------------------------------------------------------------------
    _s("eligibility.min_age_years", "Eligibility", "Minimum age", 18, "years", Basis.PRODUCT,
       "Adult-only service: ketamine for PTSD is studied in adults (" + SANACORA + ")", 0, 120),
    _s("eligibility.review_sbp", "Eligibility", "Prescriber review above systolic BP", 140, "mmHg",
       Basis.LABEL, ESKETAMINE + " (caution above 140/90)", 80, 250),
    _s("eligibility.review_dbp", "Eligibility", "Prescriber review above diastolic BP", 90, "mmHg",
       Basis.LABEL, ESKETAMINE + " (caution above 140/90)", 40, 150),
    _s("eligibility.exclude_sbp", "Eligibility", "Exclude at systolic BP at or above", 180, "mmHg",
       Basis.PRODUCT, "Uncontrolled hypertension is a contraindication (" + SANACORA + "); "
       "180/110 is the clinic's default line", 80, 260),
    _s("eligibility.exclude_dbp", "Eligibility", "Exclude at diastolic BP at or above", 110, "mmHg",
       Basis.PRODUCT, "Uncontrolled hypertension is a contraindication (" + SANACORA + "); "
       "180/110 is the clinic's default line", 40, 160),
    # --- Dosing -------------------------------------------------------------------------------
    _s("dose.default_mg_per_kg", "Dosing", "Default dose", 0.5, "mg/kg", Basis.EVIDENCE,
       SANACORA + "; Feder 2014 and " + FEDER, 0.05, 2.0),
    _s("dose.max_mg_per_kg", "Dosing", "Maximum dose (refused above)", 1.0, "mg/kg", Basis.PRODUCT,
       "Clinic maximum; trials used 0.5 mg/kg (" + SANACORA + ")", 0.1, 2.0),
    _s("dose.infusion_duration_min", "Dosing", "Infusion duration", 40, "min", Basis.EVIDENCE,
       SANACORA, 10, 240),
    _s("dose.weight_basis", "Dosing", "Weight used for dosing", "actual", "", Basis.PRODUCT,
       "Actual body weight as in the trials; ideal (Devine 1974) or adjusted (IBW + 0.4 x (ABW - IBW)) "
       "body weight are clinic options", choices=("actual", "ideal", "adjusted")),
    _s("dose.concentration_mg_per_ml", "Dosing", "Ketamine concentration after dilution", 1.0, "mg/mL",
       Basis.OPERATIONS, "Pharmacy preparation of the clinic", 0.1, 100.0),
    _s("dose.rounding_mg", "Dosing", "Round the dose to the nearest", 0.5, "mg", Basis.OPERATIONS,
       "Pharmacy practice of the clinic", 0.01, 10.0),
    _s("dose.rounding_ml_per_h", "Dosing", "Round the pump rate to the nearest", 0.1, "mL/h",
       Basis.OPERATIONS, "Infusion pump resolution of the clinic", 0.01, 10.0),
    _s("dose.max_weight_age_days", "Dosing", "Weight must be measured within", 30, "days",
       Basis.PRODUCT, "Default of the clinic: a recent weight for weight-based dosing", 1, 365),
    _s("dose.second_person_verification", "Dosing", "Second person verifies the dose", True, "",
       Basis.OPERATIONS, "Independent double check of high-alert infusions (clinic practice)"),
    # --- Infusion course ----------------------------------------------------------------------
    _s("course.induction_sessions", "Infusion course", "Induction infusions", 6, "infusions",
       Basis.EVIDENCE, FEDER + ": 6 infusions over 2 weeks", 1, 12),
    _s("course.max_sessions_per_week", "Infusion course", "At most infusions a week", 3, "per week",
       Basis.EVIDENCE, FEDER + ": 3 a week", 1, 7),
    _s("course.min_days_between_sessions", "Infusion course", "At least days between infusions", 1,
       "days", Basis.PRODUCT, "At least one clear day between infusions (Mon/Wed/Fri as in " + FEDER + ")",
       0, 14),
    _s("course.series_window_days", "Infusion course", "Whole series within", 21, "days",
       Basis.PRODUCT, "Product choice: 2 weeks as in " + FEDER + ", with one week of slack", 7, 60),
    # --- Vitals -------------------------------------------------------------------------------
    _s("vitals.pre_caution_sbp", "Vitals", "Before infusion: caution above systolic", 140, "mmHg",
       Basis.LABEL, ESKETAMINE, 80, 250),
    _s("vitals.pre_caution_dbp", "Vitals", "Before infusion: caution above diastolic", 90, "mmHg",
       Basis.LABEL, ESKETAMINE, 40, 150),
    _s("vitals.pre_hold_sbp", "Vitals", "Before infusion: hold at systolic", 180, "mmHg", Basis.PRODUCT,
       "Default of the clinic, aligned with uncontrolled hypertension (" + SANACORA + ")", 80, 260),
    _s("vitals.pre_hold_dbp", "Vitals", "Before infusion: hold at diastolic", 110, "mmHg", Basis.PRODUCT,
       "Default of the clinic, aligned with uncontrolled hypertension (" + SANACORA + ")", 40, 160),
    _s("vitals.notify_sbp", "Vitals", "During: notify prescriber at systolic", 180, "mmHg",
       Basis.PRACTICE, "Practice data: BP peaks near 40 min, +16/+11 mmHg on average", 80, 260),
    _s("vitals.notify_dbp", "Vitals", "During: notify prescriber at diastolic", 110, "mmHg",
       Basis.PRACTICE, "Practice data: BP peaks near 40 min, +16/+11 mmHg on average", 40, 160),
    _s("vitals.notify_hr", "Vitals", "During: notify above heart rate", 130, "/min", Basis.PRODUCT,
       "Default of the clinic", 60, 220),
    _s("vitals.notify_spo2", "Vitals", "During: notify below SpO2", 92, "%", Basis.PRODUCT,
       "Default of the clinic", 70, 100),
    _s("vitals.stop_sbp", "Vitals", "During: stop infusion at systolic", 200, "mmHg", Basis.PRODUCT,
       "Default of the clinic", 80, 280),
    _s("vitals.stop_dbp", "Vitals", "During: stop infusion at diastolic", 120, "mmHg", Basis.PRODUCT,
       "Default of the clinic", 40, 180),
    _s("vitals.stop_spo2", "Vitals", "During: stop infusion below SpO2", 88, "%", Basis.PRODUCT,
       "Default of the clinic", 60, 100),
    _s("vitals.interval_infusing_min", "Vitals", "Vitals every (infusing)", 10, "min", Basis.PRACTICE,
       EMORY, 1, 60),
    _s("vitals.interval_recovery_min", "Vitals", "Vitals every (recovery)", 15, "min", Basis.PRACTICE,
       EMORY, 1, 120),
    # --- Discharge and duty -------------------------------------------------------------------
    _s("discharge.min_observation_min", "Discharge and duty", "Observe after infusion end at least", 40,
       "min", Basis.PRODUCT, "Default of the clinic (practice: observation until recovered)", 0, 480),
    _s("discharge.escort_required", "Discharge and duty", "Responsible adult required at discharge",
       True, "", Basis.LABEL, KETAMINE_LABEL),
    _s("duty.no_duty_window_h", "Discharge and duty", "No duty shift may start within (after infusion end)",
       24, "hours", Basis.LABEL, KETAMINE_LABEL + "; for people who drive emergency vehicles and carry "
       "firearms the clinic applies it to duty", 0, 168),
    _s("precheck.fasting_required", "Discharge and duty", "Fasting required before infusion", True, "",
       Basis.OPERATIONS, "Clinic protocol (nausea and aspiration risk)"),
    _s("precheck.fasting_hours", "Discharge and duty", "Fasting for at least", 4, "hours",
       Basis.OPERATIONS, "Clinic protocol", 0, 12),
    # --- Check-ins and relapse ----------------------------------------------------------------
    _s("checkin.first_after_infusion_h", "Check-ins and relapse", "First check-in after the first infusion",
       24, "hours", Basis.PRODUCT, "Seed claim to verify: improvement within 24 hours", 1, 96),
    _s("checkin.weekly_until_week", "Check-ins and relapse", "Weekly check-ins until week after course",
       14, "weeks", Basis.PRODUCT, "Seed claim to verify: effects last up to 14 weeks", 1, 52),
    _s("checkin.monthly_interval_days", "Check-ins and relapse", "Then check-ins every", 30, "days",
       Basis.PRODUCT, "Product choice", 7, 120),
    _s("checkin.alternate_short_form", "Check-ins and relapse", "Use PCL-5 8-item form on alternate weeks",
       False, "", Basis.PRODUCT, "Price et al. 2016 (PCL-5 short form)"),
    # Reminders (issue 6): when an email reminder may go out. Never at night, never on shift (roster).
    _s("checkin.default_reminder_hour", "Check-ins and relapse",
       "Reminder hour until the patient chooses one", 10, "hour (0-23, patient's time)", Basis.OPERATIONS,
       "Clinic operations; each patient chooses their own hour", 0, 23),
    _s("checkin.quiet_hours_start_h", "Check-ins and relapse", "No reminders from (night starts)", 21,
       "hour (0-23, patient's time)", Basis.PRODUCT, "Product choice: no reminders at night in the patient's "
       "time zone (sleep matters in PTSD care)", 0, 23),
    _s("checkin.quiet_hours_end_h", "Check-ins and relapse", "No reminders until (night ends)", 8,
       "hour (0-23, patient's time)", Basis.PRODUCT, "Product choice: no reminders at night in the patient's "
       "time zone", 0, 23),
    _s("checkin.max_reminders", "Check-ins and relapse", "Reminders per check-in at most", 2, "emails",
       Basis.PRODUCT, "Product choice: one on the day, one the next day if still open", 1, 5),
    _s("checkin.reminder_link_ttl_h", "Check-ins and relapse", "A reminder's link works for", 72, "hours",
       Basis.OPERATIONS, "Single-use link; a newer reminder replaces it", 1, 336),
    _s("relapse.act_consecutive_checkins", "Check-ins and relapse",
       "Loss of response after consecutive non-responding check-ins", 2, "check-ins", Basis.PRODUCT,
       "Product choice", 1, 6),
    _s("relapse.watch_warning_signs", "Check-ins and relapse", "Watch at warning signs endorsed", 3,
       "signs", Basis.PRODUCT, "Product choice", 1, 10),
    _s("relapse.watch_slope_points_per_week", "Check-ins and relapse",
       "Watch at PCL-5 trend (last 3 scores) of", 2.0, "points/week", Basis.PRODUCT, "Product choice",
       0.1, 20.0),
    _s("relapse.watch_overdue_days", "Check-ins and relapse", "Watch when a check-in is overdue by", 3,
       "days", Basis.PRODUCT, "Product choice", 1, 30),
    _s("alerts.urgent_ack_limit_min", "Check-ins and relapse",
       "Escalate an unacknowledged urgent alert after", 15, "min", Basis.PRODUCT, "Product choice", 1, 120),
    _s("maintenance.window_open_pct", "Check-ins and relapse",
       "Booster window opens at (share of median durability)", 75, "%", Basis.PRODUCT, "Product choice",
       10, 100),
    _s("maintenance.window_close_pct", "Check-ins and relapse",
       "Booster window closes at (share of median durability)", 100, "%", Basis.PRODUCT, "Product choice",
       10, 150),
    # --- Scheduling ---------------------------------------------------------------------------
    _s("schedule.prep_min", "Scheduling", "Chair preparation time", 20, "min", Basis.OPERATIONS,
       "Clinic operations", 0, 120),
    _s("schedule.recovery_min", "Scheduling", "Chair recovery time", 40, "min", Basis.OPERATIONS,
       "Clinic operations (observation after infusion)", 0, 240),
    _s("schedule.max_infusing_per_nurse", "Scheduling", "At most patients infusing per nurse", 2,
       "patients", Basis.OPERATIONS, "Clinic staffing", 1, 8),
    # Asked for by the scheduling engine (issue 7): its start grid and the start target of a series.
    _s("schedule.start_step_min", "Scheduling", "Sessions start every", 20, "min", Basis.OPERATIONS,
       "Clinic operations: with 20/40/40 min prep/infusion/recovery a 20-min grid lets sessions follow one "
       "another on a chair with no idle minutes", 5, 120),
    _s("schedule.start_target_days", "Scheduling", "An induction series should start within", 7, "days",
       Basis.PRODUCT, "Product choice: a first infusion within a week of the request (the optimiser's "
       "target and the benchmark's measure)", 1, 60),
    # --- Research exports (issue 8) -------------------------------------------------------------
    _s("export.min_cell_size", "Research exports", "De-identified export: smallest group shown", 11, "patients",
       Basis.EVIDENCE, "CMS cell size suppression policy (ResDAC): no cell of 1 to 10 may be shown; applied to the "
       "patients sharing site, role, sex and age band in a row-level export", 5, 100),
    # --- Security -----------------------------------------------------------------------------
    _s("security.staff_idle_timeout_min", "Security", "Sign staff out after idle", 15, "min",
       Basis.OPERATIONS, "HIPAA Security Rule 164.312(a)(2)(iii) automatic logoff", 1, 240),
    _s("security.session_lifetime_h", "Security", "Sign everyone out after", 12, "hours",
       Basis.OPERATIONS, "OWASP ASVS 3.3 absolute session lifetime", 1, 720),
    _s("security.require_staff_mfa", "Security", "Require two-factor sign-in for staff", False, "",
       Basis.OPERATIONS, "HIPAA Security Rule 164.312(d) person or entity authentication; NIST SP 800-63B "
       "AAL2 (a password and an authenticator app)"),
    _s("security.reauth_window_min", "Security",
       "Ask for the password again before signing, overriding or exporting, if signed in more than", 10, "min",
       Basis.PRODUCT, "Product choice applying OWASP ASVS 4.0 V3.7.1 (re-authenticate before sensitive "
       "transactions) and NIST SP 800-63B §7.2 (re-authentication)", 1, 720),
    # --- Privacy ------------------------------------------------------------------------------
    _s("privacy.retention_years", "Privacy",
       "Keep a closed record (discharged, ineligible, or never started) after its last activity for", 6, "years",
       Basis.OPERATIONS, "Clinic choice: no single rule applies. State medical-record retention laws vary (often 6 "
       "to 10 years after the last visit for adults, longer for minors): check yours. 6 years matches HIPAA's "
       "retention of required documentation, 45 CFR 164.316(b)(2)(i), which covers policies and audit records, "
       "not the medical record itself", 1, 100),
)

BY_KEY: dict[str, PolicySetting] = {s.key: s for s in SETTINGS}


def default(key: str) -> Any:
    """The default of a policy setting (KeyError for an unknown key)."""
    return BY_KEY[key].default


def validate(key: str, raw: Any) -> int | float | bool | str:
    """Check one value against its setting and return it in the setting's type."""
    setting = BY_KEY.get(key)
    if setting is None:
        raise PolicyError(key, "is not a clinic policy setting")
    kind = setting.kind
    value: int | float | bool | str
    if kind is bool:
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().lower() in {"true", "on", "yes", "1", "false", "off", "no", "0"}:
            value = raw.strip().lower() in {"true", "on", "yes", "1"}
        else:
            raise PolicyError(key, "must be true or false")
        return value
    if kind is str:
        if not isinstance(raw, str) or raw not in setting.choices:
            raise PolicyError(key, f"must be one of: {', '.join(setting.choices)}")
        return raw
    if isinstance(raw, bool):
        raise PolicyError(key, "must be a number")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise PolicyError(key, "must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise PolicyError(key, "must be a finite number")
    if kind is int:
        if number != int(number):
            raise PolicyError(key, "must be a whole number")
        value = int(number)
    else:
        value = number
    if setting.minimum is not None and value < setting.minimum:
        raise PolicyError(key, f"must be at least {setting.minimum:g} {setting.unit}".rstrip())
    if setting.maximum is not None and value > setting.maximum:
        raise PolicyError(key, f"must be at most {setting.maximum:g} {setting.unit}".rstrip())
    return value


def resolve(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting's effective value: the clinic's override where it has one, else the default.

    Overrides for keys that no longer exist are ignored (a setting can be retired by a release).
    """
    values = {s.key: s.default for s in SETTINGS}
    for key, raw in overrides.items():
        if key in BY_KEY:
            values[key] = validate(key, raw)
    return values


def check_consistency(values: Mapping[str, Any]) -> list[PolicyError]:
    """Cross-setting rules: a caution line below a hold line, a notify line below a stop line, ..."""
    pairs = [
        ("vitals.pre_caution_sbp", "vitals.pre_hold_sbp"),
        ("vitals.pre_caution_dbp", "vitals.pre_hold_dbp"),
        ("vitals.notify_sbp", "vitals.stop_sbp"),
        ("vitals.notify_dbp", "vitals.stop_dbp"),
        ("eligibility.review_sbp", "eligibility.exclude_sbp"),
        ("eligibility.review_dbp", "eligibility.exclude_dbp"),
        ("dose.default_mg_per_kg", "dose.max_mg_per_kg"),
        ("maintenance.window_open_pct", "maintenance.window_close_pct"),
    ]
    errors = []
    for lower, upper in pairs:
        if values[lower] > values[upper]:
            errors.append(PolicyError(lower, f"must not be above {BY_KEY[upper].label.lower()} "
                                             f"({values[upper]} {BY_KEY[upper].unit})".rstrip()))
    if values["vitals.stop_spo2"] > values["vitals.notify_spo2"]:
        errors.append(PolicyError("vitals.stop_spo2", "must not be above the SpO2 notify line "
                                                      f"({values['vitals.notify_spo2']}%)"))
    return errors
