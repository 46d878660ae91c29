"""A patient's intake: which steps are done, and the medical screening in the eligibility vocabulary.

The questionnaires of intake are assessments (context ``intake``); demographics, role and roster live on the
patient record. This row keeps what belongs to intake alone: progress, the screening answers and the recent
blood pressure and weight the patient reported.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class IntakeForm(Base):
    __tablename__ = "intake_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    steps_done: Mapped[list[str]] = mapped_column(JSONType, default=list)

    # Medical screening, in core.eligibility's vocabulary (the contract), plus free text for the prescriber.
    conditions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    medications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    other_medications: Mapped[str | None] = mapped_column(String(1000))
    health_notes: Mapped[str | None] = mapped_column(String(1000))

    # The most recent blood pressure and weight the patient knows (measured elsewhere; re-measured at the clinic).
    systolic_bp: Mapped[int | None] = mapped_column()
    diastolic_bp: Mapped[int | None] = mapped_column()
    bp_measured_on: Mapped[date | None] = mapped_column(Date)
    bp_unknown: Mapped[bool] = mapped_column(default=False)
    weight_g: Mapped[int | None] = mapped_column()  # grams: exact, whatever unit the patient typed
    weight_measured_on: Mapped[date | None] = mapped_column(Date)
    height_cm: Mapped[int | None] = mapped_column()

    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def weight_kg(self) -> Decimal | None:
        return None if self.weight_g is None else (Decimal(self.weight_g) / 1000).quantize(Decimal("0.1"))

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None
