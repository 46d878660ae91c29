"""The audit log: append-only. Nothing in the application updates or deletes an entry.

The database enforces it too: triggers (see the first migration) refuse UPDATE and DELETE.
Ids are kept as plain numbers, not foreign keys, so the trail outlives a deleted record.

Tamper evidence (``audit.chain``): every entry has a link in ``audit_chain`` — its position, the previous link's
hash and its own SHA-256 over its fields and that previous hash — written when its transaction commits. The single
``audit_chain_head`` row names the last link; locking it serialises the appends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_clinic_at", "clinic_id", "at"),
        Index("ix_audit_events_patient_at", "patient_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str] = mapped_column(String(300))  # who, readable even if the account is later removed
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)  # e.g. patient.view, patient.update
    clinic_id: Mapped[int | None] = mapped_column()
    patient_id: Mapped[int | None] = mapped_column()
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(40))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class AuditChainLink(Base):
    """One entry's place in the hash chain. Append-only like the entries (the same triggers)."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # 1, 2, 3, ... no gaps
    event_id: Mapped[int] = mapped_column(unique=True)  # audit_events.id; no foreign key, like the entries' own ids
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last link of the chain (one row, id 1). Appenders lock it, so the chain never forks."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
