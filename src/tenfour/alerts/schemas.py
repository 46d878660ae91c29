"""Pydantic input and output of the alerts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from tenfour.alerts.models import Resolution


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    clinic_id: int
    patient_id: int
    severity: str
    kind: str
    title: str
    reasons: list[dict[str, Any]]
    source_type: str | None
    source_id: int | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    resolved_at: datetime | None
    resolution: str | None
    resolution_note: str | None
    escalated_at: datetime | None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Resolution
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
