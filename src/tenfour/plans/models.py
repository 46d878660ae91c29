"""Treatment plans, signed by a prescriber. A signed plan is never edited, only superseded by a new version."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, UTCDateTime, utcnow


class Protocol(StrEnum):
    INDUCTION = "induction"  # 6 infusions, 3 a week, over 2 weeks (Feder 2021; policy course.*)
    BOOSTER = "booster"  # one maintenance infusion in a window
    SINGLE = "single"


class TreatmentPlan(Base):
    __tablename__ = "treatment_plans"
    __table_args__ = (Index("ix_treatment_plans_patient_created", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plans.id", ondelete="RESTRICT"),
                                                      unique=True)
    protocol: Mapped[str] = mapped_column(String(20), default=Protocol.INDUCTION)
    infusions_planned: Mapped[int] = mapped_column(default=6)
    # Micrograms per kg, stored exactly as an integer: 500 = 0.5 mg/kg.
    dose_ug_per_kg: Mapped[int] = mapped_column(default=500)
    infusion_duration_min: Mapped[int] = mapped_column(default=40)
    max_infusions_per_week: Mapped[int] = mapped_column(default=3)
    pregnancy_check_required: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(String(4000))
    eligibility_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("eligibility_decisions.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def dose_mg_per_kg(self) -> Decimal:
        return Decimal(self.dose_ug_per_kg) / 1000

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None
