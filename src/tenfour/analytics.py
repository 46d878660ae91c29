"""The analytics database (issue 10): a PostgreSQL streaming replica for the outcomes dashboard, set by
``TENFOUR_ANALYTICS_DATABASE_URL`` (sessions: ``db.analytics_session_factory``, read-only at the server).

A replica replays the primary's writes a little late. What reads it says how late (``replica_status``): the page
shows it, ``/readyz`` reports it, ``/metrics`` exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# On a standby: 0 when every change received from the primary has been applied (an idle primary sends nothing, so
# the time since the last replayed transaction is no lag), else the time since the last replayed transaction.
_STATUS = text("""
    SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(),
           CASE WHEN NOT pg_is_in_recovery() THEN NULL
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())) END
""")


@dataclass(frozen=True)
class ReplicaStatus:
    """``in_recovery``: a standby replaying the primary (False: a read-only session on a primary, or SQLite).
    ``lag_seconds``: how far behind the primary it is (None: not a standby, no lag). ``replayed_at``: when the
    last transaction it replayed was committed on the primary."""

    in_recovery: bool
    lag_seconds: float | None
    replayed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"database": "analytics", "in_recovery": self.in_recovery,
                "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 1),
                "replayed_at": self.replayed_at.isoformat() if self.replayed_at else None}


def replica_status(db: Session) -> ReplicaStatus:
    """Where the analytics database stands (one small query; PostgreSQL's recovery functions)."""
    if db.get_bind().dialect.name != "postgresql":
        return ReplicaStatus(False, None, None)
    in_recovery, replayed_at, lag = db.execute(_STATUS).one()
    return ReplicaStatus(bool(in_recovery), None if lag is None else float(lag), replayed_at)
