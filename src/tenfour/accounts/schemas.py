"""Pydantic input and output of the accounts API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, StringConstraints(max_length=254)]
    password: Annotated[str, StringConstraints(max_length=256)]
    totp: Annotated[str | None, StringConstraints(max_length=20)] = None  # staff with two-step sign-in


class ReauthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, StringConstraints(max_length=256)]
    totp: Annotated[str | None, StringConstraints(max_length=20)] = None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: str


class MeOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    clinics: list[str]
    active_clinic: str | None
