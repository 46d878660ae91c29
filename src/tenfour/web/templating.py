"""Server-rendered pages: one Jinja2 environment over every domain's templates folder."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour import policy
from tenfour.accounts.models import Role
from tenfour.alerts import repository as alerts_repository
from tenfour.clinics import repository as clinics_repository
from tenfour.crisis import tel_href
from tenfour.policy import Permission, Principal
from tenfour.web.security import csrf_token_for

PACKAGE_DIR = Path(__file__).resolve().parents[1]
FLASH_COOKIE = "tenfour_flash"


def _template_dirs() -> list[Path]:
    dirs = [PACKAGE_DIR / "web" / "templates"]
    dirs += sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "web")
    return dirs


def _local(value: datetime | None, tz: str | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz or "UTC")).strftime(fmt)


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in _template_dirs()]),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = _local
    env.filters["urlquote"] = lambda v: quote(str(v), safe="")
    env.filters["tel_href"] = tel_href
    # A fresh idempotency key each time a form is drawn (web.idempotency): a retried post is stored once.
    env.globals["new_form_key"] = lambda: secrets.token_urlsafe(24)
    return Jinja2Templates(env=env)


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    key: str


def navigation(principal: Principal | None) -> list[NavItem]:
    """What a role sees in the menu. Only items the role may open; policy.can decides."""
    if principal is None:
        return []
    if principal.role == Role.PATIENT:
        return [NavItem("My care", "/me", "me"), NavItem("My details", "/me/details", "me-details")]
    items = [NavItem("Home", "/", "home")]
    if policy.can(principal, Permission.PATIENT_READ):
        items.append(NavItem("Patients", "/patients", "patients"))
    if policy.can(principal, Permission.ALERT_READ):
        items.append(NavItem("Alerts", "/alerts", "alerts"))
        items.append(NavItem("Check-ins", "/checkins", "checkins"))
    if policy.can(principal, Permission.REFERRAL_TRIAGE):
        items.append(NavItem("Referrals", "/referrals", "referrals"))
    if policy.can(principal, Permission.INFUSION_CHART):  # the chairside board; booking-only roles book a chair
        items.append(NavItem("Chairside", "/chairside", "chairside"))
    elif policy.can(principal, Permission.SCHEDULE_MANAGE):
        items.append(NavItem("Book a chair", "/chairside/book", "chairside"))
    if policy.can(principal, Permission.SCHEDULE_VIEW):
        items.append(NavItem("Schedule", "/schedule", "schedule"))
    if policy.can(principal, Permission.OUTCOMES_READ):
        items.append(NavItem("Outcomes", "/outcomes", "outcomes"))
    if policy.can(principal, Permission.CLINIC_ADMIN):
        items.append(NavItem("Clinics", "/admin/clinics", "admin-clinics"))
    if policy.can(principal, Permission.USER_ADMIN):
        items.append(NavItem("Users", "/admin/users", "admin-users"))
    if policy.can(principal, Permission.AUDIT_READ):
        items.append(NavItem("Audit log", "/admin/audit", "admin-audit"))
    if policy.can(principal, Permission.DATA_EXPORT):
        items.append(NavItem("Exports", "/exports", "exports"))
    return items


def _patient_timezone(db: Session, principal: Principal) -> str:
    from tenfour.patients.repository import by_user_id

    patient = by_user_id(db, principal.user.id)
    if patient is None:
        return "UTC"
    if patient.timezone:
        return patient.timezone
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return clinic.timezone if clinic else "UTC"


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"flash:{payload}".encode(), hashlib.sha256).hexdigest()[:24]


def flash(request: Request, response: Response, message: str, kind: str = "success") -> Response:
    """A one-time message shown on the next page. Never put PHI in it (it travels in a cookie)."""
    payload = json.dumps({"m": message[:300], "k": kind}, separators=(",", ":"))
    value = quote(payload + "|" + _sign(request.app.state.secret_key, payload), safe="")
    response.set_cookie(FLASH_COOKIE, value, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https" or request.app.state.settings.force_secure_cookies)
    return response


def _read_flash(request: Request) -> dict[str, str] | None:
    from urllib.parse import unquote

    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    payload, _, signature = unquote(raw).rpartition("|")
    if not hmac.compare_digest(signature, _sign(request.app.state.secret_key, payload)):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    return {"message": str(data.get("m", "")), "kind": str(data.get("k", "success"))}


def render(
    request: Request,
    db: Session | None,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    nav_key: str | None = None,
) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    clinics = []
    active_clinic = None
    urgent_open = 0
    tz = "UTC"
    if principal is not None and principal.is_staff and db is not None:
        clinics = clinics_repository.list_clinics(db, principal.clinic_ids)
        active_id = policy.active_clinic_id(principal)
        active_clinic = next((c for c in clinics if c.id == active_id), clinics[0] if clinics else None)
        if active_clinic is not None:
            tz = active_clinic.timezone
            # Urgent safety alerts show on every staff page of the clinic until a clinician says 10-4.
            urgent_open = alerts_repository.unacknowledged_urgent_count(db, active_clinic.id)
    elif principal is not None and db is not None:
        tz = _patient_timezone(db, principal)
    message = _read_flash(request)
    base = {
        "request": request,
        "principal": principal,
        "user": principal.user if principal else None,
        "nav": navigation(principal),
        "nav_key": nav_key,
        "csrf_token": csrf_token_for(request),
        "clinics": clinics,
        "active_clinic": active_clinic,
        "tz": tz,
        "urgent_open": urgent_open,
        "flash": message,
        "Permission": Permission,
        "can": lambda permission: policy.can(principal, permission),
    }
    base.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, base, status_code=status_code)
    if message is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
