"""The file mail backend (used by the served demo): each message becomes an .eml file, marked sent."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from tenfour import mail
from tenfour.config import Settings


def test_file_backend_writes_each_message_and_marks_it_sent(engine: Engine, tmp_path: Path) -> None:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as db:
        message = mail.enqueue(db, to="someone@example.com", subject="Your check-in is ready",
                               body="Open https://clinic.example/checkin/abc", purpose="test-file-backend")
        db.commit()
        message_id = message.id
    settings = Settings(data_dir=tmp_path, mail_backend="file")
    try:
        sent, failed = mail.deliver_pending(factory, settings)
        assert failed == 0 and sent >= 1
        written = tmp_path / "mail" / f"{message_id:06d}.eml"
        parsed = message_from_bytes(written.read_bytes())
        assert parsed["To"] == "someone@example.com"
        assert parsed["Subject"] == "Your check-in is ready"
        assert "https://clinic.example/checkin/abc" in parsed.get_payload(decode=True).decode()
        with factory() as db:
            assert db.get(mail.OutboxMessage, message_id).sent_at is not None
    finally:
        with factory() as db:
            db.query(mail.OutboxMessage).filter(mail.OutboxMessage.id == message_id).delete()
            db.commit()
