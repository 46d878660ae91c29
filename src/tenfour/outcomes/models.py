"""Each course's outcome facts, kept for the outcomes dashboard so a view adds up one small row per course instead of
re-reading every check-in (issue 8: the page within 2 s at 100,000 patients).

A row holds what ``outcomes.facts`` computed from the course and its check-ins — course infusions given, the first
booster after the course, the best PCL-5, responded after the course, the loss-of-response and last-seen days, the
24-hour check-in, the answered/missed counts, and the latest score of each week (the trajectory).

Never stale unnoticed: database triggers (migration ``course_outcomes``) add 1 to ``changes`` whenever the course
row or any of its check-ins is written, by whatever code path (a submission, the sweep's missed marking, a schedule
rebuild, a correction, a bulk load). A row counts only while ``computed_changes == changes``, it was computed under
the clinic's current rules (``rules_key``) and its as-of day still holds (``computed_as_of`` <= today <
``valid_until``); otherwise the next view (or the sweep) recounts that course first. ``InfusionOutcome`` does the
same for each infusion session's safety facts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, UTCDateTime

STALE = "computed_changes IS NULL OR computed_changes <> changes"  # rows the triggers have marked since


class CourseOutcome(Base):
    __tablename__ = "course_outcomes"
    __table_args__ = (
        Index("ix_course_outcomes_clinic", "clinic_id"),
        Index("ix_course_outcomes_stale", "course_id", postgresql_where=text(STALE), sqlite_where=text(STALE)),
    )

    course_id: Mapped[int] = mapped_column(ForeignKey("checkin_courses.id", ondelete="CASCADE"), primary_key=True)
    changes: Mapped[int] = mapped_column(default=0, server_default="0")  # bumped by the triggers
    computed_changes: Mapped[int | None] = mapped_column()  # the ``changes`` the facts below reflect
    # The course as it was when counted (what the filters and the as-of rules read; a change is a new count)
    clinic_id: Mapped[int | None] = mapped_column()
    patient_id: Mapped[int | None] = mapped_column()
    plan_id: Mapped[int | None] = mapped_column()
    is_current: Mapped[bool | None] = mapped_column()
    started: Mapped[bool | None] = mapped_column()
    course_start: Mapped[date | None] = mapped_column(Date)
    course_end: Mapped[date | None] = mapped_column(Date)
    infusions_planned: Mapped[int | None] = mapped_column()
    baseline: Mapped[int | None] = mapped_column()
    rules_key: Mapped[str | None] = mapped_column(String(40))  # response % and loss-of-response run they used
    computed_as_of: Mapped[date | None] = mapped_column(Date)  # the clinic's day they were computed for
    valid_until: Mapped[date | None] = mapped_column(Date)  # a dated input becomes visible on this day (None: none)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    given_course: Mapped[int | None] = mapped_column()  # course infusions given (not boosters)
    first_booster: Mapped[date | None] = mapped_column(Date)  # the first booster's local day after the course end
    best: Mapped[int | None] = mapped_column()  # lowest full PCL-5 since the course began
    responded: Mapped[int | None] = mapped_column()  # 1: met the response rule after the course end (to a booster)
    loss_day: Mapped[date | None] = mapped_column(Date)  # loss of response after the course end
    last_day: Mapped[date | None] = mapped_column(Date)  # the last scored check-in after the course end
    h24_score: Mapped[int | None] = mapped_column()  # the 24-hour check-in's first full PCL-5
    h24_completed: Mapped[int | None] = mapped_column()  # 1/0 per state of the 24-hour check-ins; None: none
    h24_missed: Mapped[int | None] = mapped_column()
    h24_pending: Mapped[int | None] = mapped_column()
    checkins_completed: Mapped[int | None] = mapped_column()
    checkins_missed: Mapped[int | None] = mapped_column()
    # The latest full PCL-5 of each week since the first infusion (week 0 = days 0-6), as "week:score,..." (only the
    # trajectory plot reads it, counting the pairs; in no particular order)
    weekly: Mapped[str | None] = mapped_column(Text)


class InfusionOutcome(Base):
    """One infusion session's safety facts (the dashboard's safety section), kept like ``CourseOutcome``: the
    triggers count writes to the session, its vital signs and its adverse events. (Its CADSS-6 assessment is never
    edited: a correction is a new assessment, and pointing the session at it is a write to the session.)"""

    __tablename__ = "infusion_outcomes"
    __table_args__ = (
        Index("ix_infusion_outcomes_clinic", "clinic_id"),
        Index("ix_infusion_outcomes_stale", "session_id", postgresql_where=text(STALE), sqlite_where=text(STALE)),
    )

    session_id: Mapped[int] = mapped_column(ForeignKey("infusion_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    changes: Mapped[int] = mapped_column(default=0, server_default="0")
    computed_changes: Mapped[int | None] = mapped_column()
    clinic_id: Mapped[int | None] = mapped_column()
    patient_id: Mapped[int | None] = mapped_column()
    plan_id: Mapped[int | None] = mapped_column()
    infusion_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_early: Mapped[bool | None] = mapped_column()
    notify: Mapped[int | None] = mapped_column()  # 1: a reading at the notify or stop line
    cadss_total: Mapped[int | None] = mapped_column()
    adverse: Mapped[str | None] = mapped_column(String(400))  # the distinct adverse event types, comma-separated
