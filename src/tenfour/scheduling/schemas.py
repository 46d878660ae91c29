"""Pydantic input and output of the scheduling API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Short = Annotated[str, StringConstraints(max_length=64)]
Text = Annotated[str, StringConstraints(max_length=500)]
RecordRef = Annotated[int, Field(ge=1, le=2_147_483_647)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomBlockIn(_In):
    day: int = Field(ge=0, le=400)
    length_h: float = Field(gt=0, le=24 * 400)
    start_offset_h: float = 0.0


class RosterPreviewIn(_In):
    pattern: Short
    anchor_date: date
    shift_start: time
    platoon: Short | None = None
    timezone: Short
    days: int = Field(description="Local days to expand, 1 to 400")
    start_date: date | None = Field(default=None, description="First local day (default: the anchor date)")
    custom_cycle_days: int | None = None
    custom_blocks: list[CustomBlockIn] = Field(default_factory=list, max_length=400)


class IntervalOut(BaseModel):
    start: datetime
    end: datetime
    source: str = "roster"


class RosterPreviewOut(BaseModel):
    on_duty: list[IntervalOut]


class RosterIn(_In):
    pattern: Short | None = Field(default=None, description="empty or null clears the roster")
    anchor_date: date | None = None
    shift_start: time | None = None
    platoon: Short | None = None
    timezone: Short | None = None
    custom_on_off_h: list[float] | None = Field(default=None, max_length=60)


class RosterOut(BaseModel):
    pattern: str | None
    anchor_date: date | None
    shift_start: str | None
    platoon: str | None
    timezone: str | None
    custom_on_off_h: list[float] | None
    on_duty_next_weeks: list[IntervalOut]
    changes: list[DutyChangeOut]


class DutyChangeIn(_In):
    kind: Short = Field(description="overtime, trade_in, trade_out or leave")
    start: datetime
    end: datetime
    note: Text | None = None


class DutyChangeOut(BaseModel):
    id: int
    kind: str
    start: datetime
    end: datetime
    note: str | None


RosterOut.model_rebuild()


class RequestIn(_In):
    patient_id: RecordRef
    kind: Short = Field(description="induction, booster or single")
    earliest: date
    latest: date | None = None
    priority: int = 2
    preferred_time: Short = "any"
    sessions: int | None = None
    note: Text | None = None


class RequestOut(BaseModel):
    id: int
    patient_id: int
    patient: str
    kind: str
    sessions: int
    earliest_start: datetime
    latest_end: datetime | None
    priority: int
    preferred_time: str
    status: str
    source: str
    note: str | None
    session_ids: list[int]


class ReasonIn(_In):
    reason: Text | None = None


class RunIn(_In):
    time_limit_s: float = Field(default=10.0, description="CP-SAT wall-clock limit, 1 to 60 s")
    horizon_days: int = Field(default=28, description="days planned from tomorrow, 7 to 56")


class RunOut(BaseModel):
    id: int
    status: str
    solver_status: str
    objective: int | None
    best_bound: float | None
    gap: float | None
    solve_seconds: float
    horizon_start: datetime
    horizon_days: int
    sessions: list[dict[str, Any]]
    unplaced: list[dict[str, Any]]
    violations: list[dict[str, Any]]
    cpsat: dict[str, Any]
    baseline: dict[str, Any]


class CommitOut(BaseModel):
    run_id: int
    session_ids: list[int]


class RescheduleIn(_In):
    chair_id: RecordRef
    start: datetime
    reason: Text | None = None
    confirm: bool = Field(default=False, description="false: only check; true: move if every rule holds")


class RescheduleOut(BaseModel):
    ok: bool
    moved: bool
    problems: list[dict[str, str]]
    session_id: int | None


class SlotsOut(BaseModel):
    request_id: int
    session_index: int
    sessions: int
    chosen: list[datetime]
    slots: dict[str, list[datetime]]


class SelfBookIn(_In):
    starts: list[datetime] = Field(max_length=12)


class NursesIn(_In):
    nurses: dict[int, int] = Field(description="weekday (0 = Monday) -> nurses on duty")


class ClosureIn(_In):
    day: date
    reason: Text | None = None


class ClosureOut(BaseModel):
    id: int
    day: date
    reason: str | None


class SettingsOut(BaseModel):
    nurses: dict[int, int]
    closures: list[ClosureOut]


class CalendarEntryOut(BaseModel):
    session_id: int
    patient_id: int
    patient: str
    chair_id: int
    chair: str
    start: datetime
    end: datetime
    status: str


class CalendarOut(BaseModel):
    start: date
    days: int
    closures: list[date]
    sessions: list[CalendarEntryOut]
