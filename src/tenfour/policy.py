"""Authorization: the one place that says who may do what. Default deny.

Two layers, always both:
1. Role permissions — may this role do this kind of thing at all? (403 when not.)
2. Record scope — is this record within the user's clinics, or the patient's own? A record outside the
   scope answers 404, so that its existence is not revealed.

Every route declares its permission through ``web.deps.authorize(Permission.X)`` or ``web.deps.public``;
a test walks the route table and fails on any route without a declaration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tenfour.accounts.models import Role, User
from tenfour.errors import Forbidden, NotFound


class Permission(StrEnum):
    # Patient registry
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    # The patient's own record, seen and edited by the patient themself
    SELF_READ = "self.read"
    SELF_WRITE = "self.write"
    # Clinic administration
    CLINIC_VIEW = "clinic.view"  # see the clinic home, counts and settings read-only
    CLINIC_ADMIN = "clinic.admin"  # create clinics, edit hours, chairs and policy
    USER_ADMIN = "user.admin"
    AUDIT_READ = "audit.read"
    # Instruments and assessments (a patient holds these too, scoped to their own record)
    ASSESSMENT_READ = "assessment.read"
    ASSESSMENT_WRITE = "assessment.write"
    ASSESSMENT_CORRECT = "assessment.correct"  # staff only: a correction is a new version with a reason
    # Alerts (urgent safety flags now; the full inbox with the check-ins)
    ALERT_READ = "alert.read"
    ALERT_ACK = "alert.ack"
    # Referral to plan
    REFERRAL_TRIAGE = "referral.triage"
    ELIGIBILITY_DECIDE = "eligibility.decide"  # record and override eligibility decisions
    PLAN_SIGN = "plan.sign"
    # Infusion sessions
    INFUSION_CHART = "infusion.chart"
    DOSE_CHANGE = "dose.change"  # a dose different from the signed plan, or a duty-window override
    # Scheduling
    SCHEDULE_VIEW = "schedule.view"
    SCHEDULE_MANAGE = "schedule.manage"
    # Outcomes and exports
    OUTCOMES_READ = "outcomes.read"
    DATA_EXPORT = "data.export"  # de-identified research export


_P = Permission
_STAFF_BASE = {_P.CLINIC_VIEW}
_CLINICAL = _STAFF_BASE | {
    _P.PATIENT_READ, _P.PATIENT_WRITE, _P.ASSESSMENT_READ, _P.ASSESSMENT_WRITE, _P.ASSESSMENT_CORRECT,
    _P.ALERT_READ, _P.ALERT_ACK, _P.REFERRAL_TRIAGE, _P.SCHEDULE_VIEW,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administrators run the deployment (clinics, accounts, policy, audit) and see aggregate outcomes.
    # They do not read charts: the HIPAA "minimum necessary" standard; a clinician account is needed for that.
    Role.ADMIN: frozenset(_STAFF_BASE | {_P.CLINIC_ADMIN, _P.USER_ADMIN, _P.AUDIT_READ, _P.OUTCOMES_READ,
                                          _P.DATA_EXPORT}),
    Role.PRESCRIBER: frozenset(_CLINICAL | {_P.ELIGIBILITY_DECIDE, _P.PLAN_SIGN, _P.INFUSION_CHART, _P.DOSE_CHANGE,
                                            _P.OUTCOMES_READ}),
    Role.NURSE: frozenset(_CLINICAL | {_P.INFUSION_CHART, _P.SCHEDULE_MANAGE}),
    Role.COORDINATOR: frozenset(_CLINICAL | {_P.SCHEDULE_MANAGE}),
    # Managers plan chairs and read outcomes; they see the registry but not charts or scores.
    Role.MANAGER: frozenset(_STAFF_BASE | {_P.PATIENT_READ, _P.SCHEDULE_VIEW, _P.SCHEDULE_MANAGE, _P.OUTCOMES_READ,
                                           _P.DATA_EXPORT}),
    # A patient's permissions apply to their own record only (policy.ensure_patient).
    Role.PATIENT: frozenset({_P.SELF_READ, _P.SELF_WRITE, _P.ASSESSMENT_READ, _P.ASSESSMENT_WRITE}),
}


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the user, how they signed in, and the clinic they are working in."""

    user: User
    via: str  # "browser" | "api"
    session_id: int | None = None
    active_clinic_id: int | None = None

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def clinic_ids(self) -> frozenset[int]:
        return self.user.clinic_ids

    @property
    def is_staff(self) -> bool:
        return self.role != Role.PATIENT


def can(principal: Principal | None, permission: Permission) -> bool:
    if principal is None or not principal.user.is_active:
        return False
    return permission in ROLE_PERMISSIONS.get(principal.role, frozenset())


def require(principal: Principal, permission: Permission) -> None:
    if not can(principal, permission):
        raise Forbidden(f"Your role ({principal.role.value}) does not allow this.")


def ensure_clinic(principal: Principal, clinic_id: int) -> None:
    """Staff work only in their own clinics; anything else does not exist for them."""
    if not principal.is_staff or clinic_id not in principal.clinic_ids:
        raise NotFound()


def ensure_patient(principal: Principal, patient_clinic_id: int, patient_user_id: int | None) -> None:
    """Staff see their clinics' patients; a patient sees only themself. Everything else is 404."""
    if principal.is_staff:
        if patient_clinic_id not in principal.clinic_ids:
            raise NotFound()
        return
    if patient_user_id is None or patient_user_id != principal.user.id:
        raise NotFound()


def active_clinic_id(principal: Principal) -> int | None:
    """The clinic a staff member is looking at: the session's choice, else their first clinic."""
    if principal.active_clinic_id in principal.clinic_ids:
        return principal.active_clinic_id
    return min(principal.clinic_ids) if principal.clinic_ids else None


def working_clinic_id(principal: Principal, requested_slug_id: int | None = None) -> int:
    """The clinic a staff member is working in: named, the session's choice, or their only clinic."""
    if requested_slug_id is not None:
        ensure_clinic(principal, requested_slug_id)
        return requested_slug_id
    if principal.active_clinic_id in principal.clinic_ids:
        return principal.active_clinic_id  # type: ignore[return-value]
    clinics = sorted(principal.clinic_ids)
    if len(clinics) == 1:
        return clinics[0]
    if not clinics:
        raise Forbidden("Your account does not belong to a clinic yet. Ask an administrator.")
    from tenfour.errors import ValidationFailed

    raise ValidationFailed.single("clinic", "required", "You work in several clinics: say which one.")


def permissions_for(role: Role) -> Iterable[Permission]:
    return sorted(ROLE_PERMISSIONS[role])
