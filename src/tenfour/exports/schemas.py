"""JSON shapes of the research files prepared in the background."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ExportFileOut(BaseModel):
    """A research file asked for: its state, and when ready its counts and where to download it."""

    id: int
    status: str = Field(description="queued, running, ready, failed, expired (content deleted) or stopped (its job "
                                    "was lost: ask again)")
    clinics: list[str] = Field(description="Slugs of the clinics the file covers")
    created_at: datetime
    finished_at: datetime | None = None
    expires_at: datetime
    filename: str | None = None
    patients: int | None = None
    rows: int | None = None
    withheld_no_consent: int | None = None
    withheld_small_cells: int | None = None
    suppressed_patients: int | None = None
    min_cell_size: int | None = None
    error: str | None = Field(default=None, description="Why it failed (no patient data)")
    download_url: str | None = Field(default=None, description="Set when ready: GET it for the CSV (audited)")
