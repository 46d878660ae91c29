"""Pydantic input and output of treatment plans. The dose is given in mg/kg and stored exactly in µg/kg."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class PlanIn(BaseModel):
    """A plan; anything left out takes the clinic's induction protocol by default. Limits are the clinic's
    policy and are checked by the service (each problem names the field and the rule)."""

    model_config = ConfigDict(extra="forbid")
    protocol: Annotated[str, StringConstraints(max_length=20)] = "induction"
    infusions_planned: Any = None
    dose_mg_per_kg: Any = Field(default=None, description="mg/kg, e.g. 0.5 (at most the clinic maximum)")
    infusion_duration_min: Any = None
    max_infusions_per_week: Any = None
    pregnancy_check_required: bool | None = None
    notes: Notes | None = None
    sign: bool = Field(default=False, description="Sign at once (prescribers only; needs an eligible decision)")


class PlanUpdate(BaseModel):
    """Changes to a draft; a signed plan is never changed (supersede it)."""

    model_config = ConfigDict(extra="forbid")
    protocol: Annotated[str, StringConstraints(max_length=20)] | None = None
    infusions_planned: Any = None
    dose_mg_per_kg: Any = None
    infusion_duration_min: Any = None
    max_infusions_per_week: Any = None
    pregnancy_check_required: bool | None = None
    notes: Notes | None = None


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    version_number: int
    supersedes_id: int | None
    protocol: str
    infusions_planned: int
    dose_ug_per_kg: int
    dose_mg_per_kg: Decimal
    infusion_duration_min: int
    max_infusions_per_week: int
    pregnancy_check_required: bool
    notes: str | None
    eligibility_decision_id: int | None
    created_at: datetime
    created_by_id: int | None
    signed_at: datetime | None
    signed_by_id: int | None
    is_signed: bool
    is_current: bool = False
