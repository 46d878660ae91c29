"""The scheduling domain's clock: the infusions domain's, so that a test moving one moves both (a booking made by the
scheduler goes through the infusion booking service, which reads that clock)."""

from __future__ import annotations

from datetime import datetime

from tenfour.infusions import clock as infusions_clock


def now() -> datetime:
    return infusions_clock.now()
