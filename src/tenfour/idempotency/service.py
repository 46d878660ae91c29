"""Idempotent submissions: the same key from the same principal on the same route is stored once, and every retry
gets the first answer.

How it holds under concurrency: the key's row is inserted (``INSERT ... ON CONFLICT DO NOTHING``) before the
submission is handled, in the same transaction. A duplicate sent at the same moment waits on the unique index until
the first transaction ends (PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``): if it committed, the
duplicate finds the stored answer and replays it; if it rolled back, the duplicate goes ahead as the first.

Only answers that mean "stored" are kept (a 2xx JSON body, or the redirect after a form). An error rolls back or
releases the key, so the corrected retry can use it again. A key is kept for ``KEY_TTL``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tenfour.db import utcnow
from tenfour.errors import Conflict, Problem, ValidationFailed
from tenfour.idempotency.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
PRUNE_PER_CLAIM = 20  # expired keys removed by each new claim: the table stays small without a separate job
OPEN_CLAIMS = "tenfour.idempotency.open"  # session.info: claims of this transaction not yet given an answer


@dataclass(frozen=True)
class Stored:
    """The answer the first submission got."""

    status: int
    body: str | None  # JSON text, exactly as first sent
    location: str | None


@dataclass
class Claim:
    """This request holds the key: give it the answer with ``complete`` before the transaction commits."""

    row: IdempotencyKey


def request_hash(parts: dict[str, Any]) -> str:
    """SHA-256 of the request's meaning (path parameters, query, body) as canonical JSON."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _insert(db: Session):  # type: ignore[no-untyped-def]
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


def _find(db: Session, principal: str, route: str, key: str) -> IdempotencyKey | None:
    return db.scalar(select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.route == route,
                                                  IdempotencyKey.key == key).execution_options(populate_existing=True))


def _prune(db: Session) -> None:
    # SKIP LOCKED: two requests pruning at once never wait for (or deadlock on) each other.
    expired = (select(IdempotencyKey.id).where(IdempotencyKey.expires_at < utcnow()).order_by(IdempotencyKey.id)
               .limit(PRUNE_PER_CLAIM).with_for_update(skip_locked=True))
    ids = list(db.scalars(expired))
    if ids:
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))


def claim(db: Session, *, principal: str, route: str, key: str, fingerprint: str, field: str) -> Claim | Stored:
    """Take the key for this request, or return the answer stored for it.

    The same key with a different request (``fingerprint``) is refused (422) naming ``field``."""
    now = utcnow()
    existing = _find(db, principal, route, key)
    if existing is not None and existing.expires_at <= now:
        # Not db.delete(): a retry expiring at the same moment may have removed it already (no error for that).
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
        db.expunge(existing)
        existing = None
    if existing is None:
        _prune(db)
        inserted = db.scalar(_insert(db)(IdempotencyKey).values(
            principal=principal, route=route, key=key, request_hash=fingerprint, created_at=now,
            expires_at=now + KEY_TTL).on_conflict_do_nothing(
            index_elements=["principal", "route", "key"]).returning(IdempotencyKey.id))
        if inserted is not None:
            row = db.get(IdempotencyKey, inserted)
            assert row is not None
            db.info.setdefault(OPEN_CLAIMS, []).append(row)
            return Claim(row)
        existing = _find(db, principal, route, key)  # a duplicate that was sent at the same moment has committed
        if existing is None:
            raise Conflict("This submission is being handled. Please try again in a moment.",
                           [Problem(field, "in_progress", "is in use by a request still being handled")])
    if existing.request_hash != fingerprint:
        raise ValidationFailed.single(field, "reused", "was already used for a different submission; "
                                                       "send a new key for a new submission")
    if existing.response_status is None:
        raise Conflict("This submission is being handled. Please try again in a moment.",
                       [Problem(field, "in_progress", "is in use by a request still being handled")])
    return Stored(existing.response_status, existing.response_body, existing.response_location)


def complete(db: Session, held: Claim, status: int, *, body: str | None = None, location: str | None = None) -> None:
    """Store the answer with the key (same transaction as the submission)."""
    held.row.response_status = status
    held.row.response_body = body
    held.row.response_location = location
    db.flush()


def _release_unanswered(session: Session) -> None:
    """A claim that got no answer (the form came back with errors) is released, so the key can be used again."""
    if session.in_nested_transaction():
        return  # a SAVEPOINT's release, in the middle of handling the submission
    claims = session.info.pop(OPEN_CLAIMS, None)
    if not claims:
        return
    for row in claims:
        if row.response_status is None and inspect(row).persistent:
            session.delete(row)
    session.flush()


event.listen(Session, "before_commit", _release_unanswered)
