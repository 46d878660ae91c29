"""Vital signs around a ketamine infusion: threshold evaluation, timing, discharge and return to duty.

Defaults and sources are the clinic policy (``policy.py``, ``vitals.*``, ``discharge.*``, ``duty.*``):
pre-infusion caution above 140/90 (Spravato label), hold at 180/110; during the infusion notify at
SBP >= 180, DBP >= 110, HR > 130 or SpO2 < 92 %, stop at SBP >= 200, DBP >= 120 or SpO2 < 88 %; vitals
every 10 min infusing and 15 min in recovery (Emory practice); discharge after >= 40 min observation;
no duty or driving within 24 h (Ketalar label). Rules marked "product choice" are TenFour's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from functools import total_ordering
from typing import Any

from tenfour.core import policy
from tenfour.core.errors import CoreError, FieldProblem


class Phase(StrEnum):
    PRE = "pre"
    INFUSING = "infusing"
    RECOVERY = "recovery"


class Sedation(StrEnum):
    """Sedation/alertness scale (product choice: a simple AVPU-like scale, not a validated instrument)."""

    ALERT = "alert"
    DROWSY = "drowsy"
    RESPONDS_TO_VOICE = "responds_to_voice"
    RESPONDS_TO_TOUCH = "responds_to_touch"
    UNRESPONSIVE = "unresponsive"


@total_ordering
class Level(Enum):
    """Severity of a reading, ordered ok < caution < notify < hold < stop."""

    OK = "ok"
    CAUTION = "caution"
    NOTIFY = "notify"
    HOLD = "hold"
    STOP = "stop"

    @property
    def rank(self) -> int:
        return _LEVEL_ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank


_LEVEL_ORDER = (Level.OK, Level.CAUTION, Level.NOTIFY, Level.HOLD, Level.STOP)

# Input-plausibility limits: values outside are typing errors or artefacts and are rejected, not
# evaluated. They are NOT clinical thresholds.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "systolic_bp": (40, 300),  # mmHg
    "diastolic_bp": (20, 200),  # mmHg
    "heart_rate": (20, 250),  # /min
    "spo2": (50, 100),  # %
    "respiratory_rate": (4, 60),  # /min
}

UNITS = {"systolic_bp": "mmHg", "diastolic_bp": "mmHg", "heart_rate": "/min", "spo2": "%",
         "respiratory_rate": "/min", "sedation": ""}
LABELS = {"systolic_bp": "Systolic BP", "diastolic_bp": "Diastolic BP", "heart_rate": "Heart rate",
          "spo2": "SpO2", "respiratory_rate": "Respiratory rate", "sedation": "Sedation"}

# Rule keys of the product-choice sedation rules (no policy setting).
RULE_SEDATION_TOUCH = "sedation.responds_to_touch"
RULE_SEDATION_UNRESPONSIVE = "sedation.unresponsive"

_POLICY_KEYS = {
    "pre_caution_sbp": "vitals.pre_caution_sbp",
    "pre_caution_dbp": "vitals.pre_caution_dbp",
    "pre_hold_sbp": "vitals.pre_hold_sbp",
    "pre_hold_dbp": "vitals.pre_hold_dbp",
    "notify_sbp": "vitals.notify_sbp",
    "notify_dbp": "vitals.notify_dbp",
    "notify_hr": "vitals.notify_hr",
    "notify_spo2": "vitals.notify_spo2",
    "stop_sbp": "vitals.stop_sbp",
    "stop_dbp": "vitals.stop_dbp",
    "stop_spo2": "vitals.stop_spo2",
    "interval_infusing_min": "vitals.interval_infusing_min",
    "interval_recovery_min": "vitals.interval_recovery_min",
    "min_observation_min": "discharge.min_observation_min",
    "escort_required": "discharge.escort_required",
    "no_duty_window_h": "duty.no_duty_window_h",
}


@dataclass(frozen=True)
class VitalsPolicy:
    """The clinic's vitals, discharge and duty settings (defaults and sources in ``policy.py``)."""

    pre_caution_sbp: float = policy.default("vitals.pre_caution_sbp")
    pre_caution_dbp: float = policy.default("vitals.pre_caution_dbp")
    pre_hold_sbp: float = policy.default("vitals.pre_hold_sbp")
    pre_hold_dbp: float = policy.default("vitals.pre_hold_dbp")
    notify_sbp: float = policy.default("vitals.notify_sbp")
    notify_dbp: float = policy.default("vitals.notify_dbp")
    notify_hr: float = policy.default("vitals.notify_hr")
    notify_spo2: float = policy.default("vitals.notify_spo2")
    stop_sbp: float = policy.default("vitals.stop_sbp")
    stop_dbp: float = policy.default("vitals.stop_dbp")
    stop_spo2: float = policy.default("vitals.stop_spo2")
    interval_infusing_min: int = policy.default("vitals.interval_infusing_min")
    interval_recovery_min: int = policy.default("vitals.interval_recovery_min")
    min_observation_min: int = policy.default("discharge.min_observation_min")
    escort_required: bool = policy.default("discharge.escort_required")
    no_duty_window_h: int = policy.default("duty.no_duty_window_h")

    @classmethod
    def from_policy(cls, values: Mapping[str, Any]) -> VitalsPolicy:
        """Build from a resolved clinic policy dict (``policy.resolve(overrides)``)."""
        return cls(**{attr: values.get(key, policy.default(key)) for attr, key in _POLICY_KEYS.items()})


@dataclass(frozen=True)
class VitalsReading:
    """One set of vital signs. BP in mmHg, heart and respiratory rate per minute, SpO2 in %.
    ``taken_at`` (timezone-aware) is optional; discharge readiness uses it when present."""

    systolic_bp: float
    diastolic_bp: float
    heart_rate: float
    spo2: float
    respiratory_rate: float | None = None
    sedation: str | None = None
    taken_at: datetime | None = None


@dataclass(frozen=True)
class VitalsReason:
    """Why a reading is above ``ok``: the measurement, its value, the line it crossed and the rule key
    (a policy key, or ``sedation.*`` for the product-choice sedation rules)."""

    measurement: str
    value: float | str
    comparison: str  # ">", ">=", "<" or "=" (sedation)
    threshold: float | str
    rule: str
    level: Level
    message: str


@dataclass(frozen=True)
class Evaluation:
    level: Level
    reasons: list[VitalsReason] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    measurement: str
    comparison: str
    policy_attr: str
    level: Level

    @property
    def rule(self) -> str:
        return _POLICY_KEYS[self.policy_attr]


# Before the infusion the lines are the BP caution/hold lines. A heart rate or SpO2 past the
# during-infusion notify/stop lines, or a patient only responding to touch or unresponsive, holds the
# start (product choice: there is nothing to stop yet, and nobody should start an infusion into a reading
# that would already raise an alert).
_PRE_LINES = (
    _Line("systolic_bp", ">", "pre_caution_sbp", Level.CAUTION),
    _Line("diastolic_bp", ">", "pre_caution_dbp", Level.CAUTION),
    _Line("systolic_bp", ">=", "pre_hold_sbp", Level.HOLD),
    _Line("diastolic_bp", ">=", "pre_hold_dbp", Level.HOLD),
    _Line("heart_rate", ">", "notify_hr", Level.HOLD),
    _Line("spo2", "<", "notify_spo2", Level.HOLD),
)
# During the infusion (DESIGN.md). Recovery uses the same lines (product choice).
_DURING_LINES = (
    _Line("systolic_bp", ">=", "notify_sbp", Level.NOTIFY),
    _Line("diastolic_bp", ">=", "notify_dbp", Level.NOTIFY),
    _Line("heart_rate", ">", "notify_hr", Level.NOTIFY),
    _Line("spo2", "<", "notify_spo2", Level.NOTIFY),
    _Line("systolic_bp", ">=", "stop_sbp", Level.STOP),
    _Line("diastolic_bp", ">=", "stop_dbp", Level.STOP),
    _Line("spo2", "<", "stop_spo2", Level.STOP),
)
_COMPARE = {">": lambda v, t: v > t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t}
_WORDS = {">": "above", ">=": "at or above", "<": "below"}
_PHASE_WORDS = {Phase.PRE: "before the infusion", Phase.INFUSING: "during the infusion",
                Phase.RECOVERY: "in recovery"}


def _number(value: Any, name: str, problems: list[FieldProblem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(FieldProblem(name, "number", f"must be a finite number, got {value!r}"))
        return None
    return value


def _parse_phase(phase: Any, problems: list[FieldProblem]) -> Phase | None:
    try:
        return Phase(phase)
    except ValueError:
        problems.append(FieldProblem("phase", "known_choice",
                                     f"{phase!r} is not one of: pre, infusing, recovery"))
        return None


def check_reading(reading: VitalsReading) -> Sedation | None:
    """Reject physiologically impossible readings (CoreError listing every problem); return the sedation
    level parsed. The ranges are input-plausibility limits, not clinical thresholds."""
    problems: list[FieldProblem] = []
    values: dict[str, float] = {}
    for name in ("systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate"):
        raw = getattr(reading, name)
        if raw is None and name == "respiratory_rate":
            continue
        value = _number(raw, name, problems)
        if value is None:
            continue
        low, high = PLAUSIBLE_RANGES[name]
        if not low <= value <= high:
            problems.append(FieldProblem(name, "plausible_range",
                                         f"{value:g} {UNITS[name]} is not a plausible value "
                                         f"(accepted {low:g}-{high:g} {UNITS[name]})"))
        else:
            values[name] = value
    both_bp = "systolic_bp" in values and "diastolic_bp" in values
    if both_bp and values["diastolic_bp"] >= values["systolic_bp"]:
        problems.append(FieldProblem("diastolic_bp", "diastolic_below_systolic",
                                     f"diastolic {values['diastolic_bp']:g} mmHg must be below systolic "
                                     f"{values['systolic_bp']:g} mmHg"))
    sedation: Sedation | None = None
    if reading.sedation is not None:
        try:
            sedation = Sedation(reading.sedation)
        except ValueError:
            problems.append(FieldProblem("sedation", "known_choice",
                                         f"{reading.sedation!r} is not one of: "
                                         + ", ".join(s.value for s in Sedation)))
    if reading.taken_at is not None:
        _require_aware(reading.taken_at, "taken_at", problems)
    if problems:
        raise CoreError(problems)
    return sedation


def evaluate(reading: VitalsReading, phase: Phase | str, vitals_policy: VitalsPolicy) -> Evaluation:
    """Evaluate one reading for a phase (``pre``, ``infusing``, ``recovery``) against the clinic lines.

    The level is the most severe of all findings (ok < caution < notify < hold < stop); each measurement
    past a line gives one reason (its most severe). Sources: Spravato label (pre 140/90), clinic
    defaults and practice data (notify/stop, see ``policy.py``); recovery reuses the infusion lines and
    the sedation rules (touch -> notify, unresponsive -> stop) are product choices. Impossible values
    and unknown phases raise CoreError.
    """
    problems: list[FieldProblem] = []
    parsed_phase = _parse_phase(phase, problems)
    sedation: Sedation | None = None
    try:
        sedation = check_reading(reading)
    except CoreError as error:
        problems.extend(error.problems)
    if problems:
        raise CoreError(problems)
    assert parsed_phase is not None

    lines = _PRE_LINES if parsed_phase is Phase.PRE else _DURING_LINES
    worst: dict[str, VitalsReason] = {}
    for line in lines:
        value = getattr(reading, line.measurement)
        threshold = getattr(vitals_policy, line.policy_attr)
        if not _COMPARE[line.comparison](value, threshold):
            continue
        current = worst.get(line.measurement)
        if current is not None and current.level >= line.level:
            continue
        unit = UNITS[line.measurement]
        message = (f"{LABELS[line.measurement]} {value:g} {unit} is {_WORDS[line.comparison]} the "
                   f"{line.level.value} line of {threshold:g} {unit} {_PHASE_WORDS[parsed_phase]} "
                   f"({line.rule})")
        if parsed_phase is Phase.PRE and line.measurement in ("heart_rate", "spo2"):
            message += "; before the infusion this holds the start (product choice)"
        worst[line.measurement] = VitalsReason(line.measurement, value, line.comparison, threshold,
                                               line.rule, line.level, message)

    reasons = list(worst.values())
    sedation_reason = _sedation_reason(sedation, parsed_phase)
    if sedation_reason is not None:
        reasons.append(sedation_reason)
    reasons.sort(key=lambda r: -r.level.rank)
    level = max((r.level for r in reasons), default=Level.OK)
    return Evaluation(level, reasons)


def _sedation_reason(sedation: Sedation | None, phase: Phase) -> VitalsReason | None:
    if sedation is Sedation.UNRESPONSIVE:
        level, rule = Level.STOP, RULE_SEDATION_UNRESPONSIVE
    elif sedation is Sedation.RESPONDS_TO_TOUCH:
        level, rule = Level.NOTIFY, RULE_SEDATION_TOUCH
    else:
        return None
    if phase is Phase.PRE:
        level = Level.HOLD  # nothing to stop yet: do not start (product choice)
    message = (f"Sedation '{sedation.value.replace('_', ' ')}' {_PHASE_WORDS[phase]} gives {level.value} "
               f"({rule}, product choice)")
    return VitalsReason("sedation", sedation.value, "=", sedation.value, rule, level, message)


# --- Timing -----------------------------------------------------------------------------------------


def _require_aware(value: Any, name: str, problems: list[FieldProblem]) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        problems.append(FieldProblem(name, "timezone_aware", "must be a timezone-aware date and time"))


@dataclass(frozen=True)
class Due:
    """When the next reading is due; ``minutes_overdue`` is whole minutes past due (0 when not overdue)."""

    next_due_at: datetime
    overdue: bool
    minutes_overdue: int


def vitals_due(phase: Phase | str, phase_started_at: datetime, last_reading_at: datetime | None,
               now: datetime, vitals_policy: VitalsPolicy) -> Due:
    """Next vitals due while infusing (every ``vitals.interval_infusing_min``, default 10 min) or in
    recovery (``vitals.interval_recovery_min``, default 15 min) — Emory practice.

    The clock restarts at each phase: the first reading of a phase is due one interval after the phase
    started; then one interval after the latest reading (product choice: readings from an earlier phase
    do not count). Due exactly at ``next_due_at`` is not yet overdue. Arithmetic is in UTC, so a
    daylight-saving change does not shift it; the result is in ``now``'s time zone.
    """
    problems: list[FieldProblem] = []
    parsed_phase = _parse_phase(phase, problems)
    if parsed_phase is Phase.PRE:
        problems.append(FieldProblem("phase", "timed_phase", "vitals are timed only while infusing and in "
                                                               "recovery"))
    _require_aware(phase_started_at, "phase_started_at", problems)
    _require_aware(now, "now", problems)
    if last_reading_at is not None:
        _require_aware(last_reading_at, "last_reading_at", problems)
    if problems:
        raise CoreError(problems)
    now_utc = now.astimezone(UTC)
    started_utc = phase_started_at.astimezone(UTC)
    if started_utc > now_utc:
        problems.append(FieldProblem("phase_started_at", "not_in_future", "the phase cannot start after now"))
    last_utc = last_reading_at.astimezone(UTC) if last_reading_at is not None else None
    if last_utc is not None and last_utc > now_utc:
        problems.append(FieldProblem("last_reading_at", "not_in_future",
                                     "a reading cannot be taken after now"))
    if problems:
        raise CoreError(problems)

    interval_min = (vitals_policy.interval_infusing_min if parsed_phase is Phase.INFUSING
                    else vitals_policy.interval_recovery_min)
    anchor = max(started_utc, last_utc) if last_utc is not None else started_utc
    next_due = anchor + timedelta(minutes=interval_min)
    late = now_utc - next_due
    overdue = late > timedelta(0)
    minutes_overdue = int(late.total_seconds() // 60) if overdue else 0
    return Due(next_due.astimezone(now.tzinfo), overdue, minutes_overdue)


# --- Discharge and duty -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """A discharge criterion that is not met: a code, the rule (policy key where there is one) and a
    message for the nurse."""

    code: str
    rule: str
    message: str


@dataclass(frozen=True)
class Readiness:
    ready: bool
    unmet: list[Criterion] = field(default_factory=list)
    observation_ends_at: datetime | None = None


def discharge_readiness(infusion_ended_at: datetime, now: datetime, last_reading: VitalsReading | None,
                        alert_and_oriented: bool, escort_present: bool,
                        vitals_policy: VitalsPolicy) -> Readiness:
    """Check each discharge criterion and list every one not met.

    Criteria: at least ``discharge.min_observation_min`` (default 40, product choice) since the infusion
    ended; a last reading that is back under the notify lines (evaluated as ``recovery``: level ``ok``)
    and, when its ``taken_at`` is known, taken after the infusion ended (product choice); alert and
    oriented; a responsible adult present when ``discharge.escort_required`` (Ketalar label).
    An impossible last reading raises CoreError.
    """
    problems: list[FieldProblem] = []
    _require_aware(infusion_ended_at, "infusion_ended_at", problems)
    _require_aware(now, "now", problems)
    if problems:
        raise CoreError(problems)
    ended_utc = infusion_ended_at.astimezone(UTC)
    now_utc = now.astimezone(UTC)
    if ended_utc > now_utc:
        raise CoreError.single("infusion_ended_at", "not_in_future", "the infusion cannot end after now")

    unmet: list[Criterion] = []
    observation_ends = ended_utc + timedelta(minutes=vitals_policy.min_observation_min)
    if now_utc < observation_ends:
        remaining = math.ceil((observation_ends - now_utc).total_seconds() / 60)
        unmet.append(Criterion(
            "observation_time", "discharge.min_observation_min",
            f"observe at least {vitals_policy.min_observation_min} min after the infusion ended; "
            f"{remaining} min to go (until {observation_ends.astimezone(now.tzinfo):%H:%M})"))

    if last_reading is None:
        unmet.append(Criterion("vitals_recorded", "discharge.vitals_under_notify_lines",
                               "no vitals recorded: take a set before discharge"))
    else:
        evaluation = evaluate(last_reading, Phase.RECOVERY, vitals_policy)
        if last_reading.taken_at is not None and last_reading.taken_at.astimezone(UTC) < ended_utc:
            unmet.append(Criterion("vitals_after_infusion", "discharge.vitals_after_infusion",
                                   "the last vitals were taken before the infusion ended: take a new set "
                                   "(product choice)"))
        if evaluation.level > Level.OK:
            details = "; ".join(r.message for r in evaluation.reasons)
            unmet.append(Criterion("vitals_under_notify_lines", "discharge.vitals_under_notify_lines",
                                   f"the last vitals are not back under the notify lines: {details}"))
    if not alert_and_oriented:
        unmet.append(Criterion("alert_and_oriented", "discharge.alert_and_oriented",
                               "the patient must be alert and oriented"))
    if vitals_policy.escort_required and not escort_present:
        unmet.append(Criterion("escort_present", "discharge.escort_required",
                               "a responsible adult must accompany the patient home (Ketalar label)"))
    return Readiness(not unmet, unmet, observation_ends.astimezone(now.tzinfo))


def return_to_duty_at(infusion_ended_at: datetime, vitals_policy: VitalsPolicy) -> datetime:
    """Earliest start of a duty shift, and of driving: infusion end + ``duty.no_duty_window_h``
    (default 24 h; Ketalar label: no driving or hazardous work for 24 h). Real elapsed hours (computed in
    UTC, so a daylight-saving change does not shorten it), returned in the time zone given."""
    problems: list[FieldProblem] = []
    _require_aware(infusion_ended_at, "infusion_ended_at", problems)
    if problems:
        raise CoreError(problems)
    end_utc = infusion_ended_at.astimezone(UTC) + timedelta(hours=vitals_policy.no_duty_window_h)
    return end_utc.astimezone(infusion_ended_at.tzinfo)
