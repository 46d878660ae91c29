"""Research exports prepared by a background job (issue 10: report rendering on a real queue).

A row is made when an exporter asks for the file (status ``queued``, with the clinics it covers, resolved from their
scope at that moment); the ``render_export`` job claims it (``running``), builds the de-identified CSV from the
analytics database and stores it gzip-compressed (``ready``), or records why it could not (``failed``, a message
without PHI). The file is de-identified, but still research data under a data use agreement: it is kept for
``FILE_DAYS`` days and then emptied (the row stays, as a record that it existed; every download is in the audit log).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from tenfour.db import Base, JSONType, UTCDateTime, utcnow


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class ExportFile(Base):
    __tablename__ = "export_files"
    __table_args__ = (Index("ix_export_files_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The clinics the file covers (their ids), fixed when it was asked for: the requester's clinics, or the one chosen.
    clinic_ids: Mapped[list[int]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.QUEUED.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # claimed by a job
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # its content is deleted after this
    filename: Mapped[str | None] = mapped_column(String(120))
    # The CSV, gzip-compressed (a network-wide file is hundreds of MB as text). Never loaded with the row's listing.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    content_bytes: Mapped[int | None] = mapped_column()  # the CSV's size uncompressed
    patients: Mapped[int | None] = mapped_column()
    rows: Mapped[int | None] = mapped_column()
    withheld_no_consent: Mapped[int | None] = mapped_column()
    withheld_small_cells: Mapped[int | None] = mapped_column()
    suppressed_patients: Mapped[int | None] = mapped_column()
    min_cell_size: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(300))  # why it failed, for the requester; never PHI
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the expired content was deleted
