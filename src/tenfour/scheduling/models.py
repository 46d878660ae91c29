"""Shift-aware scheduling (issue 7): what the clinic needs to plan chairs and what patients tell us about duty.

- ``ClinicClosure``: a date the clinic is closed (training day, holiday).
- ``ClinicNurseStaffing``: nurses on duty per weekday (the nurse limit is ``schedule.max_infusing_per_nurse`` x this).
- ``PatientDutyChange``: a one-off change to a patient's roster (overtime, traded shift in or out, leave).
- ``PatientCustomRoster``: the on/off hours of a ``custom`` roster (the fixed patterns need only the patient's fields).
- ``SchedulingRequest``: a request waiting for chair time (an induction series, a booster in its window, a single
  session), with the sessions that were booked for it (``SchedulingRequestSession``).
- ``SchedulingRun``: one "schedule waiting requests" run: the preview (every placement, every unplaced request with
  its explanation, the solver's bound and gap, the front desk's figures beside it) until it is committed or discarded.

Times are UTC-aware (``UTCDateTime``); calendar dates are the clinic's local dates.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class ClinicClosure(Base):
    __tablename__ = "clinic_closures"
    __table_args__ = (UniqueConstraint("clinic_id", "day", name="uq_clinic_closures_clinic_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ClinicNurseStaffing(Base):
    """Nurses on duty during opening hours of one weekday (0 = Monday). No row: ``DEFAULT_NURSES``."""

    __tablename__ = "clinic_nurse_staffing"
    __table_args__ = (UniqueConstraint("clinic_id", "weekday", name="uq_clinic_nurse_staffing_clinic_weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column()
    nurses: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PatientDutyChange(Base):
    """One-off change to a roster over [start, end): overtime and trade_in add duty, trade_out and leave remove
    rostered duty (``core.rosters.ChangeKind``)."""

    __tablename__ = "patient_duty_changes"
    __table_args__ = (Index("ix_patient_duty_changes_patient_start", "patient_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PatientCustomRoster(Base):
    """A custom cycle as alternating on/off hours starting with on (``core.rosters.custom_blocks_from_on_off``),
    anchored on the patient's ``roster_anchor_date`` and ``roster_shift_start``."""

    __tablename__ = "patient_custom_rosters"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    on_off_h: Mapped[list[float]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RequestKind(StrEnum):
    INDUCTION = "induction"
    BOOSTER = "booster"
    SINGLE = "single"

    @property
    def label(self) -> str:
        return {"induction": "Induction series", "booster": "Booster", "single": "Single session"}[self.value]


class RequestStatus(StrEnum):
    WAITING = "waiting"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class PreferredTime(StrEnum):
    ANY = "any"
    MORNING = "morning"
    AFTERNOON = "afternoon"


class SchedulingRequest(Base):
    __tablename__ = "scheduling_requests"
    __table_args__ = (Index("ix_scheduling_requests_clinic_status", "clinic_id", "status", "earliest_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plans.id", ondelete="SET NULL"))
    booster_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("booster_requests.id", ondelete="SET NULL"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    sessions: Mapped[int] = mapped_column(default=1)
    earliest_start: Mapped[datetime] = mapped_column(UTCDateTime)
    latest_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(default=2)  # 1 urgent, 2 soon, 3 routine
    preferred_time: Mapped[str] = mapped_column(String(10), default=PreferredTime.ANY.value)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.WAITING.value)
    note: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual | plan | booster
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    sessions_booked: Mapped[list[SchedulingRequestSession]] = relationship(
        order_by="SchedulingRequestSession.session_index", cascade="all, delete-orphan")

    @property
    def kind_label(self) -> str:
        return RequestKind(self.kind).label


class SchedulingRequestSession(Base):
    """A session booked for a request: ``session_index`` 0.. of the series. A rescheduled session keeps its index
    (the link moves to the new booking)."""

    __tablename__ = "scheduling_request_sessions"
    __table_args__ = (UniqueConstraint("request_id", "session_index", name="uq_scheduling_request_sessions_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("scheduling_requests.id", ondelete="CASCADE"))
    infusion_session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"),
                                                     unique=True)
    session_index: Mapped[int] = mapped_column()


class RunStatus(StrEnum):
    PREVIEW = "preview"
    COMMITTED = "committed"
    DISCARDED = "discarded"


class SchedulingRun(Base):
    __tablename__ = "scheduling_runs"
    __table_args__ = (Index("ix_scheduling_runs_clinic_created", "clinic_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.PREVIEW.value)
    horizon_start: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon_days: Mapped[int] = mapped_column()
    time_limit_s: Mapped[float] = mapped_column()
    solver_status: Mapped[str] = mapped_column(String(20))
    objective: Mapped[int | None] = mapped_column()
    best_bound: Mapped[float | None] = mapped_column()
    gap: Mapped[float | None] = mapped_column()
    solve_seconds: Mapped[float] = mapped_column(default=0.0)
    # {"sessions": [...], "unplaced": [...], "violations": [...], "baseline": {...}, "requests": [...], ...}
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
