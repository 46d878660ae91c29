"""Rate limits kept in the database, so they hold across several app servers. No trackers, no third parties."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy.orm import Session

from tenfour.accounts import repository
from tenfour.accounts.models import RateLimitHit
from tenfour.db import utcnow
from tenfour.errors import TooManyRequests


def is_limited(db: Session, bucket: str, key: str, limit: int, window: timedelta) -> int | None:
    """Seconds until the oldest counted hit leaves the window when the limit is reached, else None."""
    now = utcnow()
    since = now - window
    if repository.count_hits(db, bucket, key, since) < limit:
        return None
    oldest = repository.oldest_hit_since(db, bucket, key, since) or now
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def enforce(db: Session, bucket: str, key: str, limit: int, window: timedelta, message: str | None = None) -> None:
    wait = is_limited(db, bucket, key, limit, window)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        raise TooManyRequests(
            message or f"Too many attempts. Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again.",
            retry_after_s=wait,
        )


def hit(db: Session, bucket: str, key: str) -> None:
    db.add(RateLimitHit(bucket=bucket, key=key[:300]))
    db.flush()
