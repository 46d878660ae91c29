"""Assessments: one administration of an instrument, stored with its answers and its computed score.

Immutable. A correction is a new row that names the one it supersedes and why; both are kept.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class AssessmentContext(StrEnum):
    INTAKE = "intake"
    PRE_INFUSION = "pre_infusion"
    POST_INFUSION = "post_infusion"  # e.g. CADSS-6 at the end of an infusion
    AFTER_FIRST_INFUSION_24H = "after_first_infusion_24h"
    CHECKIN = "checkin"
    AD_HOC = "ad_hoc"

    @property
    def label(self) -> str:
        return {
            "intake": "Intake", "pre_infusion": "Before an infusion", "post_infusion": "After an infusion",
            "after_first_infusion_24h": "24 h after the first infusion", "checkin": "Check-in",
            "ad_hoc": "Ad hoc",
        }[self.value]


class EnteredBy(StrEnum):
    PATIENT = "patient"
    STAFF = "staff"


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_patient_instrument_at", "patient_id", "instrument_id", "administered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(30))
    instrument_version: Mapped[str] = mapped_column(String(20))
    context: Mapped[str] = mapped_column(String(30))
    answers: Mapped[dict[str, int]] = mapped_column(JSONType)
    total: Mapped[int | None] = mapped_column()
    band: Mapped[str | None] = mapped_column(String(30))
    risk_level: Mapped[str | None] = mapped_column(String(20))
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the whole ScoreResult, as computed then
    entered_by: Mapped[str] = mapped_column(String(10))
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    administered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Corrections: a new version supersedes exactly one earlier version.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="RESTRICT"),
                                                      unique=True)
    version_number: Mapped[int] = mapped_column(default=1)
    correction_reason: Mapped[str | None] = mapped_column(String(1000))
