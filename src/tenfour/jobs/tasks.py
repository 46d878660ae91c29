"""What the background jobs do. Each task is a plain function of (session factory, settings, **arguments) with its
own commit point, and safe to run twice: the work it does claims its rows (an alert is escalated once, an email
sent once), so a retried or duplicated job changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tenfour.config import Settings

log = logging.getLogger("tenfour.jobs")
Task = Callable[..., dict[str, Any]]


def escalate_alert(factory: sessionmaker[Session], settings: Settings, *, alert_id: int) -> dict[str, Any]:
    """At an urgent alert's acknowledgement deadline: email the on-call list unless someone gave it a 10-4."""
    from tenfour.alerts import service as alerts
    from tenfour.checkins import clock
    from tenfour.context import Ctx
    from tenfour.db import session_scope
    from tenfour.jobs.queue import defer

    with session_scope(factory, settings) as db:
        now = clock.now()  # the sweep's clock: both escalate on the same time
        outcome = alerts.escalate_one(db, Ctx.system("job:escalate_alert"), alert_id, now, settings.base_url)
        if outcome.due_at is not None:  # ran early (clock skew, policy lengthened since): come back at the deadline
            defer(db, "escalate_alert", run_at=outcome.due_at + timedelta(seconds=1), alert_id=alert_id)
    log.info("escalation job finished", extra={"job": "escalate_alert", "outcome": outcome.state})
    return {"state": outcome.state}


def deliver_mail(factory: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    """Send what the outbox holds (after the commit that queued it; failures stay queued for the sweep)."""
    from tenfour.mail import deliver_pending

    sent, failed = deliver_pending(factory, settings, limit=1000)
    return {"sent": sent, "failed": failed}


def sweep(factory: sessionmaker[Session], settings: Settings, *, full: bool) -> dict[str, Any]:
    """The periodic sweep (check-ins, relapse, reminders, escalation safety net, email); the full one also deletes
    the content of expired research export files."""
    from tenfour.checkins import sweep as sweeping

    summary = sweeping.run(factory, settings, full=full, trigger="job")
    purged = purge_expired_exports(factory, settings) if full else 0
    return {"full": full, "skipped": summary.skipped, **{k: v for k, v in summary.counts.items()},
            "export_files_purged": purged}


def purge_expired_exports(factory: sessionmaker[Session], settings: Settings) -> int:
    """Delete the content of research export files past their expiry (the worker's and the server timer's full
    sweep; the next export job does it too)."""
    from tenfour.db import session_scope, utcnow
    from tenfour.exports import repository

    with session_scope(factory, settings) as db:
        return repository.purge_expired(db, utcnow())


def render_export(factory: sessionmaker[Session], settings: Settings, *, export_id: int) -> dict[str, Any]:
    """Prepare a de-identified research file asked for on the export page (``exports.files.render``): claims the
    waiting file, so a second run of the same job, or one for a finished file, changes nothing."""
    from tenfour.exports import files

    result = files.render(factory, settings, export_id)
    log.info("export job finished", extra={"job": "render_export", "outcome": result["state"]})
    return result


TASKS: dict[str, Task] = {
    "escalate_alert": escalate_alert,
    "deliver_mail": deliver_mail,
    "sweep": sweep,
    "render_export": render_export,
}
