"""The clinic administrator's page of the retention policy: records past retention, and deleting a patient's record.

Deleting asks for the record number twice and a recent sign-in (the re-authentication page, as for signing a plan);
it is refused to anyone but a clinic administrator of the working clinic. Included in the accounts admin router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.errors import NotFound, Problem, ReauthRequired, TenFourError, ValidationFailed
from tenfour.patients import deletion
from tenfour.patients.models import Patient
from tenfour.policy import Permission, active_clinic_id
from tenfour.retention import service
from tenfour.web.deps import DbSession, authorize, reauth_if_posted, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
ClinicAdmin = Annotated[Ctx, Depends(authorize(Permission.CLINIC_ADMIN))]
REASON_LABELS = {"retention": "Kept past the retention period", "request": "The patient asked (or another reason "
                 "the clinic has documented)"}


def _clinic_id(ctx: Ctx) -> int:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("No clinic.")
    return clinic_id


def _page(request: Request, db: Session, ctx: Ctx, values: dict[str, str], errors: FormErrors,
          status_code: int = 200) -> Response:
    clinic = clinics_repository.by_id(db, _clinic_id(ctx))
    assert clinic is not None
    return render(request, db, "retention/retention.html", {
        "clinic": clinic, "items": service.report(db, ctx, clinic), "years": service.retention_years(db, clinic.id),
        "setting": policy_core.BY_KEY[service.POLICY_KEY], "deleted": service.deleted_in(db, clinic.id),
        "values": values, "errors": errors, "reasons": REASON_LABELS}, nav_key="admin-clinics",
        status_code=status_code)


@router.get("/admin/retention")
def retention_page(request: Request, db: DbSession, ctx: ClinicAdmin, record_number: str | None = None) -> Response:
    return _page(request, db, ctx, {"record_number": (record_number or "")[:20], "reason": "retention"},
                 FormErrors())


@router.post("/admin/retention/delete")
async def delete_record(request: Request, db: DbSession, ctx: ClinicAdmin) -> Response:
    await reauth_if_posted(request, db, ctx)
    values = form_values(await request.form())
    values = {k: str(values.get(k) or "").strip()[:40] for k in ("record_number", "confirm_record_number", "reason")}
    clinic_id = _clinic_id(ctx)
    try:
        problems = []
        if not values["record_number"]:
            problems.append(Problem("record_number", "required", "is required"))
        elif values["confirm_record_number"] != values["record_number"]:
            problems.append(Problem("confirm_record_number", "matches", "must be the same record number, typed again"))
        if problems:
            raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
        patient_id = db.scalar(select(Patient.id).where(Patient.clinic_id == clinic_id,
                                                         Patient.record_number == values["record_number"]))
        if patient_id is None:
            raise ValidationFailed.single("record_number", "exists", "is not a record of this clinic")
        deletion.delete_patient(db, ctx, patient_id, reason=values["reason"] or "retention")
    except ReauthRequired:
        raise
    except TenFourError as error:
        if error.status_code in (403, 404):
            raise
        return _page(request, db, ctx, values, errors_from(error), error.status_code)
    return flash(request, RedirectResponse("/admin/retention", status_code=303),
                 f"Record {values['record_number']} is deleted. The audit log keeps what was done, by whom and when.")
