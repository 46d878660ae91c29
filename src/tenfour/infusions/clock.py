"""The infusions domain's clock: every "now" of the chairside comes from here, so tests can move time forward
(an observation period, an overdue reading) without waiting."""

from __future__ import annotations

from datetime import datetime

from tenfour.db import utcnow


def now() -> datetime:
    return utcnow()
