"""The check-ins domain's clock: every "now" of check-ins, reminders and the sweep comes from here, so tests can
put the patient at any hour of any day (night, on shift, a week later) without waiting."""

from __future__ import annotations

from datetime import datetime

from tenfour.db import utcnow


def now() -> datetime:
    return utcnow()
