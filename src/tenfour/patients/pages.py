"""Pages of the patient registry (staff) and the patient's own pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.errors import NotFound, TenFourError
from tenfour.patients import repository, service
from tenfour.patients.models import ConsentKind, ContactMethod, PatientStatus, ResponderRole, Sex
from tenfour.patients.repository import PatientQuery
from tenfour.patients.schemas import ROSTER_PATTERNS, Email, PatientCreate, PatientUpdate, Phone, _text
from tenfour.policy import Permission, active_clinic_id
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.panels import PATIENT_HOME_PANELS, STAFF_CHART_PANELS, build_panels
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
CONSENT_VERSION = "2026-11"
PAGE_SIZE = 25

Read = Annotated[Ctx, Depends(authorize(Permission.PATIENT_READ))]
Write = Annotated[Ctx, Depends(authorize(Permission.PATIENT_WRITE))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]


PATTERN_LABELS = {"24/48": "24 on / 48 off", "48/96": "48 on / 96 off", "kelly": "Kelly (9-day)",
                  "pitman": "Pitman (2-2-3, 12 h)", "dupont": "DuPont (28-day, 12 h)", "4on4off": "4 on / 4 off (12 h)",
                  "custom": "Custom"}
CONTACT_LABELS = {"phone": "Phone call", "text": "Text message", "email": "Email"}
SEX_LABELS = {"unknown": "Not recorded", "female": "Female", "male": "Male"}
OPTIONAL_NON_TEXT = frozenset({"years_of_service", "roster_anchor_date", "roster_shift_start"})


def _choices() -> dict[str, Any]:
    return {
        "roles": list(ResponderRole), "statuses": list(PatientStatus), "consent_kinds": list(ConsentKind),
        "role_options": [(r.value, r.label) for r in ResponderRole],
        "status_options": [(s.value, s.value.capitalize()) for s in PatientStatus],
        "pattern_options": [(p, PATTERN_LABELS[p]) for p in ROSTER_PATTERNS],
        "contact_options": [(c.value, CONTACT_LABELS[c.value]) for c in ContactMethod],
        "sex_options": [(s.value, SEX_LABELS[s.value]) for s in Sex],
        "pattern_labels": PATTERN_LABELS, "contact_labels": CONTACT_LABELS,
        "role_labels": {r.value: r.label for r in ResponderRole},
    }


@router.get("/patients")
def patient_list(
    request: Request, db: DbSession, ctx: Read,
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    assert ctx.principal is not None
    clinic_id = active_clinic_id(ctx.principal)
    role = role if role in {r.value for r in ResponderRole} else None
    status = status if status in {s.value for s in PatientStatus} else None
    query = PatientQuery(frozenset({clinic_id}) if clinic_id else frozenset(), (q or "").strip() or None, role,
                         status, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    patients, total = service.search_patients(db, ctx, query)
    context = {"patients": patients, "total": total, "q": q or "", "role": role or "", "status": status or "",
               "page": page, "pages": max(1, -(-total // PAGE_SIZE)), **_choices()}
    template = "patients/_results.html" if request.headers.get("hx-request") else "patients/list.html"
    return render(request, db, template, context, nav_key="patients")


@router.get("/patients/new")
def patient_new(request: Request, db: DbSession, ctx: Write) -> Response:
    return render(request, db, "patients/form.html", {"values": {"consents": ["treatment", "contact"]},
                                                      "errors": FormErrors(), "patient": None, **_choices()},
                  nav_key="patients")


@router.post("/patients/new")
async def patient_create(request: Request, db: DbSession, ctx: Write) -> Response:
    values = form_values(await request.form(), multi=frozenset({"consents"}))
    data = {**values, "consents": [{"kind": k, "version": CONSENT_VERSION} for k in values.get("consents", [])]}
    model, errors = parse(PatientCreate, data)
    if model is not None:
        try:
            patient = service.create_patient(db, ctx, model)
        except TenFourError as error:
            errors = errors_from(error)
        else:
            response = RedirectResponse(f"/patients/{patient.id}", status_code=303)
            return flash(request, response, f"Patient registered (record {patient.record_number}).")
    return render(request, db, "patients/form.html", {"values": values, "errors": errors, "patient": None,
                                                      **_choices()}, status_code=422, nav_key="patients")


@router.get("/patients/{patient_id}")
def patient_view(request: Request, db: DbSession, ctx: Read, patient_id: RecordId) -> Response:
    patient = service.get_patient(db, ctx, patient_id)
    panels = build_panels(STAFF_CHART_PANELS, db, ctx, patient)
    return render(request, db, "patients/view.html", {"patient": patient, "consent_version": CONSENT_VERSION,
                                                      "today": date.today(), "panels": panels, **_choices()},
                  nav_key="patients")


@router.get("/patients/{patient_id}/edit")
def patient_edit(request: Request, db: DbSession, ctx: Write, patient_id: RecordId) -> Response:
    patient = service.get_patient(db, ctx, patient_id)
    values = {c: getattr(patient, c) for c in PatientUpdate.model_fields}
    values = {k: ("" if v is None else (v.strftime("%H:%M") if k == "roster_shift_start" else v))
              for k, v in values.items()}
    return render(request, db, "patients/form.html", {"values": values, "errors": FormErrors(),
                                                      "patient": patient, **_choices()}, nav_key="patients")


@router.post("/patients/{patient_id}/edit")
async def patient_update(request: Request, db: DbSession, ctx: Write, patient_id: RecordId) -> Response:
    patient = service.get_patient(db, ctx, patient_id, audit_action=None)
    values = form_values(await request.form())
    values = {k: v for k, v in values.items() if k in PatientUpdate.model_fields}
    # A blank optional number, date or time means "not recorded" (the form sends every field, blank or not).
    data = {k: (None if k in OPTIONAL_NON_TEXT and v == "" else v) for k, v in values.items()}
    model, errors = parse(PatientUpdate, data, drop_blank=False)
    if model is not None:
        try:
            service.update_patient(db, ctx, patient_id, model)
        except TenFourError as error:
            errors = errors_from(error)
        else:
            return flash(request, RedirectResponse(f"/patients/{patient_id}", status_code=303), "Changes saved.")
    return render(request, db, "patients/form.html", {"values": values, "errors": errors, "patient": patient,
                                                      **_choices()}, status_code=422, nav_key="patients")


@router.post("/patients/{patient_id}/consents")
async def patient_consent(request: Request, db: DbSession, ctx: Write, patient_id: RecordId) -> Response:
    patient = service.get_patient(db, ctx, patient_id, audit_action=None)
    form = await request.form()
    kind = form.get("kind")
    if kind not in {k.value for k in ConsentKind}:
        raise NotFound("Unknown consent.")
    service.add_consent(db, ctx, patient, str(kind), CONSENT_VERSION)
    return flash(request, RedirectResponse(f"/patients/{patient_id}#consents", status_code=303), "Consent recorded.")


@router.post("/patients/{patient_id}/consents/{consent_id}/withdraw")
def patient_consent_withdraw(request: Request, db: DbSession, ctx: Write, patient_id: RecordId,
                             consent_id: RecordId) -> Response:
    patient = service.get_patient(db, ctx, patient_id, audit_action=None)
    service.withdraw_consent(db, ctx, patient, consent_id)
    return flash(request, RedirectResponse(f"/patients/{patient_id}#consents", status_code=303),
                 "Consent withdrawal recorded.")


# --- The patient's own pages ------------------------------------------------------------------------


def _own_record(db: DbSession, ctx: Ctx, audit_action: str | None = "patient.view_self"):  # type: ignore[no-untyped-def]
    assert ctx.principal is not None
    patient = repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return service.get_patient(db, ctx, patient.id, audit_action=audit_action)


class ContactDetails(BaseModel):
    """What a patient may change themself: how and when to reach them."""

    model_config = ConfigDict(extra="forbid")
    email: Email = None
    phone: Phone = None
    preferred_contact: ContactMethod
    contact_times: _text(200) = None  # type: ignore[valid-type]


@router.get("/me")
def me_home(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = _own_record(db, ctx)
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    panels = build_panels(PATIENT_HOME_PANELS, db, ctx, patient)
    return render(request, db, "patients/me.html", {"patient": patient, "clinic": clinic, "panels": panels},
                  nav_key="me")


@router.get("/me/details")
def me_details(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = _own_record(db, ctx)
    values = {k: getattr(patient, k) or "" for k in ContactDetails.model_fields}
    return render(request, db, "patients/me_details.html", {"patient": patient, "values": values,
                                                            "errors": FormErrors(), **_choices()},
                  nav_key="me-details")


@router.post("/me/details")
async def me_details_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = _own_record(db, ctx, audit_action=None)
    values = {k: v for k, v in form_values(await request.form()).items() if k in ContactDetails.model_fields}
    model, errors = parse(ContactDetails, values, drop_blank=False)
    if model is not None:
        service.update_patient(db, ctx, patient.id, PatientUpdate(**model.model_dump()))
        return flash(request, RedirectResponse("/me/details", status_code=303), "Your details are saved.")
    return render(request, db, "patients/me_details.html", {"patient": patient, "values": values,
                                                            "errors": errors, **_choices()},
                  status_code=422, nav_key="me-details")
