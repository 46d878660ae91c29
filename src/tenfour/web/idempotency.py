"""Idempotent submissions on the web (``tenfour.idempotency``): the ``Idempotency-Key`` header of the JSON API, and the
hidden ``idempotency_key`` field that every patient-facing form carries (a fresh one each time the form is drawn).

The key is scoped to who sends it (the signed-in user; for a reminder's check-in link, the link; else "anonymous")
and to the route (method and path template). The request's meaning — path parameters, query and body — is hashed:
the same key with another request is refused (422) naming the key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.context import Ctx
from tenfour.errors import ValidationFailed
from tenfour.idempotency import service

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,255}$"
IdempotencyKeyHeader = Annotated[str | None, Header(
    alias=HEADER, pattern=KEY_PATTERN,
    description="Optional. A unique key per submission (8-255 letters, digits, - _ . :), e.g. a UUID. Sending the "
                "same request again with the same key stores nothing new and answers as the first time (with "
                f"`{REPLAYED_HEADER}: true`); the same key with a different request is refused (422). Kept 24 h.")]


def principal_of(ctx: Ctx) -> str:
    return f"user:{ctx.principal.user.id}" if ctx.principal is not None else "anonymous"


def link_principal(token: str) -> str:
    """Whoever holds a reminder's link (without storing the link itself)."""
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"[:200]


def _fingerprint(request: Request, body: Any) -> str:
    return service.request_hash({"path": dict(request.path_params), "query": sorted(request.query_params.multi_items()),
                                 "body": body})


def json_once(request: Request, db: Session, ctx: Ctx, key: str | None, payload: BaseModel, status_code: int,
              produce: Callable[[], Any]) -> Response:
    """Run ``produce`` (the submission) once per key; a retry gets the stored JSON answer."""
    if key is None:
        return JSONResponse(jsonable_encoder(produce()), status_code=status_code)
    held = service.claim(db, principal=principal_of(ctx), route=_route(request), key=key,
                         fingerprint=_fingerprint(request, payload.model_dump(mode="json")), field=HEADER)
    if isinstance(held, service.Stored):
        return Response(held.body, status_code=held.status, media_type="application/json",
                        headers={REPLAYED_HEADER: "true"})
    response = JSONResponse(jsonable_encoder(produce()), status_code=status_code)
    service.complete(db, held, status_code, body=bytes(response.body).decode())
    return response


@dataclass
class FormSubmission:
    """A form post holding its key. ``replay`` is the first answer when this is a retry; else hand the answer to
    ``done``: a redirect (the form was stored) is kept for retries; anything else releases the key."""

    db: Session
    replay: Response | None = None
    held: service.Claim | None = None

    def done(self, response: Response) -> Response:
        location = response.headers.get("location")
        if self.held is not None and 300 <= response.status_code < 400 and location:
            service.complete(self.db, self.held, response.status_code, location=location)
        return response


def form_once(request: Request, db: Session, values: dict[str, Any], principal: str) -> FormSubmission:
    """Take the form's key out of ``values`` and claim it. Forms without a key (an old page) are handled as before."""
    key = values.pop(FORM_FIELD, None)
    if not key:
        return FormSubmission(db)
    if not isinstance(key, str) or not re.fullmatch(KEY_PATTERN, key):
        raise ValidationFailed.single(FORM_FIELD, "pattern", "is not a key this site made; reload the page")
    held = service.claim(db, principal=principal, route=_route(request), key=key,
                         fingerprint=_fingerprint(request, values), field=FORM_FIELD)
    if isinstance(held, service.Stored):
        return FormSubmission(db, replay=RedirectResponse(held.location or "/", status_code=held.status,
                                                          headers={REPLAYED_HEADER: "true"}))
    return FormSubmission(db, held=held)
