"""Issuing and redeeming single-use links. Never commits.

A link is good once, until it expires, unless revoked (a new invitation revokes the older ones).
The page for a bad link says which of these happened, in plain words, and what to do next.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.db import utcnow
from tenfour.errors import TenFourError
from tenfour.links.models import AccessLink


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"


class LinkInvalid(TenFourError):
    status_code = 410

    MESSAGES = {
        LinkProblem.UNKNOWN: "This link is not valid. Check that you opened the whole link from the email.",
        LinkProblem.EXPIRED: "This link has expired.",
        LinkProblem.USED: "This link has already been used.",
        LinkProblem.REVOKED: "This link was replaced by a newer one. Please use the most recent email.",
    }

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(self.MESSAGES[problem])
        self.problem = problem


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(db: Session, *, purpose: str, ttl: timedelta, patient_id: int | None = None, user_id: int | None = None,
          created_by_id: int | None = None, payload: dict[str, Any] | None = None,
          revoke_previous: bool = False) -> tuple[str, AccessLink]:
    """A new link; returns the raw token (to put in the URL, never stored) and the row."""
    if revoke_previous and patient_id is not None:
        now = utcnow()
        for old in db.scalars(select(AccessLink).where(AccessLink.purpose == purpose,
                                                       AccessLink.patient_id == patient_id,
                                                       AccessLink.used_at.is_(None),
                                                       AccessLink.revoked_at.is_(None))):
            old.revoked_at = now
    token = secrets.token_urlsafe(32)
    link = AccessLink(token_hash=_hash(token), purpose=purpose, patient_id=patient_id, user_id=user_id,
                      created_by_id=created_by_id, payload=payload or {}, expires_at=utcnow() + ttl)
    db.add(link)
    db.flush()
    return token, link


def check(db: Session, token: str, purpose: str) -> AccessLink:
    """The link for a token if it can still be used; LinkInvalid (410) saying why otherwise."""
    if not token or len(token) > 100:
        raise LinkInvalid(LinkProblem.UNKNOWN)
    link = db.scalar(select(AccessLink).where(AccessLink.token_hash == _hash(token)))
    if link is None or link.purpose != purpose:
        raise LinkInvalid(LinkProblem.UNKNOWN)
    if link.used_at is not None:
        raise LinkInvalid(LinkProblem.USED)
    if link.revoked_at is not None:
        raise LinkInvalid(LinkProblem.REVOKED)
    if utcnow() >= link.expires_at:
        raise LinkInvalid(LinkProblem.EXPIRED)
    return link


def redeem(db: Session, token: str, purpose: str) -> AccessLink:
    """Check and mark used in one step (the row is locked on PostgreSQL, so two clicks cannot both win)."""
    link = check(db, token, purpose)
    locked = db.get(AccessLink, link.id, with_for_update=True, populate_existing=True)
    if locked is None or locked.used_at is not None:
        raise LinkInvalid(LinkProblem.USED)
    locked.used_at = utcnow()
    db.flush()
    return locked
