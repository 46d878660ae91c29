"""Between-visit check-ins: the course they follow, the schedule, the patient's own warning signs, the latest relapse
evaluation and its changes, reminders, booster proposals and requests, and the sweep's runs.

The clinical rules are in the pure core (``core.checkin_schedule``, ``core.relapse``, ``core.maintenance``,
``core.reminders``). Completed check-ins are never edited: their scores are copied from the assessments stored
with them (so the periodic sweep reads one table), and a correction of one of those assessments is followed
(``service.follow_corrections``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.db import Base, JSONType, UTCDateTime, utcnow

EXTRA = "extra"  # a check-in the patient made between scheduled ones (not part of the schedule)


class CheckinCourse(Base):
    """The course a patient's check-ins follow: the infusions of their current induction plan (and boosters after).

    Derived from the infusion sessions and the assessments by ``courses.sync``; ``source_fingerprint`` tells the
    sweep when the infusions changed (so only those patients are rebuilt)."""

    __tablename__ = "checkin_courses"
    __table_args__ = (
        UniqueConstraint("patient_id", "plan_id", name="uq_checkin_courses_patient_plan"),
        Index("ix_checkin_courses_clinic_current", "clinic_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("treatment_plans.id", ondelete="SET NULL"))
    is_current: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64))
    course_start: Mapped[date | None] = mapped_column(Date)  # the first infusion's day (local), given or booked
    course_end: Mapped[date | None] = mapped_column(Date)  # the last course infusion's day; None while unknown
    started: Mapped[bool] = mapped_column(default=False)  # the first infusion has been given
    infusions_planned: Mapped[int] = mapped_column(default=6)
    # [{"session_id", "at", "given", "booster"}]: what the schedule was built from (shown on the chart)
    infusions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    baseline_pcl5: Mapped[int | None] = mapped_column()
    baseline_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    tracking_since: Mapped[date] = mapped_column(Date)  # check-ins due before this day are never scheduled
    horizon_end: Mapped[date | None] = mapped_column(Date)
    source_fingerprint: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckIn(Base):
    """One check-in: scheduled (due on a day) or extra; pending, completed, missed or cancelled.

    ``submission_key`` is the per-form nonce (or the API's idempotency key): a double submission is stored once."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_course_status_due", "course_id", "status", "due_on"),
        Index("ix_checkins_clinic_status_due", "clinic_id", "status", "due_on"),
        Index("ix_checkins_patient_completed", "patient_id", "completed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("checkin_courses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # core CheckInKind, or "extra"
    due_on: Mapped[date] = mapped_column(Date)
    infusion_index: Mapped[int | None] = mapped_column()
    week: Mapped[int | None] = mapped_column()
    pcl5_form: Mapped[str] = mapped_column(String(20), default="pcl5-week")
    status: Mapped[str] = mapped_column(String(20), default=CheckInStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_on: Mapped[date | None] = mapped_column(Date)  # the patient's local day of completed_at
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    entered_by: Mapped[str | None] = mapped_column(String(10))  # patient | staff
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    via: Mapped[str | None] = mapped_column(String(10))  # link | signed_in | staff | api
    pcl5_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    phq9_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    cssrs_assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    pcl5_total: Mapped[int | None] = mapped_column()  # the full PCL-5 (0-80) only; None for the 8-item form
    pcl5_short_total: Mapped[int | None] = mapped_column()  # the 8-item form (0-32)
    phq9_total: Mapped[int | None] = mapped_column()
    phq9_item9: Mapped[int | None] = mapped_column()
    cssrs_risk: Mapped[str | None] = mapped_column(String(10))
    signs_endorsed: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(500))  # the patient's own words, read at the next contact

    @property
    def needs_cssrs(self) -> bool:
        """PHQ-9 item 9 above 0 and the C-SSRS screen not answered yet (a follow-up is asked)."""
        return (self.phq9_item9 or 0) > 0 and self.cssrs_assessment_id is None


class WarningSign(Base):
    """A warning sign the patient chose with their clinician: from the taught list, or in their own words.
    Removing one keeps it (``removed_at``) so the history of how often it showed up stays readable."""

    __tablename__ = "warning_signs"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    code: Mapped[str | None] = mapped_column(String(40))  # a key of WARNING_SIGNS; None for the patient's own words
    label: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def is_own_words(self) -> bool:
        return self.code is None


class WarningSignEndorsement(Base):
    """A warning sign the patient said showed up, in one check-in."""

    __tablename__ = "warning_sign_endorsements"
    __table_args__ = (UniqueConstraint("checkin_id", "warning_sign_id", name="uq_warning_sign_endorsements_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    warning_sign_id: Mapped[int] = mapped_column(ForeignKey("warning_signs.id", ondelete="CASCADE"), index=True)


class RelapseEvaluation(Base):
    """The latest relapse evaluation of a patient (``core.relapse.evaluate``): the state and every reason."""

    __tablename__ = "relapse_evaluations"
    __table_args__ = (Index("ix_relapse_evaluations_clinic_state", "clinic_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_courses.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{"rule", "message"}]
    responded: Mapped[bool] = mapped_column(default=False)
    best_pcl5: Mapped[int | None] = mapped_column()
    baseline_pcl5: Mapped[int | None] = mapped_column()
    latest_pcl5: Mapped[int | None] = mapped_column()
    slope_points_per_week: Mapped[float | None] = mapped_column()
    as_of: Mapped[date] = mapped_column(Date)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fingerprint: Mapped[str] = mapped_column(String(64))  # of state and reasons: unchanged -> nothing written
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))


class RelapseTransition(Base):
    """A change of relapse state, with the reasons then and the alert it raised (or the safety alert it points to)."""

    __tablename__ = "relapse_transitions"
    __table_args__ = (Index("ix_relapse_transitions_patient_at", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    as_of: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))  # checkin | sweep | staff
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckinPreference(Base):
    """The patient's reminder choices: the hour, and whether to be emailed at all."""

    __tablename__ = "checkin_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), unique=True)
    reminder_hour: Mapped[int | None] = mapped_column()  # 0-23 in the patient's time zone; None = clinic default
    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CheckinReminder(Base):
    """A reminder emailed for a check-in: when, and the single-use link it carried."""

    __tablename__ = "checkin_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("access_links.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("email_outbox.id", ondelete="SET NULL"))


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"  # a booster request was created for scheduling
    DECLINED = "declined"  # with the prescriber's reason
    SUPERSEDED = "superseded"  # a newer proposal replaced it (a booster was given, a new loss observed)


class BoosterProposal(Base):
    """A booster window from the patient's own durability (``core.maintenance.propose``)."""

    __tablename__ = "booster_proposals"
    __table_args__ = (Index("ix_booster_proposals_clinic_status", "clinic_id", "status", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    latest_treatment_end: Mapped[date] = mapped_column(Date)
    median_durability_days: Mapped[float] = mapped_column()
    n_episodes: Mapped[int] = mapped_column()
    n_censored: Mapped[int] = mapped_column()
    explanation: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.PROPOSED.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(String(1000))


class BoosterRequestStatus(StrEnum):
    REQUESTED = "requested"  # waiting for the scheduling engine
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class BoosterRequest(Base):
    """A booster to schedule inside a window: what the scheduling engine consumes (issue 7)."""

    __tablename__ = "booster_requests"
    __table_args__ = (Index("ix_booster_requests_clinic_status", "clinic_id", "status", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("booster_proposals.id", ondelete="SET NULL"),
                                                    unique=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(10))  # high | normal (see service.booster_priority)
    status: Mapped[str] = mapped_column(String(20), default=BoosterRequestStatus.REQUESTED.value)
    note: Mapped[str | None] = mapped_column(String(1000))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SweepRun(Base):
    """One run of the periodic sweep (``tenfour sweep`` or the server's timer) and what it did."""

    __tablename__ = "sweep_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(20))  # cli | timer | test
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(String(500))
