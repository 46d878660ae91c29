"""Infusion sessions: the booking of a chair, every step of the lifecycle with who and when, the pre-checks, the
dose with its second-person verification, timed vitals with their evaluation, pump events, adverse events and the
discharge with the earliest return to duty and driving.

Quantities are stored exactly as integers in small units, as the treatment plan does (``dose_ug_per_kg``):
grams, millimetres, micrograms, microlitres. Properties give them back as Decimals in the clinic's units.
Times are UTC-aware (``UTCDateTime``). Charted rows are never edited; what changes later (actions taken on a
reading, a dose superseded before the start) is recorded beside the row with who and when.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenfour.core.infusion import Step
from tenfour.db import Base, JSONType, UTCDateTime, utcnow

SessionStatus = Step  # the lifecycle is defined in the pure core


def _units(value: int | None, per_unit: int) -> Decimal | None:
    return None if value is None else Decimal(value) / per_unit


class InfusionSession(Base):
    __tablename__ = "infusion_sessions"
    __table_args__ = (
        Index("ix_infusion_sessions_chair_start", "chair_id", "scheduled_start"),
        Index("ix_infusion_sessions_clinic_start", "clinic_id", "scheduled_start"),
        Index("ix_infusion_sessions_patient_start", "patient_id", "scheduled_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("chairs.id", ondelete="RESTRICT"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plans.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=Step.SCHEDULED.value)
    # The chair is held over [scheduled_start, scheduled_end): preparation + infusion + recovery (policy).
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_end: Mapped[datetime] = mapped_column(UTCDateTime)
    infusion_duration_min: Mapped[int] = mapped_column()  # from the signed plan at booking
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    infusion_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    infusion_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_early: Mapped[bool] = mapped_column(default=False)
    abort_reason: Mapped[str | None] = mapped_column(String(500))
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("infusion_sessions.id", ondelete="SET NULL"), unique=True)
    cadss_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    # A prescriber's override of the no-duty window for this session (DOSE_CHANGE permission).
    duty_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    duty_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duty_override_reason: Mapped[str | None] = mapped_column(String(1000))

    transitions: Mapped[list[InfusionTransition]] = relationship(
        order_by="InfusionTransition.at, InfusionTransition.id", cascade="all, delete-orphan")

    @property
    def step(self) -> Step:
        return Step(self.status)


class InfusionTransition(Base):
    """One step of the lifecycle: from, to, who and when (and why, for an abort)."""

    __tablename__ = "infusion_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))


class NextShiftSource(StrEnum):
    ROSTER = "roster"
    ASKED = "asked"
    UNKNOWN = "unknown"


class InfusionPrecheck(Base):
    """One round of pre-checks. A failed round stays on record; the nurse fixes what blocked and checks again."""

    __tablename__ = "infusion_prechecks"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    weight_g: Mapped[int] = mapped_column()
    weight_measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    height_mm: Mapped[int | None] = mapped_column()
    vitals_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_vitals.id", ondelete="SET NULL"))
    fasting_min: Mapped[int | None] = mapped_column()
    escort_confirmed: Mapped[bool] = mapped_column(default=False)
    escort_name: Mapped[str | None] = mapped_column(String(120))
    pregnancy_result: Mapped[str | None] = mapped_column(String(20))
    next_shift_source: Mapped[str] = mapped_column(String(10))
    next_shift_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_infusion_end: Mapped[datetime] = mapped_column(UTCDateTime)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    passed: Mapped[bool] = mapped_column(default=False)
    passed_by_override: Mapped[bool] = mapped_column(default=False)

    @property
    def weight_kg(self) -> Decimal:
        return Decimal(self.weight_g) / 1000

    @property
    def height_cm(self) -> Decimal | None:
        return _units(self.height_mm, 10)

    @property
    def fasting_hours(self) -> Decimal | None:
        return None if self.fasting_min is None else (Decimal(self.fasting_min) / 60).quantize(Decimal("0.1"))


class InfusionDose(Base):
    """The dose calculated for a session (``core.dosing``), as verified and given. A recalculation before the start
    supersedes the earlier row (kept)."""

    __tablename__ = "infusion_doses"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True)
    weight_g: Mapped[int] = mapped_column()
    height_mm: Mapped[int | None] = mapped_column()
    sex: Mapped[str | None] = mapped_column(String(10))
    weight_basis: Mapped[str] = mapped_column(String(10))  # the basis used
    dosing_weight_g: Mapped[int] = mapped_column()
    dose_ug_per_kg: Mapped[int] = mapped_column()
    plan_dose_ug_per_kg: Mapped[int] = mapped_column()
    duration_min: Mapped[int] = mapped_column()
    plan_duration_min: Mapped[int] = mapped_column()
    concentration_ug_per_ml: Mapped[int] = mapped_column()
    dose_ug: Mapped[int] = mapped_column()
    volume_ul: Mapped[int] = mapped_column()
    rate_ul_per_h: Mapped[int] = mapped_column()
    formula: Mapped[str] = mapped_column(String(1000))
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    differs_from_plan: Mapped[bool] = mapped_column(default=False)
    change_reason: Mapped[str | None] = mapped_column(String(1000))  # the prescriber's reason for a change
    calculated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    calculated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def weight_kg(self) -> Decimal:
        return Decimal(self.weight_g) / 1000

    @property
    def dosing_weight_kg(self) -> Decimal:
        return Decimal(self.dosing_weight_g) / 1000

    @property
    def dose_mg_per_kg(self) -> Decimal:
        return Decimal(self.dose_ug_per_kg) / 1000

    @property
    def plan_mg_per_kg(self) -> Decimal:
        return Decimal(self.plan_dose_ug_per_kg) / 1000

    @property
    def concentration_mg_per_ml(self) -> Decimal:
        return Decimal(self.concentration_ug_per_ml) / 1000

    @property
    def dose_mg(self) -> Decimal:
        return Decimal(self.dose_ug) / 1000

    @property
    def volume_ml(self) -> Decimal:
        return Decimal(self.volume_ul) / 1000

    @property
    def rate_ml_per_h(self) -> Decimal:
        return Decimal(self.rate_ul_per_h) / 1000

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class VitalsAction(StrEnum):
    """What the nurse did about a reading (issue 5)."""

    RATE_REDUCED = "rate_reduced"
    PAUSED = "paused"
    STOPPED = "stopped"
    MEDICATION_GIVEN = "medication_given"
    PRESCRIBER_CALLED = "prescriber_called"

    @property
    def label(self) -> str:
        return {"rate_reduced": "Rate reduced", "paused": "Infusion paused", "stopped": "Infusion stopped",
                "medication_given": "Medication given", "prescriber_called": "Prescriber called"}[self.value]


class InfusionVitals(Base):
    """One set of vital signs with its evaluation (``core.vitals.evaluate``) for the phase it was taken in."""

    __tablename__ = "infusion_vitals"
    __table_args__ = (Index("ix_infusion_vitals_session_taken", "session_id", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(10))  # pre | infusing | recovery
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    systolic_bp: Mapped[int] = mapped_column()
    diastolic_bp: Mapped[int] = mapped_column()
    heart_rate: Mapped[int] = mapped_column()
    spo2: Mapped[int] = mapped_column()
    respiratory_rate: Mapped[int | None] = mapped_column()
    sedation: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    actions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    action_note: Mapped[str | None] = mapped_column(String(1000))
    actions_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actions_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def needs_action(self) -> bool:
        return self.level in ("notify", "stop") and not self.actions


class InfusionPumpEvent(Base):
    """The pump: start, pause, resume, a new rate, stop. Time remaining is computed from these."""

    __tablename__ = "infusion_pump_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(10))
    rate_ul_per_h: Mapped[int | None] = mapped_column()
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    vitals_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_vitals.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))

    @property
    def rate_ml_per_h(self) -> Decimal | None:
        return _units(self.rate_ul_per_h, 1000)


class AdverseEventType(StrEnum):
    NAUSEA_VOMITING = "nausea_vomiting"
    HYPERTENSION = "hypertension"
    TACHYCARDIA = "tachycardia"
    AGITATION = "agitation"
    EMERGENCE_REACTION = "emergence_reaction"
    RESPIRATORY_DEPRESSION = "respiratory_depression"
    HYPERSALIVATION = "hypersalivation"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"nausea_vomiting": "Nausea / vomiting", "emergence_reaction": "Emergence reaction",
                "respiratory_depression": "Respiratory depression"}.get(self.value, self.value.capitalize())


class AdverseSeverity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AdverseOutcome(StrEnum):
    RESOLVED = "resolved"
    RESOLVING = "resolving"
    ONGOING = "ongoing"
    TRANSFERRED = "transferred"  # to an emergency department

    @property
    def label(self) -> str:
        return {"transferred": "Transferred to emergency care"}.get(self.value, self.value.capitalize())


class InfusionAdverseEvent(Base):
    __tablename__ = "infusion_adverse_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(10))
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action_taken: Mapped[str] = mapped_column(String(1000))
    outcome: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))


class InfusionDischarge(Base):
    """The discharge: every criterion as checked, and the earliest return to duty and to driving."""

    __tablename__ = "infusion_discharges"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"), unique=True)
    discharged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    discharged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    alert_and_oriented: Mapped[bool] = mapped_column()
    escort_present: Mapped[bool] = mapped_column()
    escort_name: Mapped[str | None] = mapped_column(String(120))
    last_vitals_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_vitals.id", ondelete="SET NULL"))
    observation_min: Mapped[int] = mapped_column()
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    return_to_duty_at: Mapped[datetime] = mapped_column(UTCDateTime)
    return_to_driving_at: Mapped[datetime] = mapped_column(UTCDateTime)
    no_duty_window_h: Mapped[int] = mapped_column()
    instructions: Mapped[str | None] = mapped_column(String(2000))
