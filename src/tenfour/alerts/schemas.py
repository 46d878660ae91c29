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


class EscalationOut(BaseModel):
    state: str  # not_urgent | acknowledged | waiting (escalates at `at`) | escalated (at `at`)
    at: datetime | None = None


class InboxAlertOut(AlertOut):
    """An alert as the inbox shows it: who gave the 10-4 and who resolved it, how long it has been open, escalation."""

    patient_name: str
    record_number: str
    acknowledged_by_name: str | None = None
    resolved_by_name: str | None = None
    open_minutes: int
    escalation: EscalationOut


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Resolution
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
