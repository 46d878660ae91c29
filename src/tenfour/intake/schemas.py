"""Pydantic input of the intake steps and the invitation. Cross-field rules that need the clinic (roster,
blood pressure, dates) are checked by the service with the pure core."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from tenfour.patients.models import ContactMethod, ResponderRole, Sex
from tenfour.patients.schemas import BirthDate, Phone, RosterPattern, Years, _blank_is_none, _text

Term = Annotated[str, StringConstraints(max_length=60)]


OptionalDate = Annotated[date | None, BeforeValidator(_blank_is_none)]
OptionalTime = Annotated[time | None, BeforeValidator(_blank_is_none)]
OptionalYears = Annotated[Years | None, BeforeValidator(_blank_is_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_blank_is_none)]
OptionalDecimal = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]


class AboutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    preferred_name: _text(80) = None  # type: ignore[valid-type]
    date_of_birth: BirthDate
    sex: Sex
    preferred_contact: ContactMethod
    phone: Phone = Field(default=None, validate_default=True)
    contact_times: _text(200) = None  # type: ignore[valid-type]

    @field_validator("phone", mode="after")
    @classmethod
    def _phone_for_calls_and_texts(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("preferred_contact") in (ContactMethod.PHONE, ContactMethod.TEXT):
            raise PydanticCustomError("required_for_contact_method",
                                      "is needed for calls and texts (or choose email)")
        return value


class WorkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    responder_role: ResponderRole
    agency: _text(120) = None  # type: ignore[valid-type]
    years_of_service: OptionalYears = None
    roster_pattern: RosterPattern = None
    roster_anchor_date: OptionalDate = None
    roster_shift_start: OptionalTime = None
    roster_platoon: _text(10) = None  # type: ignore[valid-type]


class HealthIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    conditions: Annotated[list[Term], Field(max_length=20)] = Field(default_factory=list)
    medications: Annotated[list[Term], Field(max_length=10)] = Field(default_factory=list)
    other_medications: _text(1000) = None  # type: ignore[valid-type]
    health_notes: _text(1000) = None  # type: ignore[valid-type]
    reviewed: bool = Field(default=False, validate_default=True)

    @field_validator("reviewed", mode="after")
    @classmethod
    def _went_through_the_list(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError("confirm_reviewed",
                                      "please confirm you went through every item (tick the ones that apply)")
        return value


class MeasurementsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    bp_unknown: bool = False
    systolic_bp: OptionalInt = None
    diastolic_bp: OptionalInt = None
    bp_measured_on: OptionalDate = None
    weight: OptionalDecimal = None
    weight_unit: Literal["kg", "lb"] = "lb"
    weight_measured_on: OptionalDate = None
    height: OptionalDecimal = None
    height_unit: Literal["cm", "in"] = "in"


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, StringConstraints(max_length=256)] = ""
    password_confirm: Annotated[str, StringConstraints(max_length=256)] = ""


class InvitationOut(BaseModel):
    patient_id: int
    sent_to: str
    expires_at: datetime


class IntakeOut(BaseModel):
    """A patient's intake as staff see it."""

    model_config = ConfigDict(from_attributes=True)
    patient_id: int
    steps_done: list[str]
    conditions: list[str]
    medications: list[str]
    other_medications: str | None
    health_notes: str | None
    systolic_bp: int | None
    diastolic_bp: int | None
    bp_measured_on: date | None
    bp_unknown: bool
    weight_kg: Decimal | None
    weight_measured_on: date | None
    height_cm: int | None
    started_at: datetime
    submitted_at: datetime | None
