"""Pydantic input and output of referrals. The public answer is the reference and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from tenfour.patients.models import ContactMethod, ResponderRole
from tenfour.patients.schemas import BirthDate, Email, Name, Phone, _blank_is_none, _text
from tenfour.referrals.models import ReferralStatus, ReferrerRelation

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
OptionalRole = Annotated[ResponderRole | None, BeforeValidator(_blank_is_none)]
ClinicSlug = Annotated[Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None,
                       BeforeValidator(_blank_is_none)]


class ReferralIn(BaseModel):
    """A confidential referral. Field order matters: the checks of phone, email and consent read the fields
    before them (preferred contact, relation)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clinic: ClinicSlug = Field(default=None, description="Clinic slug; needed when the deployment has several")
    referrer_relation: ReferrerRelation
    referrer_name: _text(120) = None  # type: ignore[valid-type]
    referrer_contact: _text(200) = None  # type: ignore[valid-type]
    first_name: Name
    last_name: Name
    preferred_contact: ContactMethod
    phone: Phone = Field(default=None, validate_default=True)
    email: Email = Field(default=None, validate_default=True)
    contact_times: _text(200) = None  # type: ignore[valid-type]
    ok_to_leave_message: bool = False
    responder_role: OptionalRole = None
    agency: _text(120) = None  # type: ignore[valid-type]
    reason: Reason
    consent_to_contact: bool = Field(default=False, validate_default=True)

    @field_validator("phone", mode="after")
    @classmethod
    def _phone_for_calls_and_texts(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("preferred_contact") in (ContactMethod.PHONE, ContactMethod.TEXT):
            raise PydanticCustomError("required_for_contact_method",
                                      "is needed to call or text (or choose email as the way to get in touch)")
        return value

    @field_validator("email", mode="after")
    @classmethod
    def _email_for_email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("preferred_contact") == ContactMethod.EMAIL:
            raise PydanticCustomError("required_for_contact_method",
                                      "is needed to get in touch by email (or choose phone or text)")
        return value

    @field_validator("consent_to_contact", mode="after")
    @classmethod
    def _self_referral_consents(cls, value: bool, info: ValidationInfo) -> bool:
        if not value and info.data.get("referrer_relation") == ReferrerRelation.SELF:
            raise PydanticCustomError("consent_required_for_self_referral",
                                      "please agree to be contacted, so the clinic can reach you")
        return value


class ReferralAcknowledgment(BaseModel):
    """All a referrer ever learns."""

    reference: str


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    from_status: str | None
    to_status: str
    note: str | None
    at: datetime
    by_user_id: int | None
    by_label: str | None


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    clinic_id: int
    reference: str
    status: str
    referrer_relation: str
    referrer_name: str | None
    referrer_contact: str | None
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    preferred_contact: str
    contact_times: str | None
    ok_to_leave_message: bool
    responder_role: str | None
    agency: str | None
    reason: str
    consent_to_contact: bool
    patient_id: int | None
    created_at: datetime
    first_contact_at: datetime | None
    events: list[EventOut] = []


class ReferralSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    reference: str
    status: str
    first_name: str
    last_name: str
    preferred_contact: str
    referrer_relation: str
    created_at: datetime
    first_contact_at: datetime | None
    patient_id: int | None


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ReferralStatus
    note: Note


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note


class ConvertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date_of_birth: BirthDate
    send_invitation: bool = Field(default=False, description="Email an invitation at once (needs an email)")

