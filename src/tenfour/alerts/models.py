"""Alerts: something a clinician must see and answer ("10-4"). Urgent safety flags are alerts too.

An alert is never merged, throttled or hidden. It is acknowledged (who, when) and later resolved with
the action taken; both are kept.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class Severity(StrEnum):
    URGENT = "urgent"  # suicide risk, stop-level vitals: act now
    ACT = "act"  # loss of response
    WATCH = "watch"  # early warning

    @property
    def rank(self) -> int:
        return {"urgent": 0, "act": 1, "watch": 2}[self.value]


class AlertKind(StrEnum):
    SUICIDAL_IDEATION = "suicidal_ideation"  # PHQ-9 item 9 > 0
    IMMINENT_RISK = "imminent_risk"  # C-SSRS screener high risk
    RELAPSE = "relapse"  # from relapse detection (watch / act / urgent)
    VITALS = "vitals"  # notify / stop level vitals during an infusion


class Resolution(StrEnum):
    CALLED = "called"
    SEEN_IN_CLINIC = "seen_in_clinic"
    CRISIS_REFERRAL = "crisis_referral"
    BOOSTER_PROPOSED = "booster_proposed"
    INFUSION_ACTION = "infusion_action"
    NO_ACTION = "no_action"  # needs a reason


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_clinic_open", "clinic_id", "resolved_at", "severity"),
        Index("ix_alerts_patient_created", "patient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    severity: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    # [{"rule": ..., "message": ...}] - the explanation, in words a clinician can act on
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(30))
    resolution_note: Mapped[str | None] = mapped_column(String(2000))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
