"""One exception family for the application, mapped once to HTTP answers in ``web.errors``.

Every error names the field and the rule where there is one, so a person can fix what they typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenfour.core.errors import CoreError


@dataclass
class Problem:
    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class TenFourError(Exception):
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, problems: list[Problem] | None = None) -> None:
        self.message = message or self.default_message
        self.problems = problems or []
        super().__init__(self.message)


class ValidationFailed(TenFourError):
    """Input that breaks a rule (422). Lists every problem, each naming the field and the rule."""

    status_code = 422
    default_message = "Some fields need attention."

    @classmethod
    def single(cls, field: str, rule: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", [Problem(field, rule, message)])

    @classmethod
    def from_core(cls, error: CoreError) -> ValidationFailed:
        problems = [Problem(p.field, p.rule, p.message) for p in error.problems]
        return cls("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


class NotAuthenticated(TenFourError):
    status_code = 401
    default_message = "Please sign in."


class Forbidden(TenFourError):
    status_code = 403
    default_message = "Your role does not allow this."


class ReauthRequired(TenFourError):
    """A sensitive action (signing, overriding, exporting) needs the password again: the sign-in is not recent."""

    status_code = 401
    code = "reauth_required"
    default_message = "Please confirm your password (and code, if you use two-step sign-in) to continue."


class MfaEnrollmentRequired(TenFourError):
    """The clinic requires two-step sign-in and this staff member has not set it up yet."""

    status_code = 403
    code = "mfa_enrollment_required"
    default_message = "Your clinic requires two-step sign-in. Set it up at /account/mfa to continue."


class NotFound(TenFourError):
    """Also the answer for a record in another clinic: its existence is not revealed."""

    status_code = 404
    default_message = "Not found."


class Conflict(TenFourError):
    status_code = 409
    default_message = "This conflicts with the current state of the record."


class TooManyRequests(TenFourError):
    status_code = 429
    default_message = "Too many attempts. Please wait a few minutes and try again."

    def __init__(self, message: str | None = None, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
