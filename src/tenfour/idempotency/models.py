"""Idempotency keys: a retried submission (same key, same principal, same route) is stored once and gets the answer
the first one got. One row per key, written in the same transaction as the submission it guards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenfour.db import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("principal", "route", "key", name="uq_idempotency_keys_principal_route_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(100))  # user:12, link:<hash of the link>, or anonymous
    route: Mapped[str] = mapped_column(String(200))  # method and path template: POST /api/v1/referrals
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the path parameters, query and body
    response_status: Mapped[int | None] = mapped_column()  # set before the transaction commits
    response_body: Mapped[str | None] = mapped_column(Text)  # the JSON answer (API), byte for byte as it was sent
    response_location: Mapped[str | None] = mapped_column(String(2000))  # the redirect (pages)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
