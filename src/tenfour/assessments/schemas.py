"""Pydantic input and output of instruments and assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tenfour.assessments.models import AssessmentContext

Answers = Annotated[dict[Annotated[str, StringConstraints(max_length=20)], Any], Field(max_length=40)]


class OptionOut(BaseModel):
    value: int
    label: str


class ItemOut(BaseModel):
    id: str
    number: int
    text: str
    options: list[OptionOut]
    cluster: str | None = None
    asked_when: dict[str, Any] | None = Field(default=None, description='{"item": "q2", "value": 1}: skip logic')


class InstrumentSummary(BaseModel):
    id: str
    version: str
    title: str
    short_title: str
    recall_period: str
    administration: str
    item_count: int
    max_total: int | None
    text_shipped: bool


class InstrumentOut(InstrumentSummary):
    instructions: str
    stem: str
    items: list[ItemOut]
    licence: str
    source: str
    text_source: str | None


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: Answers
    version: Annotated[str, StringConstraints(max_length=20)] | None = None


class ScoreOut(BaseModel):
    instrument_id: str
    version: str
    total: int | None
    max_total: int | None
    subscales: dict[str, int]
    band: str | None
    band_label: str | None
    provisional_diagnosis: bool | None
    above_cutoff: bool | None
    cutoff: int | None
    risk_level: str | None
    flags: list[str]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument_id: Annotated[str, StringConstraints(max_length=30)]
    version: Annotated[str, StringConstraints(max_length=20)] | None = None
    answers: Answers
    context: AssessmentContext = AssessmentContext.AD_HOC
    administered_at: datetime | None = Field(default=None, description="When it was taken (default: now)")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: Answers
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    instrument_id: str
    instrument_version: str
    context: str
    answers: dict[str, int]
    total: int | None
    band: str | None
    risk_level: str | None
    flags: list[str]
    result: dict[str, Any]
    entered_by: str
    entered_by_user_id: int | None
    administered_at: datetime
    created_at: datetime
    supersedes_id: int | None
    version_number: int
    correction_reason: str | None
    is_current: bool = True
    alerts_raised: list[int] = []
