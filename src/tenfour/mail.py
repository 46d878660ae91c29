"""Email through a real SMTP server, via an outbox table so nothing is sent for a transaction that rolls back.

Services call `enqueue()` (it only adds a row). After the request or job commits, `deliver_pending()` sends
what is waiting; a failure leaves the message in the outbox for the next attempt (the periodic sweep and
`tenfour mail send` retry). Bodies carry links, never scores or clinical details.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from tenfour.config import Settings
from tenfour.db import Base, UTCDateTime, utcnow

log = logging.getLogger("tenfour.mail")
MAX_ATTEMPTS = 8
OUTBOX_FLAG = "tenfour_outbox_dirty"


class OutboxMessage(Base):
    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_pending", "sent_at", "attempts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(40))  # invitation, checkin_reminder, escalation, ...
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


def enqueue(db: Session, *, to: str, subject: str, body: str, purpose: str, patient_id: int | None = None
            ) -> OutboxMessage:
    message = OutboxMessage(to_address=to, subject=subject[:200], body=body, purpose=purpose, patient_id=patient_id)
    db.add(message)
    db.flush()
    from tenfour.jobs.queue import defer, uses_queue

    if uses_queue(db):  # a job worker sends it once this transaction commits
        defer(db, "deliver_mail", queueing_lock="deliver_mail")
    else:  # sent by this process right after the commit (web/deps.py, db.session_scope)
        db.info[OUTBOX_FLAG] = True
    return message


def _send(settings: Settings, message: OutboxMessage) -> None:
    email = EmailMessage()
    email["From"] = settings.smtp_sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    if settings.mail_backend == "file":
        folder = settings.data_dir / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{message.id:06d}.eml").write_bytes(bytes(email))
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(email)


def deliver_pending(factory: sessionmaker[Session], settings: Settings, limit: int = 100) -> tuple[int, int]:
    """Send waiting messages; (sent, failed). Each message commits on its own, so one failure blocks nothing."""
    sent = failed = 0
    with factory() as db:
        ids = list(db.scalars(select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None),
                                                             OutboxMessage.attempts < MAX_ATTEMPTS)
                              .order_by(OutboxMessage.id).limit(limit)))
    for message_id in ids:
        with factory() as db:
            message = db.get(OutboxMessage, message_id, with_for_update={"skip_locked": True})
            if message is None or message.sent_at is not None:
                continue
            message.attempts += 1
            try:
                _send(settings, message)
            except (OSError, smtplib.SMTPException) as error:
                message.last_error = f"{type(error).__name__}: {error}"[:500]
                failed += 1
                log.warning("email %s not sent (attempt %s): %s", message.id, message.attempts, type(error).__name__)
            else:
                message.sent_at = utcnow()
                sent += 1
            db.commit()
    return sent, failed
