"""Who is in a cohort: the filters a person chose, and each clinic in scope with its as-of day and policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenfour.outcomes.tallies import ClinicRules


@dataclass(frozen=True)
class Selection:
    """Filters. ``period_from``/``period_to`` are inclusive days in each clinic's time zone: a course is in the
    period when its first infusion day is; a referral, an eligibility decision or an infusion when it happened then."""

    responder_role: str | None = None
    agency: str | None = None
    protocol: str | None = None
    period_from: date | None = None
    period_to: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.responder_role, "agency": self.agency, "protocol": self.protocol,
                "from": self.period_from.isoformat() if self.period_from else None,
                "to": self.period_to.isoformat() if self.period_to else None}


@dataclass(frozen=True)
class ClinicScope:
    """One clinic of the cohort: its as-of day (today in its time zone) and the policy values its outcomes use."""

    clinic_id: int
    slug: str
    name: str
    timezone: str
    as_of: date
    rules: ClinicRules
    policy: dict[str, Any] = field(default_factory=dict, compare=False)  # the clinic's effective policy values

    def instants(self, selection: Selection) -> tuple[datetime | None, datetime | None]:
        """The period as UTC instants [start of the first day, start of the day after the last) in this clinic."""
        zone = ZoneInfo(self.timezone)

        def at_midnight(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

        start = at_midnight(selection.period_from) if selection.period_from else None
        end = at_midnight(selection.period_to + timedelta(days=1)) if selection.period_to else None
        return start, end
