"""Administration pages for clinics: details, opening hours, chairs and policy; the policy page for staff."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.accounts.models import ClinicMembership
from tenfour.clinics import repository, service
from tenfour.clinics.models import WEEKDAYS, Clinic
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.errors import NotFound, TenFourError
from tenfour.policy import Permission, active_clinic_id, ensure_clinic
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Admin = Annotated[Ctx, Depends(authorize(Permission.CLINIC_ADMIN))]
View = Annotated[Ctx, Depends(authorize(Permission.CLINIC_VIEW))]
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                     strict=True))
COMMON_TIMEZONES = sorted(tz for tz in available_timezones() if tz.startswith(("America/", "Pacific/Honolulu")))


def _clinic(db: Session, ctx: Ctx, clinic_id: int) -> Clinic:
    assert ctx.principal is not None
    clinic = repository.by_id(db, clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.")
    try:
        ensure_clinic(ctx.principal, clinic.id)
    except NotFound:
        raise NotFound("No such clinic.") from None  # word for word the answer for a missing clinic
    return clinic


def _hours_from_form(values: dict[str, Any]) -> dict[str, list[list[str]]]:
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        opens, closes = values.get(f"{day}_open") or "", values.get(f"{day}_close") or ""
        hours[day] = [[opens, closes]] if (opens or closes) else []
    return hours


def _hours_values(clinic: Clinic | None) -> dict[str, str]:
    values = {}
    for day in WEEKDAYS:
        first = (clinic.opening_hours.get(day) or [["", ""]])[0] if clinic else ["", ""]
        values[f"{day}_open"], values[f"{day}_close"] = first[0], first[1]
    return values


def _policy_groups(values: dict[str, Any]) -> list[tuple[str, list[tuple[policy_core.PolicySetting, Any]]]]:
    groups: dict[str, list[tuple[policy_core.PolicySetting, Any]]] = {}
    for setting in policy_core.SETTINGS:
        groups.setdefault(setting.group, []).append((setting, values.get(setting.key, setting.default)))
    return list(groups.items())


def _policy_errors(error: TenFourError) -> FormErrors:
    """Errors keyed by the whole setting key: policy keys contain dots, which errors_from() reads as nesting."""
    errors = FormErrors()
    for problem in error.problems:
        errors.setdefault(problem.field, problem.message)
    return errors or errors_from(error)


@router.get("/admin/clinics")
def clinic_list(request: Request, db: DbSession, ctx: Admin) -> Response:
    assert ctx.principal is not None
    all_clinics = repository.list_clinics(db, ctx.principal.clinic_ids)
    return render(request, db, "clinics/list.html", {"all_clinics": all_clinics}, nav_key="admin-clinics")


@router.get("/admin/clinics/new")
def clinic_new(request: Request, db: DbSession, ctx: Admin) -> Response:
    values = {"timezone": "America/Chicago", "chairs": "4", **_hours_values(None)}
    for day, intervals in service.DEFAULT_OPENING_HOURS.items():
        if intervals:
            values[f"{day}_open"], values[f"{day}_close"] = intervals[0]
    return render(request, db, "clinics/form.html", {"clinic": None, "values": values, "errors": FormErrors(),
                                                     "days": DAY_NAMES, "timezones": COMMON_TIMEZONES},
                  nav_key="admin-clinics")


@router.post("/admin/clinics/new")
async def clinic_create(request: Request, db: DbSession, ctx: Admin) -> Response:
    assert ctx.principal is not None
    values = form_values(await request.form())
    errors = FormErrors()
    try:
        chairs = int(values.get("chairs") or 0)
    except ValueError:
        errors["chairs"] = "must be a whole number"
        chairs = 0
    if not errors:
        try:
            clinic = service.create_clinic(
                db, ctx.actor, name=values.get("name") or "", timezone=values.get("timezone") or "",
                slug=values.get("slug") or None, opening_hours=_hours_from_form(values), chairs=chairs,
                phone=values.get("phone") or None, address=values.get("address") or None)
        except TenFourError as error:
            errors = errors_from(error)
        else:
            db.add(ClinicMembership(user_id=ctx.principal.user.id, clinic_id=clinic.id))
            db.flush()
            return flash(request, RedirectResponse(f"/admin/clinics/{clinic.id}", status_code=303),
                         f"Clinic {clinic.name} created.")
    return render(request, db, "clinics/form.html", {"clinic": None, "values": values, "errors": errors,
                                                     "days": DAY_NAMES, "timezones": COMMON_TIMEZONES},
                  status_code=422, nav_key="admin-clinics")


@router.get("/admin/clinics/{clinic_id}")
def clinic_edit(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    values = {"name": clinic.name, "timezone": clinic.timezone, "phone": clinic.phone or "",
              "address": clinic.address or "", "on_call_emails": clinic.on_call_emails or "", **_hours_values(clinic)}
    return render(request, db, "clinics/form.html", {"clinic": clinic, "values": values, "errors": FormErrors(),
                                                     "days": DAY_NAMES, "timezones": COMMON_TIMEZONES},
                  nav_key="admin-clinics")


@router.post("/admin/clinics/{clinic_id}")
async def clinic_update(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    values = form_values(await request.form())
    try:
        service.update_clinic(db, ctx.actor, clinic, name=values.get("name"), timezone=values.get("timezone") or "",
                              opening_hours=_hours_from_form(values), phone=values.get("phone"),
                              address=values.get("address"), on_call_emails=values.get("on_call_emails"))
    except TenFourError as error:
        return render(request, db, "clinics/form.html", {"clinic": clinic, "values": values,
                                                         "errors": errors_from(error), "days": DAY_NAMES,
                                                         "timezones": COMMON_TIMEZONES},
                      status_code=422, nav_key="admin-clinics")
    return flash(request, RedirectResponse(f"/admin/clinics/{clinic_id}", status_code=303), "Clinic saved.")


@router.post("/admin/clinics/{clinic_id}/chairs")
async def chair_add(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    values = form_values(await request.form())
    try:
        service.add_chair(db, ctx.actor, clinic, values.get("chair_name") or "")
    except TenFourError as error:
        return render(request, db, "clinics/form.html", {
            "clinic": clinic, "values": {"name": clinic.name, "timezone": clinic.timezone,
                                         "phone": clinic.phone or "", "address": clinic.address or "",
                                         "on_call_emails": clinic.on_call_emails or "",
                                         "chair_name": values.get("chair_name") or "", **_hours_values(clinic)},
            "errors": FormErrors(chair_name=error.problems[0].message if error.problems else error.message),
            "days": DAY_NAMES, "timezones": COMMON_TIMEZONES}, status_code=422, nav_key="admin-clinics")
    return flash(request, RedirectResponse(f"/admin/clinics/{clinic_id}#chairs", status_code=303), "Chair added.")


@router.post("/admin/clinics/{clinic_id}/chairs/{chair_id}/toggle")
def chair_toggle(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId, chair_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    chair = repository.chair_by_id(db, clinic.id, chair_id)
    if chair is None:
        raise NotFound("No such chair.")
    service.set_chair_active(db, ctx.actor, chair, not chair.is_active)
    return flash(request, RedirectResponse(f"/admin/clinics/{clinic_id}#chairs", status_code=303),
                 f"{chair.name} is {'in use' if chair.is_active else 'out of use'}.")


@router.get("/admin/clinics/{clinic_id}/policy")
def policy_edit(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    values = service.effective_policy(db, clinic.id)
    return render(request, db, "clinics/policy.html", {"clinic": clinic, "groups": _policy_groups(values),
                                                       "editable": True, "errors": FormErrors()},
                  nav_key="admin-clinics")


@router.post("/admin/clinics/{clinic_id}/policy")
async def policy_save(request: Request, db: DbSession, ctx: Admin, clinic_id: RecordId) -> Response:
    clinic = _clinic(db, ctx, clinic_id)
    form = form_values(await request.form())
    submitted: dict[str, Any] = {}
    for setting in policy_core.SETTINGS:
        if setting.kind is bool:
            submitted[setting.key] = form.get(setting.key) == "on"
        elif setting.key in form:
            submitted[setting.key] = form[setting.key]
    try:
        changed = service.set_policy_values(db, ctx.actor, clinic, submitted)
    except TenFourError as error:
        values = {**service.effective_policy(db, clinic.id), **submitted}
        return render(request, db, "clinics/policy.html", {"clinic": clinic, "groups": _policy_groups(values),
                                                           "editable": True, "errors": _policy_errors(error)},
                      status_code=422, nav_key="admin-clinics")
    message = f"{len(changed)} setting{'s' if len(changed) != 1 else ''} changed." if changed else "Nothing changed."
    return flash(request, RedirectResponse(f"/admin/clinics/{clinic_id}/policy", status_code=303), message)


@router.get("/clinic/policy")
def policy_view(request: Request, db: DbSession, ctx: View) -> Response:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("You do not work in a clinic yet.")
    clinic = _clinic(db, ctx, clinic_id)
    values = service.effective_policy(db, clinic.id)
    return render(request, db, "clinics/policy.html", {"clinic": clinic, "groups": _policy_groups(values),
                                                       "editable": False, "errors": FormErrors()})
