"""Clinics: where patients are treated, with their hours, chairs and policy overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenfour.db import Base, JSONType, UTCDateTime, utcnow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["08:00", "18:00"]], ..., "sun": []}: local opening intervals per weekday.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    # Extra crisis lines shown to this clinic's patients, one per line: "Name | phone | note".
    crisis_lines: Mapped[str | None] = mapped_column(String(2000))
    # Staff emailed when an urgent alert is not acknowledged in time, comma-separated.
    on_call_emails: Mapped[str | None] = mapped_column(String(1000))
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chairs: Mapped[list[Chair]] = relationship(
        back_populates="clinic", order_by="Chair.position", cascade="all, delete-orphan"
    )
    policy_values: Mapped[list[ClinicPolicyValue]] = relationship(
        back_populates="clinic", cascade="all, delete-orphan"
    )


class Chair(Base):
    __tablename__ = "chairs"
    __table_args__ = (UniqueConstraint("clinic_id", "name", name="uq_chairs_clinic_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    clinic: Mapped[Clinic] = relationship(back_populates="chairs")


class ClinicPolicyValue(Base):
    """A clinic's override of one policy setting (absent = the default from core.policy)."""

    __tablename__ = "clinic_policy_values"
    __table_args__ = (UniqueConstraint("clinic_id", "key", name="uq_clinic_policy_values_clinic_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    clinic: Mapped[Clinic] = relationship(back_populates="policy_values")
