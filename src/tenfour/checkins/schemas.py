"""Pydantic input and output of the check-ins and relapse API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

Answers = Annotated[dict[Annotated[str, StringConstraints(max_length=20)], Any], Field(max_length=40)]


# --- POST /api/v1/relapse/evaluate (exactly as issue 6 specifies) ---------------------------------------------


class EvaluateCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    pcl5: StrictInt | None = Field(description="PCL-5 total 0-80 (null for a short-form check-in)")
    phq9_item9: StrictInt | None = Field(default=None, description="PHQ-9 item 9, 0-3")
    cssrs_risk: str | None = Field(default=None, description="none, low, moderate or high")
    warning_signs: list[Annotated[str, StringConstraints(max_length=120)]] | None = Field(default=None,
                                                                                        max_length=50)
    warning_sign_count: StrictInt | None = None


class EvaluateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    baseline_pcl5: StrictInt
    course_start: date
    course_end: date | None = None
    as_of: date
    checkins: list[EvaluateCheckIn] = Field(default_factory=list, max_length=1000)
    next_due: date | None = None


class ReasonOut(BaseModel):
    rule: str
    message: str


class EvaluateOut(BaseModel):
    state: str
    reasons: list[ReasonOut]
    responded: bool
    best_pcl5: int | None


# --- Check-ins ------------------------------------------------------------------------------------------------


class CheckInAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pcl5: Answers = Field(description="PCL-5 answers (the form of the check-in: pcl5-week, or pcl5-8)")
    phq9: Answers
    cssrs: Answers | None = Field(default=None, description="C-SSRS screen, only when PHQ-9 q9 > 0")


class CheckInSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkin_id: int | None = Field(default=None, ge=1, le=2_147_483_647,
                                   description="The check-in answered; default: the one due now (or an extra one)")
    answers: CheckInAnswers
    warning_signs: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(default_factory=list, max_length=20,
                                                                              description="Ids of the signs endorsed")
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    submission_key: Annotated[str, StringConstraints(min_length=8, max_length=64,
                                                     pattern=r"^[A-Za-z0-9_-]+$")] | None = Field(
        default=None, description="Idempotency key: the same key again returns the first submission")
    completed_at: datetime | None = Field(default=None, description="Staff entering a phone check-in: when it was")


class CssrsSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: Answers


class CheckInOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    kind: str
    due_on: date
    status: str
    pcl5_form: str
    completed_at: datetime | None
    completed_on: date | None
    entered_by: str | None
    via: str | None
    pcl5_total: int | None
    pcl5_short_total: int | None
    phq9_total: int | None
    phq9_item9: int | None
    cssrs_risk: str | None
    signs_endorsed: int
    pcl5_assessment_id: int | None
    phq9_assessment_id: int | None
    cssrs_assessment_id: int | None
    needs_cssrs: bool


class SubmittedOut(BaseModel):
    checkin: CheckInOut
    alerts_raised: list[int]
    state: str | None
    repeated: bool
    needs_cssrs: bool
    crisis: bool = Field(description="Show crisis resources to the patient now")


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    state: str
    reasons: list[ReasonOut]
    responded: bool
    best_pcl5: int | None
    baseline_pcl5: int | None
    latest_pcl5: int | None
    slope_points_per_week: float | None
    as_of: date
    evaluated_at: datetime
    state_since: datetime
    alert_id: int | None


class CourseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    course_start: date | None
    course_end: date | None
    started: bool
    baseline_pcl5: int | None
    infusions: list[dict[str, Any]]


class PatientCheckinsOut(BaseModel):
    course: CourseOut | None
    evaluation: EvaluationOut | None
    checkins: list[CheckInOut]


class WarningSignOut(BaseModel):
    id: int
    code: str | None
    label: str
    own_words: bool
    added_at: datetime
    removed_at: datetime | None
    endorsed: int
    asked: int


class WarningSignsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default_factory=list, max_length=20)
    own_words: list[Annotated[str, StringConstraints(max_length=200)]] = Field(default_factory=list, max_length=20)


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reminder_hour: int | None = Field(default=None, description="0-23 in your time zone; null: the clinic's default")
    reminders_enabled: bool = True


class PreferencesOut(BaseModel):
    reminder_hour: int | None
    effective_hour: int
    reminders_enabled: bool
    quiet_hours: str
    timezone: str


# --- Boosters -------------------------------------------------------------------------------------------------


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    window_start: date
    window_end: date
    latest_treatment_end: date
    median_durability_days: float
    n_episodes: int
    n_censored: int
    explanation: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=1000)]


class BoosterRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    proposal_id: int | None
    window_start: date
    window_end: date
    priority: str
    status: str
    note: str | None
    requested_at: datetime
