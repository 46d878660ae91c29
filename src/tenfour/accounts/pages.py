"""Sign-in, sign-out and clinic switching for the browser."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from tenfour.accounts import service
from tenfour.accounts.models import AuthSession
from tenfour.context import Ctx
from tenfour.errors import TooManyRequests
from tenfour.web.deps import DbSession, public, signed_in, verify_csrf
from tenfour.web.security import SESSION_COOKIE, client_ip, is_https
from tenfour.web.templating import flash, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect off-site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(public)],
               next: str | None = None) -> Response:
    if ctx.principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, db, "login.html", {"next": _safe_next(next), "email": "", "error": None})


@router.post("/login")
def login_submit(
    request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(public)],
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings = request.app.state.settings
    try:
        outcome = service.attempt_login(
            db, email=email, password=password, kind="browser", ip_address=client_ip(request, settings),
            user_agent=request.headers.get("user-agent"), max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_failure_window_min),
        )
    except TooManyRequests as error:
        response = render(request, db, "login.html", {"next": _safe_next(next), "email": email,
                                                      "error": error.message}, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    if outcome.token is None or outcome.session is None:
        return render(request, db, "login.html", {"next": _safe_next(next), "email": email,
                                                  "error": outcome.error}, status_code=401)
    target = _safe_next(next)
    if target == "/" and outcome.user is not None and not outcome.user.is_staff:
        target = "/me"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, outcome.token, httponly=True, samesite="lax", path="/",
                        secure=is_https(request, settings))
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> Response:
    assert ctx.principal is not None
    session = db.get(AuthSession, ctx.principal.session_id)
    if session is not None:
        service.end_session(db, session, ctx.actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return flash(request, response, "You are signed out.")


@router.post("/switch-clinic")
def switch_clinic(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)],
                  clinic_id: Annotated[int, Form()]) -> Response:
    assert ctx.principal is not None
    session = db.get(AuthSession, ctx.principal.session_id)
    if session is not None:
        service.switch_clinic(db, ctx.actor, session, clinic_id)
    return RedirectResponse("/", status_code=303)
