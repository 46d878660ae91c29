"""Emailing check-in reminders: a single-use, expiring link that opens the check-in on a phone, sent at the hour
the patient chose, never at night and never while they are on a duty shift (``core.reminders``). Never commits.

Only patients with an account and an email address get reminders (the link signs them in for that one check-in and
nothing else); others check in with the clinic by phone. The email carries the link, never a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour import mail
from tenfour.audit.service import record
from tenfour.checkins import repository
from tenfour.checkins.models import CheckIn, CheckinCourse, CheckinReminder
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import reminders as core
from tenfour.core import rosters
from tenfour.core.errors import CoreError
from tenfour.links import service as links
from tenfour.patients.models import Patient
from tenfour.patients.rosters import roster_for

LINK_PURPOSE = "checkin"
SUBJECT = "Your check-in is ready"


@dataclass
class ReminderCounts:
    sent: int = 0
    waiting: dict[str, int] = field(default_factory=dict)  # Wait reason (or no_account / turned_off) -> count

    def wait(self, reason: str) -> None:
        self.waiting[reason] = self.waiting.get(reason, 0) + 1


def on_duty(patient: Patient, clinic_tz: str, at: datetime) -> bool:
    """Is the patient on a duty shift now, by their roster? Unknown (no usable roster) counts as off duty."""
    roster = roster_for(patient, clinic_tz)
    if roster is None:
        return False
    try:
        return rosters.is_on_duty(roster, at)
    except CoreError:
        return False


def reminder_email(clinic: Clinic, url: str, until: str) -> str:
    """A link and how long it works. Never a score, a diagnosis or a word about the treatment."""
    call = f" on {clinic.phone}" if clinic.phone else ""
    return (
        "Hello,\n\n"
        f"Your check-in with {clinic.name} is ready. It takes about four minutes on your phone:\n\n"
        f"{url}\n\n"
        f"The link works once, until {until}. You can also sign in to TenFour and check in from your page.\n\n"
        f"If you are struggling right now, call or text 988 any time, or call the clinic{call}. "
        "In danger now: call 911.\n\n"
        "To change the hour of these emails, sign in and open 'My check-ins'.\n\n"
        "TenFour (this email is automatic; please do not reply)\n"
    )


def send_due(db: Session, ctx: Ctx, course_ids: Sequence[int], now: datetime, policy: core.ReminderPolicy,
             clinic: Clinic, base_url: str) -> ReminderCounts:
    """Send every reminder that may go out now for these courses of one clinic."""
    counts = ReminderCounts()
    until = (now + timedelta(days=1)).date()  # the latest local 'today' anywhere
    candidates = repository.due_unreminded(db, course_ids, until)
    if not candidates:
        return counts
    courses = {c.id: c for c in repository.courses_by_ids(db, [c.course_id for c, _ in candidates])}
    due: dict[int, tuple[CheckIn, int]] = {}  # per course, the latest check-in due by the patient's own today
    for checkin, n_sent in candidates:
        if checkin.due_on <= now.astimezone(ZoneInfo(courses[checkin.course_id].timezone)).date():
            due.setdefault(checkin.course_id, (checkin, n_sent))
    patients = {p.id: p for p in repository.patients_by_ids(db, [c.patient_id for c, _ in due.values()])}
    prefs = repository.preferences_for(db, list(patients))
    for checkin, n_sent in due.values():
        patient, course = patients[checkin.patient_id], courses[checkin.course_id]
        pref = prefs.get(patient.id)
        if patient.user_id is None or not patient.email:
            counts.wait("no_account")
            continue
        if pref is not None and not pref.reminders_enabled:
            counts.wait("turned_off")
            continue
        sent_at = [r.sent_at for r in repository.reminders_for(db, checkin.id)] if n_sent else []
        wait = core.reminder_wait(now, ZoneInfo(course.timezone), checkin.due_on,
                                  pref.reminder_hour if pref else None, sent_at,
                                  on_duty(patient, clinic.timezone, now), policy)
        if wait is not None:
            counts.wait(wait.value)
            continue
        if send(db, ctx, checkin, course, patient, clinic, now, policy, base_url):
            counts.sent += 1
    return counts


def send(db: Session, ctx: Ctx, checkin: CheckIn, course: CheckinCourse, patient: Patient, clinic: Clinic,
         now: datetime, policy: core.ReminderPolicy, base_url: str) -> CheckinReminder | None:
    """One reminder: a new link (older ones stop working), the email, the log. None if another sweep just sent it."""
    locked = repository.checkin(db, checkin.id, for_update=True)
    if locked is None or locked.status != "pending":
        return None
    earlier = repository.reminders_for(db, checkin.id)
    if any(r.sent_at.astimezone(ZoneInfo(course.timezone)).date() >= now.astimezone(ZoneInfo(course.timezone)).date()
           for r in earlier):
        return None
    token, link = links.issue(db, purpose=LINK_PURPOSE, ttl=timedelta(hours=policy.link_ttl_h), patient_id=patient.id,
                              payload={"checkin_id": checkin.id}, revoke_previous=True)
    until = link.expires_at.astimezone(ZoneInfo(course.timezone)).strftime("%A %d %B, %H:%M")
    message = mail.enqueue(db, to=patient.email or "", subject=SUBJECT, purpose="checkin_reminder",
                           patient_id=patient.id,
                           body=reminder_email(clinic, f"{base_url.rstrip('/')}/checkin/{token}", until))
    reminder = CheckinReminder(checkin_id=checkin.id, patient_id=patient.id, sent_at=now, link_id=link.id,
                               outbox_id=message.id)
    db.add(reminder)
    db.flush()
    record(db, ctx.actor, "checkin.reminder", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="checkin", record_id=checkin.id, detail={"link": link.id, "reminder": len(earlier) + 1})
    return reminder
