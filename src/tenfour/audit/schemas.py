"""Pydantic output of the audit API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_user_id: int | None
    actor_label: str
    actor_role: str | None
    action: str
    clinic_id: int | None
    patient_id: int | None
    record_type: str | None
    record_id: str | None
    ip_address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    limit: int
    offset: int
