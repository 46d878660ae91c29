"""Confidential referrals: someone asks the clinic to reach a first responder; the clinic's triage trail.

A referral is seen only by the clinic's triage staff. The referrer gets a reference number and nothing else,
ever: no status, no "they came in". Every change of status is an event with its time, who and a note.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenfour.db import Base, UTCDateTime, utcnow


class ReferralStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    INVITED = "invited"
    INTAKE_COMPLETE = "intake_complete"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"intake_complete": "Intake complete"}.get(self.value, self.value.capitalize())


# Statuses that mean someone at the clinic spoke with (or wrote to and heard from) the person: the first of
# them is the "first contact" whose delay the queue shows. Unreachable and closed are not contact.
CONTACT_STATUSES = frozenset({ReferralStatus.CONTACTED, ReferralStatus.INVITED, ReferralStatus.INTAKE_COMPLETE,
                              ReferralStatus.DECLINED})
OPEN_STATUSES = (ReferralStatus.NEW, ReferralStatus.CONTACTED, ReferralStatus.INVITED, ReferralStatus.UNREACHABLE)


class ReferrerRelation(StrEnum):
    SELF = "self"
    SUPERVISOR = "supervisor"
    PEER_SUPPORT = "peer_support"
    COLLEAGUE = "colleague"
    FAMILY = "family"
    CLINICIAN = "clinician"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "self": "I am referring myself", "supervisor": "Supervisor or officer",
            "peer_support": "Peer-support team member", "colleague": "Colleague or crew member",
            "family": "Spouse, partner or family member", "clinician": "Doctor, therapist or other clinician",
            "other": "Someone else",
        }[self.value]


class EventKind(StrEnum):
    RECEIVED = "received"
    STATUS = "status"
    NOTE = "note"
    CONVERTED = "converted"
    INVITATION = "invitation"


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_clinic_status_created", "clinic_id", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="RESTRICT"))
    # What the referrer is given. Quoting it opens nothing: it only helps staff find the referral on a call.
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=ReferralStatus.NEW)

    referrer_relation: Mapped[str] = mapped_column(String(20))
    referrer_name: Mapped[str | None] = mapped_column(String(120))
    referrer_contact: Mapped[str | None] = mapped_column(String(200))

    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_contact: Mapped[str] = mapped_column(String(10))
    contact_times: Mapped[str | None] = mapped_column(String(200))
    ok_to_leave_message: Mapped[bool] = mapped_column(default=False)
    responder_role: Mapped[str | None] = mapped_column(String(20))
    agency: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(1000))
    consent_to_contact: Mapped[bool] = mapped_column(default=False)

    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"), unique=True)
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.at, ReferralEvent.id", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def first_contact_at(self) -> datetime | None:
        """When the clinic first reached the person (the first event into a contact status)."""
        times = [e.at for e in self.events if e.kind == EventKind.STATUS and e.to_status in CONTACT_STATUSES]
        return min(times) if times else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReferralEvent(Base):
    """One step of the triage trail: a status change, a note, the conversion to a patient, an invitation."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by_label: Mapped[str | None] = mapped_column(String(120))  # who, as shown (kept if the account goes)

    referral: Mapped[Referral] = relationship(back_populates="events")
