"""The shell: home, privacy and cookie notices, API docs page (health and metrics: web/metrics.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from tenfour import __version__
from tenfour.context import Ctx
from tenfour.patients import repository as patients_repository
from tenfour.patients.models import PatientStatus, ResponderRole
from tenfour.policy import active_clinic_id
from tenfour.web.deps import DbSession, public, require_mfa_if_policy, verify_csrf
from tenfour.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/")
def home(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(public)]) -> Response:
    principal = ctx.principal
    if principal is None:
        return render(request, db, "welcome.html")
    if not principal.is_staff:
        return RedirectResponse("/me", status_code=303)
    require_mfa_if_policy(db, principal)  # counts of patients: not before required two-step sign-in is set up
    clinic_id = active_clinic_id(principal)
    clinic_ids = [clinic_id] if clinic_id is not None else []
    by_status = patients_repository.count_by_status(db, clinic_ids)
    by_role = patients_repository.count_by_role(db, clinic_ids)
    return render(request, db, "home.html", {
        "total": sum(by_status.values()),
        "by_status": [(s, by_status.get(s.value, 0)) for s in PatientStatus],
        "by_role": [(r, by_role.get(r.value, 0)) for r in ResponderRole],
    }, nav_key="home")


@router.get("/privacy")
def privacy(request: Request, db: DbSession, _: Annotated[Ctx, Depends(public)]) -> Response:
    return render(request, db, "privacy.html")


@router.get("/cookies")
def cookies(request: Request, db: DbSession, _: Annotated[Ctx, Depends(public)]) -> Response:
    return render(request, db, "cookies.html")


@router.get("/docs")
def api_docs(request: Request, _: Annotated[Ctx, Depends(public)]) -> Response:
    """Swagger UI from the installed swagger-ui-bundle package: no CDN, no inline script."""
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TenFour API {__version__}</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script></body></html>"""
    return HTMLResponse(html)
