"""Pydantic input and output of the chairside API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(max_length=2000)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Choice = Annotated[str, StringConstraints(max_length=40)]
RecordRef = Annotated[int, Field(ge=1, le=2_147_483_647)]
Number = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=12)]
Reading = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]  # the plausible ranges are the core's: named there


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Calculators ------------------------------------------------------------------------------------------


class DoseCalculationIn(_In):
    weight_kg: Number
    dose_mg_per_kg: Number
    duration_min: Number
    concentration_mg_per_ml: Number
    height_cm: Number | None = None
    sex: Choice | None = Field(default=None, description="male or female (Devine formula)")
    weight_basis: Choice | None = Field(default=None, description="actual, ideal or adjusted (default: the clinic's)")


class DoseCalculationOut(BaseModel):
    dose_mg: float
    volume_ml: float
    rate_ml_per_h: float
    weight_basis: str
    warnings: list[str]
    dosing_weight_kg: float
    formula: str
    max_dose_mg: float | None


class VitalsEvaluationIn(_In):
    phase: Choice = Field(description="pre, infusing or recovery")
    systolic_bp: float
    diastolic_bp: float
    heart_rate: float
    spo2: float
    respiratory_rate: float | None = None
    sedation: Choice | None = None


class ReasonOut(BaseModel):
    measurement: str
    value: float | str
    threshold: float | str
    rule: str
    level: str
    message: str


class VitalsEvaluationOut(BaseModel):
    level: str
    reasons: list[ReasonOut]


# --- Booking ----------------------------------------------------------------------------------------------


class BookingIn(_In):
    patient_id: RecordRef
    chair_id: RecordRef
    start: datetime = Field(description="Start of the chair booking, with a time zone")


class RescheduleIn(_In):
    chair_id: RecordRef
    start: datetime
    reason: ShortText | None = None


class ReasonIn(_In):
    reason: ShortText


# --- Charting ---------------------------------------------------------------------------------------------


class PrecheckIn(_In):
    weight_kg: Number
    weight_measured_at: datetime | None = Field(default=None, description="Default: now")
    height_cm: Number | None = None
    systolic_bp: Reading
    diastolic_bp: Reading
    heart_rate: Reading
    spo2: Reading
    respiratory_rate: Reading | None = None
    sedation: Choice | None = None
    fasting_hours: Number | None = None
    escort_confirmed: bool = False
    escort_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    pregnancy_result: Choice | None = Field(default=None, description="negative or positive, when the plan asks")
    next_shift_at: datetime | None = Field(default=None, description="As the patient says, when there is no roster")
    no_shift_in_window: bool = Field(default=False, description="The patient says no shift starts within the window")


class OverrideIn(_In):
    reason: ShortText


class DoseIn(_In):
    dose_mg_per_kg: Number | None = None
    duration_min: Annotated[int, Field(ge=-100_000, le=100_000)] | None = None
    concentration_mg_per_ml: Number | None = None
    weight_basis: Choice | None = None
    height_cm: Number | None = None
    change_reason: Annotated[str, StringConstraints(max_length=1000)] | None = None


class VitalsIn(_In):
    systolic_bp: Reading
    diastolic_bp: Reading
    heart_rate: Reading
    spo2: Reading
    respiratory_rate: Reading | None = None
    sedation: Choice | None = None
    taken_at: datetime | None = None


class ActionsIn(_In):
    actions: Annotated[list[Choice], Field(max_length=5)]
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None
    new_rate_ml_per_h: Number | None = None


class PumpIn(_In):
    action: Choice = Field(description="pause, resume or rate")
    rate_ml_per_h: Number | None = None
    note: ShortText | None = None


class EndIn(_In):
    note: ShortText | None = None


class AdverseEventIn(_In):
    event_type: Choice
    severity: Choice
    action_taken: Annotated[str, StringConstraints(max_length=1000)]
    outcome: Choice
    description: ShortText | None = None
    onset_at: datetime | None = None


class Cadss6In(_In):
    answers: Annotated[dict[Annotated[str, StringConstraints(max_length=10)], Any], Field(max_length=10)]


class DischargeIn(_In):
    alert_and_oriented: bool
    escort_present: bool
    escort_name: Annotated[str, StringConstraints(max_length=120)] | None = None
    instructions: Text | None = None


# --- Output -----------------------------------------------------------------------------------------------


class TransitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    from_status: str | None
    to_status: str
    at: datetime
    by_user_id: int | None
    note: str | None


class SessionSummaryOut(BaseModel):
    id: int
    patient_id: int
    chair_id: int
    chair: str
    plan_id: int
    status: str
    scheduled_start: datetime
    scheduled_end: datetime
    infusion_started_at: datetime | None
    infusion_ended_at: datetime | None
    stopped_early: bool
    abort_reason: str | None
    rescheduled_from_id: int | None


class StateOut(BaseModel):
    minutes_remaining: int | None
    remaining: str
    next_vitals_due_at: datetime | None
    vitals_overdue: bool
    minutes_overdue: int
    infused_ml: float | None
    open_alert_ids: list[int]
    readings_needing_action: list[int]


class SessionOut(SessionSummaryOut):
    cadss_assessment_id: int | None
    duty_override: dict[str, Any] | None
    transitions: list[TransitionOut]
    prechecks: list[dict[str, Any]]
    doses: list[dict[str, Any]]
    vitals: list[dict[str, Any]]
    pump: list[dict[str, Any]]
    adverse_events: list[dict[str, Any]]
    discharge: dict[str, Any] | None
    state: StateOut
