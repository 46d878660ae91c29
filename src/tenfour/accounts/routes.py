"""JSON API of the accounts domain: sign in and out with a Bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from tenfour.accounts import service
from tenfour.accounts.schemas import LoginIn, MeOut, ReauthIn, TokenOut
from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.web.deps import DbSession, public, signed_in
from tenfour.web.security import client_ip

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut,
             responses={401: {"description": "Wrong email, password or two-step code (one generic answer)"}})
def login(data: LoginIn, request: Request, db: DbSession, _: Annotated[Ctx, Depends(public)]) -> object:
    settings = request.app.state.settings
    from datetime import timedelta

    outcome = service.attempt_login(
        db, email=data.email, password=data.password, kind="api", ip_address=client_ip(request, settings),
        user_agent=request.headers.get("user-agent"), max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_failure_window_min), code=data.totp,
    )
    if outcome.session is None or outcome.token is None:
        return JSONResponse({"detail": outcome.error}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=outcome.token, expires_at=outcome.session.expires_at.isoformat())


@router.post("/logout", status_code=204)
def logout(db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> None:
    assert ctx.principal is not None and ctx.principal.session_id is not None
    from tenfour.accounts.models import AuthSession

    session = db.get(AuthSession, ctx.principal.session_id)
    if session is not None:
        service.end_session(db, session, ctx.actor)


@router.get("/me", response_model=MeOut)
def me(db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> MeOut:
    assert ctx.principal is not None
    user = ctx.principal.user
    clinics = clinics_repository.list_clinics(db, user.clinic_ids) if user.clinic_ids else []
    active = next((c.slug for c in clinics if c.id == ctx.principal.active_clinic_id), None)
    return MeOut(id=user.id, email=user.email, full_name=user.full_name, role=user.role,
                 clinics=[c.slug for c in clinics], active_clinic=active)


@router.post("/reauth", status_code=204, response_model=None,
             responses={401: {"description": "Wrong password or two-step code"}})
def reauth(data: ReauthIn, request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> Response:
    """Prove the password (and code) again: for the next minutes (policy security.reauth_window_min) this token
    may sign plans, override eligibility or a dose, and export data."""
    from datetime import timedelta

    from tenfour.accounts.models import AuthSession

    assert ctx.principal is not None and ctx.principal.session_id is not None
    settings = request.app.state.settings
    session = db.get(AuthSession, ctx.principal.session_id)
    assert session is not None
    if not service.reauthenticate(db, ctx.actor, session, password=data.password, code=data.totp,
                                  max_failures=settings.login_max_failures,
                                  window=timedelta(minutes=settings.login_failure_window_min)):
        return JSONResponse({"detail": service.GENERIC_REAUTH_ERROR}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    return Response(status_code=204)
