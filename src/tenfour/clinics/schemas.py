"""Pydantic input and output of the clinics API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ChairOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    is_active: bool


class ClinicOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    slug: str
    timezone: str
    opening_hours: dict[str, list[list[str]]]
    phone: str | None
    address: str | None
    chairs: list[ChairOut]


class ClinicCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    timezone: Annotated[str, StringConstraints(max_length=64)]
    slug: Annotated[str, StringConstraints(max_length=60)] | None = None
    opening_hours: dict[str, list[list[str]]] | None = None
    chairs: Annotated[int, Field(ge=0, le=100)] = 4


class PolicySettingOut(BaseModel):
    key: str
    group: str
    label: str
    value: Any
    default: Any
    unit: str
    basis: str
    source: str
    minimum: float | None
    maximum: float | None
    choices: list[str]
    is_default: bool


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[Annotated[str, StringConstraints(max_length=80)], Any] = Field(max_length=100)
