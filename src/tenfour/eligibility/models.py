"""Eligibility decisions: the rules' outcome with its inputs and rule version; a prescriber's override is
recorded beside it with a written reason, once, and shown prominently ever after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class EligibilityDecision(Base):
    __tablename__ = "eligibility_decisions"
    __table_args__ = (Index("ix_eligibility_decisions_patient_created", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    rules_version: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType)  # exactly what the rules saw
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the clinic policy applied
    outcome: Mapped[str] = mapped_column(String(10))  # eligible | review | excluded (what the rules said)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A prescriber's override of a review or an exclusion (never silent: reason required, audited).
    override_outcome: Mapped[str | None] = mapped_column(String(10))
    override_reason: Mapped[str | None] = mapped_column(String(2000))
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def final_outcome(self) -> str:
        return self.override_outcome or self.outcome
