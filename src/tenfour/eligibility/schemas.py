"""Pydantic input and output of eligibility. The vocabulary is core.eligibility's (the contract of issue 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Term = Annotated[str, StringConstraints(max_length=60)]
Terms = Annotated[list[Term], Field(max_length=40)]


class EvaluateIn(BaseModel):
    """Screening answers to evaluate without storing anything. Unknown terms and impossible values are
    refused (422), each naming the field and the rule."""

    model_config = ConfigDict(extra="forbid")
    conditions: Terms = Field(default_factory=list, description="Terms of the screening vocabulary")
    medications: Terms = Field(default_factory=list, description="benzodiazepine, lamotrigine")
    age_years: int | None = Field(default=None, description="Whole years")
    systolic_bp: float | None = Field(default=None, description="mmHg, the most recent")
    diastolic_bp: float | None = Field(default=None, description="mmHg, the most recent")
    cssrs_risk: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        default=None, description="Latest C-SSRS screener risk: none, low, moderate, high (null: not screened)")


class ReasonOut(BaseModel):
    rule: str
    outcome: str
    message: str
    source: str


class EvaluationOut(BaseModel):
    outcome: Literal["eligible", "review", "excluded"]
    reasons: list[ReasonOut]
    rules_version: str


class PatientEvaluateIn(BaseModel):
    """A prescriber's evaluation of a patient. Conditions, medications and blood pressure default to the
    patient's intake screening; age comes from the date of birth and the C-SSRS level from the latest screen."""

    model_config = ConfigDict(extra="forbid")
    conditions: Terms | None = None
    medications: Terms | None = None
    systolic_bp: float | None = None
    diastolic_bp: float | None = None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["eligible", "excluded"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    rules_version: str
    inputs: dict[str, Any]
    thresholds: dict[str, Any]
    outcome: str
    final_outcome: str
    reasons: list[ReasonOut]
    created_at: datetime
    created_by_id: int | None
    override_outcome: str | None
    override_reason: str | None
    overridden_by_id: int | None
    overridden_at: datetime | None
