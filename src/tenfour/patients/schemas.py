"""Pydantic input and output of the patient registry."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from tenfour.patients.models import ConsentKind, ContactMethod, PatientStatus, ResponderRole, Sex

ROSTER_PATTERNS = ("24/48", "48/96", "kelly", "pitman", "dupont", "4on4off", "custom")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _plausible_birth_date(value: date) -> date:
    today = date.today()
    if value >= today:
        raise ValueError("must be in the past")
    if value.year < today.year - 110:
        raise ValueError("must be within the last 110 years")
    return value


def _known_roster_pattern(value: str | None) -> str | None:
    if value is not None and value not in ROSTER_PATTERNS:
        raise ValueError(f"must be one of: {', '.join(ROSTER_PATTERNS)}")
    return value


def _text(max_length: int) -> object:
    """Optional free text: trimmed, blank becomes None, at most max_length characters."""
    return Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length)] | None,
        BeforeValidator(_blank_is_none),
    ]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
BirthDate = Annotated[date, AfterValidator(_plausible_birth_date)]
Phone = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().-]{7,25}$")] | None,
    BeforeValidator(_blank_is_none),
]
Email = Annotated[EmailStr | None, BeforeValidator(_blank_is_none)]
RosterPattern = Annotated[str | None, BeforeValidator(_blank_is_none), AfterValidator(_known_roster_pattern)]
Years = Annotated[int, Field(ge=0, le=60)]
PreferredName = _text(80)
ContactTimes = _text(200)
Agency = _text(120)
Platoon = _text(10)
Notes = _text(2000)
def _local_time(value: time | None) -> time | None:
    if value is not None and value.tzinfo is not None:
        raise ValueError("is a time of day in the patient's time zone: give it without an offset (e.g. 07:00)")
    return value


ShiftStart = Annotated[time | None, AfterValidator(_local_time)]
# A wall-clock time in the patient's time zone, sent as "HH:MM:SS": no UTC offset, so not JSON Schema's "time" format
# (RFC 3339 full-time, which needs one); the document says what is really sent.
LocalTime = Annotated[time, WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$",
                                            "description": "Local time of day, HH:MM:SS"}, mode="serialization")]
TimeZoneName = _text(64)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ConsentKind
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class PatientFields(BaseModel):
    """Fields of a new patient record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: Name
    last_name: Name
    preferred_name: PreferredName = None  # type: ignore[valid-type]
    date_of_birth: BirthDate
    sex: Sex = Sex.UNKNOWN
    email: Email = None
    phone: Phone = None
    preferred_contact: ContactMethod = ContactMethod.PHONE
    contact_times: ContactTimes = None  # type: ignore[valid-type]
    timezone: TimeZoneName = None  # type: ignore[valid-type]
    responder_role: ResponderRole
    agency: Agency = None  # type: ignore[valid-type]
    years_of_service: Years | None = None
    roster_pattern: RosterPattern = None
    roster_anchor_date: date | None = None
    roster_shift_start: ShiftStart = None
    roster_platoon: Platoon = None  # type: ignore[valid-type]
    notes: Notes = None  # type: ignore[valid-type]


class PatientCreate(PatientFields):
    consents: list[ConsentIn] = Field(default_factory=list, max_length=10)
    clinic: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Clinic slug; needed only by staff who work in several clinics"
    )


class PatientUpdate(BaseModel):
    """A partial update: only the fields sent are changed (send null to clear an optional field)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: Name | None = None
    last_name: Name | None = None
    preferred_name: PreferredName = None  # type: ignore[valid-type]
    date_of_birth: BirthDate | None = None
    sex: Sex | None = None
    email: Email = None
    phone: Phone = None
    preferred_contact: ContactMethod | None = None
    contact_times: ContactTimes = None  # type: ignore[valid-type]
    timezone: TimeZoneName = None  # type: ignore[valid-type]
    responder_role: ResponderRole | None = None
    agency: Agency = None  # type: ignore[valid-type]
    years_of_service: Years | None = None
    roster_pattern: RosterPattern = None
    roster_anchor_date: date | None = None
    roster_shift_start: ShiftStart = None
    roster_platoon: Platoon = None  # type: ignore[valid-type]
    status: PatientStatus | None = None
    notes: Notes = None  # type: ignore[valid-type]


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    version: str
    given_at: datetime
    withdrawn_at: datetime | None


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    clinic_id: int
    record_number: str
    first_name: str
    last_name: str
    preferred_name: str | None
    date_of_birth: date
    sex: str
    email: str | None
    phone: str | None
    preferred_contact: str
    contact_times: str | None
    timezone: str | None
    responder_role: str
    agency: str | None
    years_of_service: int | None
    roster_pattern: str | None
    roster_anchor_date: date | None
    roster_shift_start: LocalTime | None
    roster_platoon: str | None
    status: str
    notes: str | None
    is_synthetic: bool
    created_at: datetime
    updated_at: datetime
    consents: list[ConsentOut] = []


class PatientPage(BaseModel):
    items: list[PatientOut]
    total: int
    limit: int
    offset: int
