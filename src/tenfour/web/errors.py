"""Every error mapped once: JSON with problems for the API, a readable page for the browser. Never a 500
for bad input; an unexpected failure gets a generic page and a log line without PHI."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tenfour.accounts.reauth import reauth_page
from tenfour.core.errors import CoreError
from tenfour.errors import (
    MfaEnrollmentRequired,
    NotAuthenticated,
    Problem,
    ReauthRequired,
    TenFourError,
    TooManyRequests,
    ValidationFailed,
)
from tenfour.web.deps import is_api_request
from tenfour.web.templating import render

log = logging.getLogger("tenfour.web")

FRIENDLY_PATTERN_MESSAGES = {
    "phone": "use digits, spaces and + ( ) - only (7 to 25 characters)",
}


def problems_from_pydantic(errors: list[dict[str, Any]]) -> list[Problem]:
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        rule = error.get("type", "invalid")
        message = error.get("msg", "is not valid")
        if rule == "string_pattern_mismatch" and loc and loc[-1] in FRIENDLY_PATTERN_MESSAGES:
            message = FRIENDLY_PATTERN_MESSAGES[loc[-1]]
        elif rule == "missing" or (rule == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1):
            message = "is required"
        elif rule == "extra_forbidden":
            message = "is not a field of this form"
        elif rule == "json_invalid":
            field, message = "body", "is not valid JSON"
        message = message.removeprefix("Value error, ")
        problems.append(Problem(field, rule, message))
    return problems


def _json(status: int, message: str, problems: list[Problem], headers: dict[str, str] | None = None,
          code: str | None = None) -> Response:
    body: dict[str, Any] = {"detail": message}
    if code:
        body["code"] = code
    if problems:
        body["problems"] = [p.as_dict() for p in problems]
    return JSONResponse(body, status_code=status, headers=headers)


def _page(request: Request, status: int, title: str, message: str, problems: list[Problem] | None = None,
          headers: dict[str, str] | None = None) -> Response:
    response = render(request, None, "error.html",
                      {"title": title, "message": message, "problems": problems or [], "status": status},
                      status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


TITLES = {400: "Something is not right", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
          405: "Not allowed", 409: "Could not save", 413: "Too large", 422: "Please check the form",
          429: "Please wait", 500: "Something went wrong"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TenFourError)
    async def tenfour_error(request: Request, error: TenFourError) -> Response:
        headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, TooManyRequests) else None
        if is_api_request(request):
            if isinstance(error, NotAuthenticated | ReauthRequired):
                headers = {"WWW-Authenticate": "Bearer"}
            return _json(error.status_code, error.message, error.problems, headers, getattr(error, "code", None))
        if isinstance(error, ReauthRequired):
            return await reauth_page(request)
        if isinstance(error, MfaEnrollmentRequired):
            return RedirectResponse("/account/mfa", status_code=303)
        if isinstance(error, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _page(request, error.status_code, TITLES.get(error.status_code, "Error"), error.message,
                     error.problems, headers)

    @app.exception_handler(CoreError)
    async def core_error(request: Request, error: CoreError) -> Response:
        return await tenfour_error(request, ValidationFailed.from_core(error))

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, error: DataError) -> Response:
        # The database refused a value that validation let through (PostgreSQL: a NUL character in text, a
        # number out of range). That is bad input, not a failure of ours: 422, and nothing was saved.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path,
                    type(error.orig).__name__)
        return await tenfour_error(request, ValidationFailed.single(
            "body", "storable", "contains a value that cannot be stored (such as a NUL character)"))

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, error: RequestValidationError) -> Response:
        problems = problems_from_pydantic(list(error.errors()))
        message = "; ".join(f"{p.field}: {p.message}" for p in problems) or "The request is not valid."
        if is_api_request(request):
            return _json(422, message, problems)
        return _page(request, 422, TITLES[422], "Some fields need attention.", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = {404: "There is nothing at this address.", 405: "That action is not possible here."}.get(
            error.status_code, str(error.detail))
        if is_api_request(request):
            return _json(error.status_code, message, [], getattr(error, "headers", None))
        return _page(request, error.status_code, TITLES.get(error.status_code, "Error"), message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side. Nothing you submitted was half-saved; please try again."
        if is_api_request(request):
            return _json(500, message, [])
        return _page(request, 500, TITLES[500], message)
