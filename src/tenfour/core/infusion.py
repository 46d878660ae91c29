"""An infusion session at the chairside: its lifecycle, the pre-checks before a start, and the pump's progress.

Pure Python, no I/O. The clinical lines themselves live in ``dosing.py`` (weight recency), ``vitals.py``
(pre-infusion vitals, return to duty) and ``rosters.py`` (the no-duty window); this module only puts them
together for one session and adds the pre-checks that have no home elsewhere (fasting, escort, pregnancy
test), each with its policy key. Product choices are labelled so.

Lifecycle (issue 5): scheduled -> arrived -> prechecks_passed -> infusing -> recovery -> discharged, or
aborted (with a reason) from any step before the end. No step can be skipped and nothing leaves a final state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from tenfour.core import dosing, rosters, vitals
from tenfour.core.errors import CoreError, FieldProblem


class Step(StrEnum):
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    PRECHECKS_PASSED = "prechecks_passed"
    INFUSING = "infusing"
    RECOVERY = "recovery"
    DISCHARGED = "discharged"
    ABORTED = "aborted"

    @property
    def label(self) -> str:
        return STEP_LABELS[self]

    @property
    def is_final(self) -> bool:
        return self in (Step.DISCHARGED, Step.ABORTED)

    @property
    def is_in_chair(self) -> bool:
        """The patient is at the clinic (arrived up to recovery)."""
        return self in (Step.ARRIVED, Step.PRECHECKS_PASSED, Step.INFUSING, Step.RECOVERY)


STEP_LABELS = {
    Step.SCHEDULED: "Scheduled", Step.ARRIVED: "Arrived", Step.PRECHECKS_PASSED: "Pre-checks passed",
    Step.INFUSING: "Infusing", Step.RECOVERY: "Recovery", Step.DISCHARGED: "Discharged", Step.ABORTED: "Aborted",
}
ORDER = (Step.SCHEDULED, Step.ARRIVED, Step.PRECHECKS_PASSED, Step.INFUSING, Step.RECOVERY, Step.DISCHARGED)


def next_step(current: Step | str) -> Step | None:
    """The one step that may follow ``current`` on the way to discharge (None from a final state)."""
    step = Step(current)
    if step.is_final:
        return None
    return ORDER[ORDER.index(step) + 1]


def check_transition(current: Step | str, target: Step | str) -> None:
    """Raise CoreError (field ``status``) unless ``current -> target`` is a legal move.

    Legal: the next step in ORDER, or ``aborted`` from any step that is not final. Rules named:
    ``session_closed`` (from discharged/aborted), ``lifecycle_order`` (a skipped, repeated or backward step).
    """
    step, goal = Step(current), Step(target)
    if step.is_final:
        raise CoreError.single("status", "session_closed",
                               f"the session is {step.label.lower()}; nothing can change its step any more")
    if goal is Step.ABORTED or goal == next_step(step):
        return
    expected = next_step(step)
    assert expected is not None
    raise CoreError.single("status", "lifecycle_order",
                           f"a session that is '{step.label}' can only go to '{expected.label}' next "
                           f"(or be aborted), not to '{goal.label}'; no step can be skipped")


# --- Pre-checks -----------------------------------------------------------------------------------------


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    WARN = "warn"  # shown to the nurse; does not block the start
    BLOCK = "block"  # the session cannot pass pre-checks


class PregnancyResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


@dataclass(frozen=True)
class Finding:
    """One pre-check: ``code`` names the check, ``rule`` the policy key (or product-choice rule) behind it."""

    code: str
    rule: str
    outcome: Outcome
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "rule": self.rule, "outcome": self.outcome.value, "message": self.message}


CHECK_WEIGHT = "weight_recent"
CHECK_VITALS = "pre_infusion_vitals"
CHECK_FASTING = "fasting"
CHECK_ESCORT = "escort"
CHECK_PREGNANCY = "pregnancy_test"
CHECK_DUTY = "next_duty_shift"


@dataclass(frozen=True)
class PrecheckPolicy:
    """The clinic settings the pre-checks use (defaults and sources in ``policy.py``)."""

    max_weight_age_days: int
    fasting_required: bool
    fasting_hours: float
    escort_required: bool
    no_duty_window_h: float

    @classmethod
    def from_policy(cls, values: dict[str, object]) -> PrecheckPolicy:
        return cls(max_weight_age_days=int(values["dose.max_weight_age_days"]),  # type: ignore[call-overload]
                   fasting_required=bool(values["precheck.fasting_required"]),
                   fasting_hours=float(values["precheck.fasting_hours"]),  # type: ignore[arg-type]
                   escort_required=bool(values["discharge.escort_required"]),
                   no_duty_window_h=float(values["duty.no_duty_window_h"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class DutyInfo:
    """What is known about the patient's next duty: a roster (preferred), else what the patient told the nurse
    (``declared_next_shift_at``, or ``declared_no_shift_in_window`` when no shift starts within the window)."""

    roster: rosters.Roster | None = None
    declared_next_shift_at: datetime | None = None
    declared_no_shift_in_window: bool = False


@dataclass(frozen=True)
class DutyFinding:
    finding: Finding
    next_shift_at: datetime | None  # UTC, from the roster or as declared
    source: str  # "roster" | "asked" | "unknown"
    earliest_duty_at: datetime  # UTC: expected infusion end + the no-duty window


@dataclass(frozen=True)
class PrecheckResult:
    findings: list[Finding]
    duty: DutyFinding

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.BLOCK]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def passed_with_duty_override(self) -> bool:
        """True when the only blocking check is the next duty shift (which a prescriber may override)."""
        return bool(self.blocking) and all(f.code == CHECK_DUTY for f in self.blocking)


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


def _aware(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def duty_check(duty: DutyInfo, session_start: datetime, expected_infusion_end: datetime,
               no_duty_window_h: float, tz: str) -> DutyFinding:
    """The next duty shift against the no-duty window (``duty.no_duty_window_h``, default 24 h; Ketalar label:
    no driving or hazardous work for 24 h after the infusion).

    With a roster, ``rosters.duty_conflict`` decides (on duty during [session_start, expected_infusion_end), or
    a shift starting within the window after the expected infusion end). Without one, the shift the patient
    declared is compared with ``vitals.return_to_duty_at(expected end)``: a shift starting exactly at the end of
    the window is allowed, as in ``rosters.duty_conflict``. Knowing nothing blocks: the nurse must ask.
    """
    problems = [FieldProblem(n, "timezone_aware", "must be a timezone-aware date and time")
                for n, v in (("session_start", session_start), ("expected_infusion_end", expected_infusion_end))
                if not _aware(v)]
    if duty.declared_next_shift_at is not None and not _aware(duty.declared_next_shift_at):
        problems.append(FieldProblem("next_shift_at", "timezone_aware", "must be a timezone-aware date and time"))
    if problems:
        raise CoreError(problems)
    earliest = vitals.return_to_duty_at(expected_infusion_end.astimezone(UTC),
                                        vitals.VitalsPolicy(no_duty_window_h=no_duty_window_h))  # type: ignore[arg-type]
    window = f"{no_duty_window_h:g} h"
    if duty.roster is not None:
        next_shift = rosters.next_shift_start(duty.roster, session_start)
        conflict = rosters.duty_conflict(duty.roster, session_start, expected_infusion_end, no_duty_window_h)
        if conflict is not None:
            finding = Finding(CHECK_DUTY, "duty.no_duty_window_h", Outcome.BLOCK,
                              f"From the roster: {conflict.message} Reschedule, or a prescriber records an override.")
            return DutyFinding(finding, conflict.shift.start, "roster", earliest)
        when = f"next shift {_local(next_shift, tz)}" if next_shift else "no shift in the next 400 days"
        finding = Finding(CHECK_DUTY, "duty.no_duty_window_h", Outcome.PASS,
                          f"From the roster: {when}; earliest duty {_local(earliest, tz)} (no duty within "
                          f"{window} after the infusion).")
        return DutyFinding(finding, next_shift, "roster", earliest)
    if duty.declared_next_shift_at is not None:
        shift = duty.declared_next_shift_at.astimezone(UTC)
        if shift < earliest:
            gap = shift - expected_infusion_end.astimezone(UTC)
            hours = gap.total_seconds() / 3600
            when = (f"{hours:.1f} h after the expected end of the infusion" if hours >= 0
                    else "before the infusion is expected to end")
            finding = Finding(CHECK_DUTY, "duty.no_duty_window_h", Outcome.BLOCK,
                              f"The patient's next shift starts {_local(shift, tz)}, {when}; no duty shift may "
                              f"start within {window} after an infusion (earliest {_local(earliest, tz)}). "
                              "Reschedule, or a prescriber records an override.")
        else:
            finding = Finding(CHECK_DUTY, "duty.no_duty_window_h", Outcome.PASS,
                              f"As the patient says: next shift {_local(shift, tz)}; earliest duty "
                              f"{_local(earliest, tz)}.")
        return DutyFinding(finding, shift, "asked", earliest)
    if duty.declared_no_shift_in_window:
        finding = Finding(CHECK_DUTY, "duty.no_duty_window_h", Outcome.PASS,
                          f"The patient says no duty shift starts before {_local(earliest, tz)} (within {window} "
                          "after the infusion).")
        return DutyFinding(finding, None, "asked", earliest)
    finding = Finding(CHECK_DUTY, "next_shift_required", Outcome.BLOCK,
                      "No roster on file: ask the patient when their next duty shift starts (or confirm that none "
                      f"starts before {_local(earliest, tz)}).")
    return DutyFinding(finding, None, "unknown", earliest)


def evaluate_prechecks(*, now: datetime, weight_measured_at: datetime, pre_vitals: vitals.Evaluation,
                       fasting_hours: float | None, escort_confirmed: bool, pregnancy_check_required: bool,
                       pregnancy_result: str | None, duty: DutyFinding, policy: PrecheckPolicy,
                       tz: str = "UTC") -> PrecheckResult:
    """Every pre-check before an infusion, each with its outcome; nothing here raises for a failed check.

    Checks: weight measured within ``dose.max_weight_age_days`` (``dosing.weight_is_recent``); the
    pre-infusion vitals level (hold or stop blocks, caution warns; ``vitals.evaluate`` with phase ``pre``);
    fasting for at least ``precheck.fasting_hours`` when ``precheck.fasting_required``; an escort or ride home
    with a responsible adult when ``discharge.escort_required`` (Ketalar label); a negative pregnancy test when
    the signed plan requires one (pregnancy is a contraindication); the next duty shift (``duty_check``).
    A weight measured after ``now`` or a negative fasting time raises CoreError (bad input, not a failed check).
    """
    problems: list[FieldProblem] = []
    if fasting_hours is not None and (not math.isfinite(fasting_hours) or not 0 <= fasting_hours <= 72):
        problems.append(FieldProblem("fasting_hours", "plausible_range", "must be between 0 and 72 hours"))
    if pregnancy_result is not None and pregnancy_result not in {r.value for r in PregnancyResult}:
        problems.append(FieldProblem("pregnancy_result", "known_choice", "must be negative or positive"))
    if problems:
        raise CoreError(problems)
    recent = dosing.weight_is_recent(weight_measured_at, now, policy.max_weight_age_days)
    findings: list[Finding] = []
    age_days = (now.astimezone(UTC) - weight_measured_at.astimezone(UTC)) / timedelta(days=1)
    if recent:
        findings.append(Finding(CHECK_WEIGHT, "dose.max_weight_age_days", Outcome.PASS,
                                f"Weight measured {_local(weight_measured_at, tz)} (within "
                                f"{policy.max_weight_age_days} days)."))
    else:
        findings.append(Finding(CHECK_WEIGHT, "dose.max_weight_age_days", Outcome.BLOCK,
                                f"The weight is {age_days:.0f} days old; weigh the patient (must be within "
                                f"{policy.max_weight_age_days} days)."))

    level = pre_vitals.level
    details = "; ".join(r.message for r in pre_vitals.reasons)
    if level >= vitals.Level.HOLD:
        findings.append(Finding(CHECK_VITALS, _first_rule(pre_vitals), Outcome.BLOCK,
                                f"Vitals at {level.value.upper()} level: do not start. {details}"))
    elif level is vitals.Level.CAUTION:
        findings.append(Finding(CHECK_VITALS, _first_rule(pre_vitals), Outcome.WARN,
                                f"Vitals at caution level: the infusion may start; watch closely. {details}"))
    else:
        findings.append(Finding(CHECK_VITALS, "vitals.pre_caution_sbp", Outcome.PASS, "Vitals within the lines."))

    if policy.fasting_required:
        if fasting_hours is None:
            findings.append(Finding(CHECK_FASTING, "precheck.fasting_hours", Outcome.BLOCK,
                                    f"Ask when the patient last ate: fasting for at least {policy.fasting_hours:g} h "
                                    "is required."))
        elif fasting_hours < policy.fasting_hours:
            findings.append(Finding(CHECK_FASTING, "precheck.fasting_hours", Outcome.BLOCK,
                                    f"Fasting {fasting_hours:g} h; at least {policy.fasting_hours:g} h is required "
                                    "(nausea and aspiration risk)."))
        else:
            findings.append(Finding(CHECK_FASTING, "precheck.fasting_hours", Outcome.PASS,
                                    f"Fasting {fasting_hours:g} h (at least {policy.fasting_hours:g} h)."))

    if policy.escort_required:
        findings.append(Finding(CHECK_ESCORT, "discharge.escort_required",
                                Outcome.PASS if escort_confirmed else Outcome.BLOCK,
                                "A responsible adult will take the patient home." if escort_confirmed else
                                "Confirm a responsible adult to take the patient home (no driving for "
                                f"{policy.no_duty_window_h:g} h; Ketalar label)."))

    if pregnancy_check_required:
        if pregnancy_result is None:
            findings.append(Finding(CHECK_PREGNANCY, "plan.pregnancy_check_required", Outcome.BLOCK,
                                    "The signed plan requires a pregnancy test before each infusion."))
        elif pregnancy_result == PregnancyResult.POSITIVE:
            findings.append(Finding(CHECK_PREGNANCY, "contraindication.pregnant", Outcome.BLOCK,
                                    "Positive pregnancy test: pregnancy is a contraindication. Do not infuse; "
                                    "tell the prescriber."))
        else:
            findings.append(Finding(CHECK_PREGNANCY, "plan.pregnancy_check_required", Outcome.PASS,
                                    "Pregnancy test negative."))

    findings.append(duty.finding)
    return PrecheckResult(findings, duty)


def _first_rule(evaluation: vitals.Evaluation) -> str:
    return evaluation.reasons[0].rule if evaluation.reasons else "vitals"


# --- The pump -------------------------------------------------------------------------------------------


class PumpAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    RATE = "rate"  # a new rate while running (or while paused: takes effect on resume)
    STOP = "stop"  # the infusion ends (complete, stopped early, or aborted)


@dataclass(frozen=True)
class PumpEvent:
    at: datetime
    action: PumpAction | str
    rate_ml_per_h: Decimal | None = None


@dataclass(frozen=True)
class Progress:
    """Where the infusion is at ``now``: volume given and left (mL), the current rate, and when it should end
    at that rate (None while paused or stopped)."""

    infused_ml: Decimal
    remaining_ml: Decimal
    rate_ml_per_h: Decimal
    running: bool
    paused: bool
    stopped: bool
    minutes_remaining: int | None
    expected_end: datetime | None
    running_minutes: int
    paused_minutes: int = 0
    warnings: list[str] = field(default_factory=list)


def progress(events: Sequence[PumpEvent], volume_ml: Decimal, now: datetime) -> Progress:
    """Volume infused = the sum of rate x running time over the pump's events; time remaining = the volume
    left at the current rate, rounded up to whole minutes. Pauses stop the clock; a new rate applies from its
    event. Events after ``now`` are ignored. CoreError for an impossible sequence (a pause before a start, a
    negative rate)."""
    problems: list[FieldProblem] = []
    ordered = sorted(events, key=lambda e: e.at)
    if not _aware(now):
        problems.append(FieldProblem("now", "timezone_aware", "must be a timezone-aware date and time"))
    if volume_ml <= 0:
        problems.append(FieldProblem("volume_ml", "positive", "must be more than 0 mL"))
    if problems:
        raise CoreError(problems)
    infused = Decimal(0)
    rate = Decimal(0)
    running = paused = stopped = started = False
    running_s = paused_s = 0.0
    last = None
    for event in ordered:
        if event.at > now:
            break
        action = PumpAction(event.action)
        if last is not None:
            seconds = Decimal(str((event.at - last).total_seconds()))
            if running:
                infused += rate * seconds / 3600
                running_s += float(seconds)
            elif paused:
                paused_s += float(seconds)
        last = event.at
        if event.rate_ml_per_h is not None and event.rate_ml_per_h <= 0:
            raise CoreError.single("rate_ml_per_h", "positive", "a pump rate must be more than 0 mL/h")
        if action is PumpAction.START:
            if started:
                raise CoreError.single("pump", "sequence", "the pump was already started")
            started, running = True, True
            rate = event.rate_ml_per_h or Decimal(0)
        elif not started or stopped:
            raise CoreError.single("pump", "sequence", f"'{action.value}' before the pump started or after it stopped")
        elif action is PumpAction.PAUSE:
            running, paused = False, True
        elif action is PumpAction.RESUME:
            running, paused = True, False
            rate = event.rate_ml_per_h or rate
        elif action is PumpAction.RATE:
            rate = event.rate_ml_per_h or rate
        elif action is PumpAction.STOP:
            running = paused = False
            stopped = True
    if last is not None and not stopped:
        seconds = Decimal(str((now - last).total_seconds()))
        if running:
            infused += rate * seconds / 3600
            running_s += float(seconds)
        elif paused:
            paused_s += float(seconds)
    warnings = []
    if infused > volume_ml:
        infused = volume_ml
        if running:
            warnings.append("the whole volume should have been given: check the pump and end the infusion")
    infused = infused.quantize(Decimal("0.01"))
    remaining = max(Decimal(0), volume_ml - infused)
    minutes_remaining = None
    expected_end = None
    if running and rate > 0:
        minutes_remaining = math.ceil(float(remaining / rate * 60))
        expected_end = now + timedelta(minutes=minutes_remaining)
    return Progress(infused, remaining, rate, running, paused, stopped, minutes_remaining, expected_end,
                    int(running_s // 60), int(paused_s // 60), warnings)
