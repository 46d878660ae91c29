"""JSON API of the clinics domain: the clinics you work in, and their policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from tenfour.clinics import repository, service
from tenfour.clinics.models import Clinic
from tenfour.clinics.schemas import ClinicCreate, ClinicOut, PolicySettingOut, PolicyUpdate
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.errors import NotFound
from tenfour.policy import Permission, ensure_clinic
from tenfour.web.deps import DbSession, authorize

router = APIRouter(prefix="/api/v1/clinics", tags=["clinics"])


def clinic_for(db: Session, ctx: Ctx, slug: str) -> Clinic:
    assert ctx.principal is not None
    clinic = repository.by_slug(db, slug)
    if clinic is None:
        raise NotFound("No such clinic.")
    try:
        ensure_clinic(ctx.principal, clinic.id)
    except NotFound:
        raise NotFound("No such clinic.") from None  # word for word the answer for a missing clinic
    return clinic


def policy_rows(db: Session, clinic: Clinic) -> list[PolicySettingOut]:
    values = service.effective_policy(db, clinic.id)
    return [
        PolicySettingOut(key=s.key, group=s.group, label=s.label, value=values[s.key], default=s.default,
                         unit=s.unit, basis=s.basis.value, source=s.source, minimum=s.minimum, maximum=s.maximum,
                         choices=list(s.choices), is_default=values[s.key] == s.default)
        for s in policy_core.SETTINGS
    ]


@router.get("", response_model=list[ClinicOut])
def list_clinics(db: DbSession, ctx: Annotated[Ctx, Depends(authorize(Permission.CLINIC_VIEW))]) -> list[Clinic]:
    assert ctx.principal is not None
    return repository.list_clinics(db, ctx.principal.clinic_ids)


@router.post("", response_model=ClinicOut, status_code=201)
def create_clinic(data: ClinicCreate, db: DbSession,
                  ctx: Annotated[Ctx, Depends(authorize(Permission.CLINIC_ADMIN))]) -> Clinic:
    """Create a clinic; you become a member of it."""
    assert ctx.principal is not None
    clinic = service.create_clinic(db, ctx.actor, **data.model_dump())
    from tenfour.accounts.models import ClinicMembership

    db.add(ClinicMembership(user_id=ctx.principal.user.id, clinic_id=clinic.id))
    db.flush()
    return clinic


@router.get("/{slug}", response_model=ClinicOut)
def get_clinic(slug: str, db: DbSession, ctx: Annotated[Ctx, Depends(authorize(Permission.CLINIC_VIEW))]) -> Clinic:
    return clinic_for(db, ctx, slug)


@router.get("/{slug}/policy", response_model=list[PolicySettingOut])
def get_policy(slug: str, db: DbSession,
               ctx: Annotated[Ctx, Depends(authorize(Permission.CLINIC_VIEW))]) -> list[PolicySettingOut]:
    """Every threshold with its value here, its default, its basis (evidence or product choice) and source."""
    return policy_rows(db, clinic_for(db, ctx, slug))


@router.patch("/{slug}/policy", response_model=list[PolicySettingOut])
def update_policy(slug: str, data: PolicyUpdate, db: DbSession,
                  ctx: Annotated[Ctx, Depends(authorize(Permission.CLINIC_ADMIN))]) -> list[PolicySettingOut]:
    """Change settings; all are checked (each, and against each other) before any is saved. Audited."""
    clinic = clinic_for(db, ctx, slug)
    service.set_policy_values(db, ctx.actor, clinic, data.values)
    return policy_rows(db, clinic)
