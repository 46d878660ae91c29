"""The re-authentication form shown when a sensitive page action needs a recent sign-in.

A refused form post is answered with this page: the person's own fields ride along as hidden inputs and the form
posts back to the same address with ``reauth_password`` (``web.deps.confirm_recent_sign_in`` checks it), so
nothing they typed is lost. A refused GET (a download) goes to ``/reauth?next=...`` and comes back after.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from tenfour.accounts.service import GENERIC_REAUTH_ERROR
from tenfour.web.security import CSRF_FIELD, UNSAFE_METHODS
from tenfour.web.templating import render

NOT_CARRIED = frozenset({CSRF_FIELD, "reauth_password", "reauth_code"})


async def reauth_page(request: Request) -> Response:
    principal = getattr(request.state, "principal", None)
    if request.method not in UNSAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/reauth?next={quote(target, safe='')}", status_code=303)
    carried: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        carried = [(k, v) for k, v in form.multi_items() if k not in NOT_CARRIED and not isinstance(v, UploadFile)]
    error = GENERIC_REAUTH_ERROR if getattr(request.state, "reauth_failed", False) else None
    return render(request, None, "accounts/reauth.html", {
        "action": request.url.path, "carried": carried, "error": error,
        "mfa": bool(principal is not None and principal.user.mfa_enabled)}, status_code=401)
