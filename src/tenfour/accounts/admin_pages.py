"""Administration of staff accounts: create, clinics they work in, activate or deactivate, reset password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts import mfa, repository, service
from tenfour.accounts.models import Role, User
from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.errors import NotFound, Problem, TenFourError, ValidationFailed
from tenfour.policy import Permission
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Admin = Annotated[Ctx, Depends(authorize(Permission.USER_ADMIN))]
STAFF_ROLE_CHOICES = [r for r in Role if r != Role.PATIENT]


def _user(db: Session, ctx: Ctx, user_id: int) -> User:
    """A staff account that shares a clinic with the administrator (others answer 404)."""
    assert ctx.principal is not None
    user = repository.user_by_id(db, user_id)
    if user is None or not user.is_staff or not (user.clinic_ids & ctx.principal.clinic_ids):
        raise NotFound("No such account.")
    return user


def _clinic_ids_from(values: dict[str, object], ctx: Ctx) -> list[int]:
    assert ctx.principal is not None
    chosen = []
    for raw in values.get("clinic_ids", []) or []:  # type: ignore[union-attr]
        try:
            clinic_id = int(str(raw))
        except ValueError:
            continue
        if clinic_id not in ctx.principal.clinic_ids:
            raise ValidationFailed.single("clinic_ids", "membership", "you can only add people to your own clinics")
        chosen.append(clinic_id)
    return chosen


@router.get("/admin/users")
def user_list(request: Request, db: DbSession, ctx: Admin) -> Response:
    assert ctx.principal is not None
    users = repository.users_in_clinics(db, ctx.principal.clinic_ids)
    return render(request, db, "accounts/users.html", {"users": users}, nav_key="admin-users")


def _form(request: Request, db: Session, ctx: Ctx, user: User | None, values: dict[str, object],
          errors: FormErrors, status_code: int = 200) -> Response:
    assert ctx.principal is not None
    return render(request, db, "accounts/user_form.html", {
        "account": user, "values": values, "errors": errors, "roles": STAFF_ROLE_CHOICES,
        "own_clinics": clinics_repository.list_clinics(db, ctx.principal.clinic_ids)},
        status_code=status_code, nav_key="admin-users")


@router.get("/admin/users/new")
def user_new(request: Request, db: DbSession, ctx: Admin) -> Response:
    assert ctx.principal is not None
    return _form(request, db, ctx, None, {"role": "nurse", "clinic_ids": [str(i) for i in ctx.principal.clinic_ids]},
                 FormErrors())


@router.post("/admin/users/new")
async def user_create(request: Request, db: DbSession, ctx: Admin) -> Response:
    values = form_values(await request.form(), multi=frozenset({"clinic_ids"}))
    try:
        if values.get("role") == Role.PATIENT:
            raise ValidationFailed.single("role", "staff_only", "patient accounts are created from an invitation")
        user = service.create_user(
            db, ctx.actor, email=str(values.get("email") or ""), full_name=str(values.get("full_name") or ""),
            role=str(values.get("role") or ""), password=str(values.get("password") or ""),
            clinic_ids=_clinic_ids_from(values, ctx))
    except TenFourError as error:
        values.pop("password", None)
        return _form(request, db, ctx, None, values, errors_from(error), 422)
    return flash(request, RedirectResponse(f"/admin/users/{user.id}", status_code=303),
                 f"Account created for {user.full_name}.")


@router.get("/admin/users/{user_id}")
def user_edit(request: Request, db: DbSession, ctx: Admin, user_id: RecordId) -> Response:
    user = _user(db, ctx, user_id)
    return _form(request, db, ctx, user, {"clinic_ids": [str(i) for i in user.clinic_ids]}, FormErrors())


@router.post("/admin/users/{user_id}/clinics")
async def user_clinics(request: Request, db: DbSession, ctx: Admin, user_id: RecordId) -> Response:
    assert ctx.principal is not None
    user = _user(db, ctx, user_id)
    values = form_values(await request.form(), multi=frozenset({"clinic_ids"}))
    try:
        chosen = _clinic_ids_from(values, ctx)
        # Memberships in clinics the administrator does not run are kept as they are.
        others = [cid for cid in user.clinic_ids if cid not in ctx.principal.clinic_ids]
        service.set_memberships(db, ctx.actor, user, sorted(set(chosen + others)))
    except TenFourError as error:
        return _form(request, db, ctx, user, values, errors_from(error), 422)
    return flash(request, RedirectResponse(f"/admin/users/{user_id}", status_code=303), "Clinics saved.")


@router.post("/admin/users/{user_id}/active")
async def user_active(request: Request, db: DbSession, ctx: Admin, user_id: RecordId) -> Response:
    assert ctx.principal is not None
    user = _user(db, ctx, user_id)
    if user.id == ctx.principal.user.id:
        return _form(request, db, ctx, user, {"clinic_ids": [str(i) for i in user.clinic_ids]},
                     FormErrors(form="You cannot deactivate your own account."), 422)
    service.set_active(db, ctx.actor, user, not user.is_active)
    return flash(request, RedirectResponse(f"/admin/users/{user_id}", status_code=303),
                 "Account activated." if user.is_active else "Account deactivated; its sessions are ended.")


@router.post("/admin/users/{user_id}/password")
async def user_password(request: Request, db: DbSession, ctx: Admin, user_id: RecordId) -> Response:
    user = _user(db, ctx, user_id)
    values = form_values(await request.form())
    try:
        service.set_password(db, ctx.actor, user, str(values.get("new_password") or ""))
        service.end_all_sessions(db, user)
    except TenFourError as error:
        errors = FormErrors.from_problems([Problem("new_password", p.rule, p.message) for p in error.problems])
        return _form(request, db, ctx, user, {"clinic_ids": [str(i) for i in user.clinic_ids]}, errors, 422)
    return flash(request, RedirectResponse(f"/admin/users/{user_id}", status_code=303),
                 "Password set; the person's open sessions are ended.")


@router.post("/admin/users/{user_id}/mfa-reset")
def user_mfa_reset(request: Request, db: DbSession, ctx: Admin, user_id: RecordId) -> Response:
    """Turn off a person's two-step sign-in (a lost phone), audited; their open sessions end."""
    user = _user(db, ctx, user_id)
    mfa.reset(db, ctx.actor, user)
    service.end_all_sessions(db, user)
    return flash(request, RedirectResponse(f"/admin/users/{user_id}", status_code=303),
                 "Two-step sign-in reset; the person sets it up again at their next sign-in.")


# The clinic's retention policy and patient-record deletion (issue 9) live in tenfour.retention; served here.
from tenfour.retention.pages import router as retention_router  # noqa: E402 - after this router exists

router.include_router(retention_router)
