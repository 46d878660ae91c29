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
    """TooManyRequests (429 with Retry-After) when the limit is reached. ``message`` may name ``{minutes}``, the
    wait as words ("3 minutes")."""
    wait = is_limited(db, bucket, key, limit, window)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        words = f"{minutes} minute{'s' if minutes > 1 else ''}"
        raise TooManyRequests(
            (message or "Too many attempts. Please wait {minutes} and try again.").format(minutes=words),
            retry_after_s=wait,
        )


def hit(db: Session, bucket: str, key: str) -> None:
    db.add(RateLimitHit(bucket=bucket, key=key[:300]))
    db.flush()


# --- The limits of patient-facing links and forms (issue 9); numbers are settings (config.Settings) ----------------

HOUR = timedelta(hours=1)
INVITATION_ATTEMPT = "invitation_attempt"  # per address: invitation links opened with a bad token, or posted
INVITATION_SEND = "invitation_send"  # per staff member: invitations emailed
CHECKIN_SUBMIT = "checkin_submit"  # per patient: check-ins stored from the patient's side
CHECKIN_LINK_FAILURE = "checkin_link_failure"  # per address: check-in links that were unknown, used or expired

INVITATION_ATTEMPT_MESSAGE = ("Several invitation links have been tried from this connection in the last hour. "
                              "Please wait {minutes} and try again, or call the clinic.")
INVITATION_SEND_MESSAGE = ("You have sent many invitations in the last hour. Please wait {minutes} before sending "
                           "another (this protects patients' inboxes if an account is misused).")
CHECKIN_SUBMIT_MESSAGE = ("Several check-ins have been sent for you in the last hour. Please wait {minutes} and try "
                          "again. If you need help now, call the clinic or a crisis line.")
CHECKIN_LINK_MESSAGE = ("Several check-in links that do not work have been tried from this connection in the last "
                        "hour. Please wait {minutes} and try again, or call the clinic.")


def address_key(ip_address: str | None) -> str:
    return f"ip:{ip_address or '-'}"
