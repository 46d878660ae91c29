"""The outcomes report as the JSON API returns it (the same dict the page and `tenfour report outcomes --json` use)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EstimateOut(BaseModel):
    """A number with its 95% interval and the count behind it. Shares are fractions 0-1; value null = not
    estimable (no patients, or a median not reached); an interval end null = unbounded."""

    value: float | None
    ci95: list[float | None] | None = Field(description="[low, high]")
    n: int
    count: int | None = Field(None, description="the numerator of a share")
    events: int | None = Field(None, description="the events behind a survival estimate")


class RateOut(EstimateOut):
    label: str


class FunnelOut(BaseModel):
    referred: int
    eligibility_decided: int
    eligible: int
    started: int
    completed_induction: int


class LossOfResponseOut(BaseModel):
    responders_followed: int
    losses: int
    censored: int


class SafetyOut(BaseModel):
    infusions: int
    stopped_early_per_100: EstimateOut
    notify_vitals_per_100: EstimateOut
    adverse_events_per_100: dict[str, RateOut]


class MissingOut(BaseModel):
    no_baseline_pcl5: int
    course_in_progress: int
    ended_without_pcl5: int
    checkin_24h: dict[str, int]
    responders_censored: int
    booster_followed_under_14_weeks: int
    infusions_without_cadss6: int
    checkins_missed: int
    checkins_completed: int


class ClaimOut(BaseModel):
    key: str
    claim: str
    source: str
    rule: str = Field(description="point | at_least | comparison (the verdict rule is a product choice)")
    target: float | None
    target_label: str
    measure: str
    measure_label: str
    estimate: EstimateOut
    verdict: str = Field(description="consistent | not_consistent | not_enough_data | not_testable")
    verdict_label: str
    caveat: str


class ClinicOut(BaseModel):
    slug: str
    name: str
    as_of: str


class DefinitionOut(BaseModel):
    key: str
    label: str
    unit: str
    basis: str
    source: str
    values: dict[str, int | float | bool | str]


class ReadFromOut(BaseModel):
    """Present only when the numbers were read from the analytics replica (TENFOUR_ANALYTICS_DATABASE_URL)."""

    database: str = Field(description="analytics")
    in_recovery: bool = Field(description="true: a streaming standby of the primary")
    lag_seconds: float | None = Field(description="How far the replica was behind the primary (null: not a standby)")
    replayed_at: str | None = Field(description="Commit time on the primary of the last change the replica applied")
    courses_counted_from_records: int = Field(
        description="Courses whose stored facts the replica had not caught up with, counted from their records there")


class ScopeOut(BaseModel):
    clinics: list[ClinicOut]
    filters: dict[str, str | None]
    definitions: list[DefinitionOut]
    min_n_to_judge: int
    read_from: ReadFromOut | None = None


class OutcomesOut(BaseModel):
    scope: ScopeOut
    funnel: FunnelOut
    completed_induction_share: EstimateOut
    response_rate: EstimateOut
    remission_rate: EstimateOut
    improved_at_24h: EstimateOut
    median_days_to_loss_of_response: EstimateOut
    still_responding_at_14_weeks: EstimateOut
    booster_within_14_weeks: EstimateOut
    booster_ever: EstimateOut
    cadss6_mean: EstimateOut
    loss_of_response: LossOfResponseOut
    safety: SafetyOut
    missing: MissingOut
    claims: list[ClaimOut]
    notes: list[str]
