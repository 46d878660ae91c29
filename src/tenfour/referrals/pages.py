"""Pages: the public referral form (no account, no trackers) and the clinic's triage queue."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import TenFourError, TooManyRequests
from tenfour.intake import service as intake
from tenfour.patients import repository as patients_repository
from tenfour.patients.models import ContactMethod, ResponderRole
from tenfour.policy import Permission
from tenfour.referrals import service
from tenfour.referrals.models import OPEN_STATUSES, ReferralStatus, ReferrerRelation
from tenfour.referrals.routes import limit_body
from tenfour.referrals.schemas import ConvertIn, ReferralIn
from tenfour.web.deps import DbSession, RecordId, authorize, public, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values, parse
from tenfour.web.idempotency import form_once, principal_of
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(limit_body), Depends(verify_csrf)], include_in_schema=False)
Public = Annotated[Ctx, Depends(public)]
Triage = Annotated[Ctx, Depends(authorize(Permission.REFERRAL_TRIAGE))]
HONEYPOT = "website"  # a field people never see; bots fill it
REFERENCE_PATTERN = re.compile(r"^R-[A-Z0-9]{4}-[A-Z0-9]{4}$")
CONTACT_LABELS = {"phone": "Phone call", "text": "Text message", "email": "Email"}
VIEWS = ("open", "all", *(s.value for s in ReferralStatus))
# The status form offers the usual next step first.
TRANSITION_ORDER = (ReferralStatus.CONTACTED, ReferralStatus.UNREACHABLE, ReferralStatus.DECLINED,
                    ReferralStatus.CLOSED)


def _form_context(db: DbSession, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    return {
        "values": values, "errors": errors, "clinics": service.public_clinics(db), "honeypot": HONEYPOT,
        "relation_options": [(r.value, r.label) for r in ReferrerRelation],
        "contact_options": [(c.value, CONTACT_LABELS[c.value]) for c in ContactMethod],
        "role_options": [(r.value, r.label) for r in ResponderRole],
        "max_reason": 1000,
    }


@router.get("/refer")
def referral_form(request: Request, db: DbSession, _: Public,
                  clinic: Annotated[str | None, Query(max_length=60)] = None) -> Response:
    values = {"preferred_contact": "phone", "clinic": clinic or ""}
    return render(request, db, "referrals/form.html", _form_context(db, values, FormErrors()))


@router.post("/refer")
async def referral_submit(request: Request, db: DbSession, ctx: Public) -> Response:
    values = form_values(await request.form())
    once = form_once(request, db, values, principal_of(ctx))
    if once.replay is not None:  # the same form sent again (a double tap, a retry): one referral
        return once.replay
    if values.pop(HONEYPOT, None):
        # A bot: it gets the same answer as a person, and nothing is stored.
        service.count_discarded(db, ctx)
        return RedirectResponse(f"/refer/thanks?ref={service.fake_reference()}", status_code=303)
    values = {k: v for k, v in values.items() if k in ReferralIn.model_fields}
    model, errors = parse(ReferralIn, values)
    if errors and not values.get("clinic") and len(service.public_clinics(db)) > 1:
        errors = FormErrors({"clinic": service.CHOOSE_CLINIC, **errors})  # all at once, in the page's order
    status, headers = 422, {}
    if model is not None:
        try:
            referral = service.submit(db, ctx, model)
        except TooManyRequests as error:
            errors, status, headers = FormErrors(form=error.message), 429, {"Retry-After": str(error.retry_after_s)}
        except TenFourError as error:
            errors = errors_from(error)
        else:
            return once.done(RedirectResponse(f"/refer/thanks?ref={referral.reference}", status_code=303))
    response = render(request, db, "referrals/form.html", _form_context(db, values, errors), status_code=status)
    response.headers.update(headers)
    return response


@router.get("/refer/thanks")
def referral_thanks(request: Request, db: DbSession, _: Public,
                    ref: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Echoes the reference from the address (it looks nothing up): the same page whoever opens it."""
    reference = ref if ref and REFERENCE_PATTERN.match(ref) else None
    return render(request, db, "referrals/thanks.html", {"reference": reference})


# --- Triage ---------------------------------------------------------------------------------------------------


def waited(start: datetime, end: datetime | None = None) -> str:
    """A delay in words a coordinator reads at a glance: 45 min, 5 h 10 min, 3 days 4 h."""
    seconds = max(0, int(((end or utcnow()) - start).total_seconds()))
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def _hours(value: float | None) -> str | None:
    return None if value is None else waited(utcnow() - timedelta(hours=value), utcnow())


@router.get("/referrals")
def queue_page(request: Request, db: DbSession, ctx: Triage,
               view: Annotated[str, Query(max_length=20)] = "open") -> Response:
    view = view if view in VIEWS else "open"
    queue = service.queue(db, ctx, view)
    return render(request, db, "referrals/queue.html", {
        "queue": queue, "view": view, "statuses": list(ReferralStatus), "open_count": sum(
            queue.counts.get(s.value, 0) for s in OPEN_STATUSES),
        "median": _hours(queue.median_hours_to_first_contact), "waited": waited,
        "relation_labels": {r.value: r.label for r in ReferrerRelation}, "contact_labels": CONTACT_LABELS,
    }, nav_key="referrals")


def _detail_context(db: DbSession, referral: Any, **extra: Any) -> dict[str, Any]:
    patient = patients_repository.by_id(db, referral.patient_id) if referral.patient_id else None
    invitation = intake.for_staff(db, patient).invitation if patient else None
    allowed = service.MANUAL_TRANSITIONS[ReferralStatus(referral.status)]
    return {
        "referral": referral, "patient": patient, "invitation": invitation,
        "invitation_state": intake.invitation_state(invitation), "waited": waited,
        "transitions": [s for s in TRANSITION_ORDER if s in allowed],
        "relation_labels": {r.value: r.label for r in ReferrerRelation}, "contact_labels": CONTACT_LABELS,
        "role_labels": {r.value: r.label for r in ResponderRole}, "status_labels": {s.value: s.label
                                                                                   for s in ReferralStatus},
        "values": {}, "errors": FormErrors(), "form_name": None, **extra,
    }


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, db: DbSession, ctx: Triage, referral_id: RecordId) -> Response:
    referral = service.get_referral(db, ctx, referral_id)
    return render(request, db, "referrals/detail.html", _detail_context(db, referral), nav_key="referrals")


def _retry(request: Request, db: DbSession, ctx: Ctx, referral_id: int, form_name: str,
                 values: dict[str, Any], error: TenFourError) -> Response:
    referral = service.get_referral(db, ctx, referral_id, audit=False)
    return render(request, db, "referrals/detail.html",
                  _detail_context(db, referral, values=values, errors=errors_from(error), form_name=form_name),
                  status_code=error.status_code, nav_key="referrals")


@router.post("/referrals/{referral_id}/status")
async def referral_status(request: Request, db: DbSession, ctx: Triage, referral_id: RecordId) -> Response:
    values = form_values(await request.form())
    try:
        referral = service.change_status(db, ctx, referral_id, str(values.get("status") or ""),
                                         str(values.get("note") or ""))
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return _retry(request, db, ctx, referral_id, "status", values, error)
    label = ReferralStatus(referral.status).label.lower()
    return flash(request, RedirectResponse(f"/referrals/{referral_id}", status_code=303), f"Marked {label}.")


@router.post("/referrals/{referral_id}/notes")
async def referral_note(request: Request, db: DbSession, ctx: Triage, referral_id: RecordId) -> Response:
    values = form_values(await request.form())
    try:
        service.add_note(db, ctx, referral_id, str(values.get("note") or ""))
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return _retry(request, db, ctx, referral_id, "note", values, error)
    return flash(request, RedirectResponse(f"/referrals/{referral_id}#timeline", status_code=303), "Note added.")


@router.post("/referrals/{referral_id}/patient")
async def referral_convert(request: Request, db: DbSession, ctx: Triage, referral_id: RecordId) -> Response:
    values = form_values(await request.form())
    model, errors = parse(ConvertIn, {k: v for k, v in values.items() if k in ConvertIn.model_fields})
    referral = service.get_referral(db, ctx, referral_id, audit=False)
    if model is not None and model.send_invitation and not referral.email:
        errors = FormErrors(send_invitation="there is no email address to send an invitation to")
        model = None
    if model is None:
        return render(request, db, "referrals/detail.html",
                      _detail_context(db, referral, values=values, errors=errors, form_name="convert"),
                      status_code=422, nav_key="referrals")
    try:
        with db.begin_nested():  # the record and its invitation together, or neither
            patient = service.convert_to_patient(db, ctx, referral_id, model.date_of_birth)
            if model.send_invitation:
                intake.send_invitation(db, ctx, patient.id, request.app.state.settings.base_url)
    except TenFourError as error:
        if error.status_code == 404:
            raise
        return _retry(request, db, ctx, referral_id, "convert", values, error)
    message = f"Patient record {patient.record_number} created."
    if model.send_invitation:
        message += " Invitation emailed."
    return flash(request, RedirectResponse(f"/referrals/{referral_id}", status_code=303), message)
