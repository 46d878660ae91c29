"""The patient registry: demographics, contact, first-responder role, duty roster fields and consents."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Time, UniqueConstraint, event, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenfour.db import Base, UTCDateTime, utcnow


class ResponderRole(StrEnum):
    FIREFIGHTER = "firefighter"
    POLICE = "police"
    EMS = "ems"
    DISPATCHER = "dispatcher"
    CORRECTIONS = "corrections"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"ems": "EMS", "police": "Police officer"}.get(self.value, self.value.capitalize())


class ContactMethod(StrEnum):
    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"


class Sex(StrEnum):
    """Sex recorded for clinical formulas (ideal body weight); not gender identity."""

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class PatientStatus(StrEnum):
    REFERRED = "referred"
    INTAKE = "intake"
    ASSESSMENT = "assessment"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    DISCHARGED = "discharged"
    INELIGIBLE = "ineligible"


class ConsentKind(StrEnum):
    TREATMENT = "treatment"
    CONTACT = "contact"
    SHARE_WITH_OWN_CLINICIAN = "share_with_own_clinician"
    RESEARCH_DEIDENTIFIED = "research_deidentified"

    @property
    def label(self) -> str:
        return {
            "treatment": "Consent to ketamine infusion treatment",
            "contact": "Consent to be contacted by phone, text or email",
            "share_with_own_clinician": "Share progress reports with my own clinician",
            "research_deidentified": "Use of my de-identified data for research",
        }[self.value]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("clinic_id", "record_number", name="uq_patients_clinic_record_number"),
        Index("ix_patients_clinic_last_name", "clinic_id", "last_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"), index=True)
    record_number: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)

    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    preferred_name: Mapped[str | None] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10), default=Sex.UNKNOWN)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    preferred_contact: Mapped[str] = mapped_column(String(10), default=ContactMethod.PHONE)
    contact_times: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))

    responder_role: Mapped[str] = mapped_column(String(20))
    agency: Mapped[str | None] = mapped_column(String(120))
    years_of_service: Mapped[int | None] = mapped_column()

    # Duty roster (expanded by core.rosters; edited by the patient on their phone).
    roster_pattern: Mapped[str | None] = mapped_column(String(20))
    roster_anchor_date: Mapped[date | None] = mapped_column(Date)
    roster_shift_start: Mapped[time | None] = mapped_column(Time)
    roster_platoon: Mapped[str | None] = mapped_column(String(10))

    status: Mapped[str] = mapped_column(String(20), default=PatientStatus.INTAKE)
    notes: Mapped[str | None] = mapped_column(String(2000))
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    consents: Mapped[list[PatientConsent]] = relationship(
        back_populates="patient", order_by="PatientConsent.given_at", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.first_name
        return f"{first} {self.last_name}"

    @property
    def sort_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    def age_on(self, day: date) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class PatientConsent(Base):
    """A consent given with the version of the text the patient saw; withdrawal is recorded, never erased."""

    __tablename__ = "patient_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    patient: Mapped[Patient] = relationship(back_populates="consents")


class DeletedPatient(Base):
    """What is left of a deleted patient record: its former id (the number the audit trail still names), the clinic,
    why (``retention`` or ``request``) and when. No name, no contact, no clinical data."""

    __tablename__ = "deleted_patients"

    patient_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    clinic_id: Mapped[int] = mapped_column(index=True)  # a plain number like the audit trail's: outlives the clinic
    reason: Mapped[str] = mapped_column(String(20))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_LAST_ASSIGNED = "tenfour.patients.last_assigned_id"


@event.listens_for(Patient, "before_insert")
def _never_reuse_a_deleted_id(mapper: Any, connection: Any, target: Patient) -> None:
    """SQLite gives a new row max(id) + 1, so deleting the newest patient would hand their id (and with it their
    audit trail, shown to patients as "who opened my record") to the next one. Once any patient has been deleted,
    new ids start above every deleted one. PostgreSQL's sequences never reuse an id."""
    if target.id is not None or connection.dialect.name != "sqlite":
        return
    top_deleted = connection.scalar(select(func.max(DeletedPatient.patient_id)))
    if top_deleted is None:
        return
    top_live = connection.scalar(select(func.max(Patient.id))) or 0
    target.id = max(top_deleted, top_live, connection.info.get(_LAST_ASSIGNED, 0)) + 1
    connection.info[_LAST_ASSIGNED] = target.id
