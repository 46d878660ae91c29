"""Sign-in, sign-out and clinic switching for the browser."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from tenfour.accounts import mfa, service
from tenfour.accounts.models import AuthSession, User
from tenfour.context import Ctx
from tenfour.errors import Forbidden, TooManyRequests, ValidationFailed
from tenfour.web.deps import DbSession, public, signed_in, verify_csrf
from tenfour.web.forms import FormErrors, errors_from
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
    code: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    settings = request.app.state.settings
    try:
        outcome = service.attempt_login(
            db, email=email, password=password, kind="browser", ip_address=client_ip(request, settings),
            user_agent=request.headers.get("user-agent"), max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_failure_window_min), code=code or None,
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
    if outcome.user is not None and outcome.user.is_staff and not outcome.user.mfa_enabled \
            and mfa.mfa_required(db, outcome.user):
        target = "/account/mfa"  # the clinic requires two-step sign-in: nothing else until it is set up
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


@router.get("/reauth")
def reauth_form(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)],
                next: str | None = None) -> Response:
    """Confirm the password before a sensitive download (an export); then back to where the person was going."""
    assert ctx.principal is not None
    return render(request, db, "accounts/reauth.html", {
        "action": f"/reauth?next={quote(_safe_next(next), safe='')}", "carried": [], "error": None,
        "mfa": ctx.principal.user.mfa_enabled})


@router.post("/reauth")
def reauth_submit(
    request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)], next: str | None = None,
    reauth_password: Annotated[str, Form(max_length=256)] = "",
    reauth_code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    assert ctx.principal is not None and ctx.principal.session_id is not None
    settings = request.app.state.settings
    session = db.get(AuthSession, ctx.principal.session_id)
    assert session is not None
    ok = service.reauthenticate(db, ctx.actor, session, password=reauth_password, code=reauth_code or None,
                                max_failures=settings.login_max_failures,
                                window=timedelta(minutes=settings.login_failure_window_min))
    if not ok:
        return render(request, db, "accounts/reauth.html", {
            "action": f"/reauth?next={quote(_safe_next(next), safe='')}", "carried": [],
            "error": service.GENERIC_REAUTH_ERROR, "mfa": ctx.principal.user.mfa_enabled}, status_code=401)
    return RedirectResponse(_safe_next(next), status_code=303)


def _staff_only(ctx: Ctx) -> User:
    assert ctx.principal is not None
    if not ctx.principal.is_staff:
        raise Forbidden("Two-step sign-in is for clinic staff.")
    return ctx.principal.user


@router.get("/account/mfa")
def mfa_page(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> Response:
    """Two-step sign-in: the status, or (not yet enrolled) the QR code to scan and the box for a first code.

    Opening the page makes a pending secret; it counts only once confirmed with a code.
    """
    user = _staff_only(ctx)
    return _mfa_page(request, db, user, None)


def _mfa_page(request: Request, db: DbSession, user: User, error: str | None, status_code: int = 200) -> Response:
    context: dict[str, object] = {"account": user, "error": error, "required": mfa.mfa_required(db, user)}
    if not user.mfa_enabled:
        mfa.start_enrolment(db, user)
        uri = mfa.provisioning_uri(user)
        context |= {"qr_code": mfa.qr_code_data_uri(uri), "secret": user.totp_secret}
    else:
        context["codes_left"] = user.recovery_codes_left
    return render(request, db, "accounts/mfa.html", context, status_code=status_code)


@router.post("/account/mfa")
def mfa_confirm(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)],
                code: Annotated[str, Form(max_length=20)] = "") -> Response:
    user = _staff_only(ctx)
    try:
        codes = mfa.confirm_enrolment(db, ctx.actor, user, code)
    except ValidationFailed as error:
        return _mfa_page(request, db, user, error.problems[0].message.capitalize() + ".", 422)
    return render(request, db, "accounts/mfa_codes.html", {"codes": codes})


# --- Changing one's own password (staff and patients alike: both sign in with a password) ------------------------

PASSWORD_LABELS = {"current_password": "Current password", "new_password": "New password",
                   "new_password_confirm": "New password again"}
PASSWORD_FIELDS = [
    ("current_password", "current-password", None),
    ("new_password", "new-password", "At least 12 characters; a few words you will remember work well. Very common "
                                     "passwords are refused."),
    ("new_password_confirm", "new-password", None),
]


def _password_page(request: Request, db: DbSession, errors: FormErrors, status_code: int = 200) -> Response:
    return render(request, db, "accounts/password.html", {"errors": errors, "labels": PASSWORD_LABELS,
                                                          "fields": PASSWORD_FIELDS}, status_code=status_code)


@router.get("/account/password")
def password_page(request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)]) -> Response:
    return _password_page(request, db, FormErrors())


@router.post("/account/password")
def password_change(
    request: Request, db: DbSession, ctx: Annotated[Ctx, Depends(signed_in)],
    current_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    new_password_confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    assert ctx.principal is not None and ctx.principal.session_id is not None
    settings = request.app.state.settings
    session = db.get(AuthSession, ctx.principal.session_id)
    assert session is not None
    try:
        ended = service.change_own_password(
            db, ctx.actor, session, current_password=current_password, new_password=new_password,
            new_password_confirm=new_password_confirm, max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_failure_window_min))
    except ValidationFailed as error:  # answered, not raised: the request commits a counted failure and its audit
        return _password_page(request, db, errors_from(error), 422)
    except TooManyRequests as error:
        response = _password_page(request, db, FormErrors(current_password=error.message), 429)
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    signed_out = f" You were signed out on {ended} other device{'s' if ended != 1 else ''}." if ended else ""
    target = "/account/mfa" if ctx.principal.is_staff else "/me"
    return flash(request, RedirectResponse(target, status_code=303), "Your password is changed." + signed_out)
