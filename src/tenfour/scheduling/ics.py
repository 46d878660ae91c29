"""A patient's appointments as an iCalendar file (RFC 5545), written with the ``icalendar`` library.

One VEVENT per session that is not cancelled (aborted sessions are listed as STATUS:CANCELLED so a calendar that
imported them before drops them). Times are UTC (``...Z``). The text is the patient's own: the clinic, the chair
time, what to bring, and the no-duty rule; no scores or clinical notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from tenfour.clinics.models import Clinic
from tenfour.core.infusion import Step
from tenfour.infusions.models import InfusionSession

PRODID = "-//TenFour//Infusion appointments//EN"


def appointments_ics(sessions: Iterable[InfusionSession], clinic: Clinic, no_duty_window_h: float,
                     now: datetime, host: str = "tenfour") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Infusions at {clinic.name}")
    for session in sessions:
        event = Event()
        event.add("uid", f"infusion-session-{session.id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", session.scheduled_start)
        event.add("dtend", session.scheduled_end)
        # the title is what a shared or synced calendar shows others: no drug name (privacy; DESIGN "safety and
        # privacy first")
        event.add("summary", f"Infusion appointment at {clinic.name}")
        if clinic.address:
            event.add("location", clinic.address)
        event.add("description", (
            f"Chair time includes preparation and recovery. Come fasting as the clinic told you, with a responsible "
            f"adult to take you home. No driving and no duty shift within {no_duty_window_h:g} hours after the "
            f"infusion. Clinic phone: {clinic.phone or 'see your clinic letter'}."))
        event.add("status", "CANCELLED" if session.status == Step.ABORTED.value else "CONFIRMED")
        event.add("transp", "OPAQUE")
        event.add("last-modified", session.updated_at or now)
        calendar.add_component(event)
    return calendar.to_ical()
