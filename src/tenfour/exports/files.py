"""The research export prepared in the background (issue 10): at network scale building the de-identified CSV takes
far longer than a request may, so the page asks for it (a row, and the ``render_export`` job deferred in the same
transaction), the job builds it from the analytics database (the read replica when there is one) and stores it, and
the page offers the download when it is ready.

Who sees a file: anyone with ``data.export`` whose clinics include every clinic the file covers — the requester, and
the other exporters of those clinics (a manager and an administrator of a clinic can each export the same data
themselves; seeing each other's files saves a second long job). Anything else answers 404, as a missing file does.
Every download is audited, like the file built on the spot.

Services never commit; ``render`` is the job's body and has its own commit points (``session_scope``).
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tenfour.accounts import service as accounts
from tenfour.audit.service import Actor, record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.config import Settings
from tenfour.context import Ctx
from tenfour.db import analytics_session_factory, session_scope, utcnow
from tenfour.errors import Conflict, NotFound, TenFourError
from tenfour.exports import repository, service
from tenfour.exports.models import ExportFile, ExportStatus
from tenfour.jobs import defer

log = logging.getLogger("tenfour.exports")

# Product choice, not a clinical or legal rule: a prepared file is kept a week (long enough to download it after a
# weekend; short enough that copies of research data do not pile up on the server). Change it here.
FILE_DAYS = 7
# A file claimed by a job that has not finished in this long is taken to be lost (the worker or server stopped): a
# second run of its job may claim it again, and the page offers to prepare it again.
STALE_AFTER = timedelta(hours=1)
LIST_DAYS = 30  # the page lists the files asked for in the last 30 days
LIST_LIMIT = 20
CHUNK_BYTES = 256 * 1024
FAILED_MESSAGE = ("The file could not be prepared ({kind}). Prepare it again; if it fails again, tell your "
                  "administrator (the server log has the details).")


class FileExpired(TenFourError):
    """A prepared file past its expiry: its content has been (or is about to be) deleted."""

    status_code = 410


def _visible(ctx: Ctx, export: ExportFile) -> bool:
    principal = ctx.principal
    return principal is not None and principal.is_staff and set(export.clinic_ids) <= set(principal.clinic_ids)


def request_file(db: Session, ctx: Ctx, clinic_slug: str | None = None) -> ExportFile:
    """Ask for the de-identified CSV of the reader's clinics (or the one named; 422 naming ``clinic`` otherwise):
    the row, and its job deferred in this transaction. Audited (who asked, for which clinics). While a file of the
    same clinics is being prepared, that one is the answer (a second click does not start a second long job)."""
    accounts.require_recent_sign_in(db, ctx)
    assert ctx.principal is not None
    clinics = service.clinics_in_scope(db, ctx, clinic_slug)
    now = utcnow()
    wanted = sorted(c.id for c in clinics)
    busy = (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value)
    for pending in repository.recent(db, now - STALE_AFTER):
        if pending.clinic_ids == wanted and pending.status in busy and not is_stale(pending, now):
            return pending
    export = ExportFile(requested_by=ctx.principal.user.id, clinic_ids=wanted,
                        status=ExportStatus.QUEUED.value, created_at=now, expires_at=now + timedelta(days=FILE_DAYS))
    db.add(export)
    db.flush()
    defer(db, "render_export", queueing_lock=f"render_export:{export.id}", export_id=export.id)
    record(db, ctx.actor, "export.deidentified_requested", clinic_id=clinics[0].id if len(clinics) == 1 else None,
           record_type="export_file", record_id=export.id, detail={"clinics": [c.slug for c in clinics]})
    return export


def get_file(db: Session, ctx: Ctx, export_id: int) -> ExportFile:
    """A file the reader may see (module doc); 404 otherwise, worded as for a file that does not exist."""
    export = repository.by_id(db, export_id)
    if export is None or not _visible(ctx, export):
        raise NotFound("There is no such export file in your clinics.")
    return export


def is_stale(export: ExportFile, now: datetime) -> bool:
    """Waiting or being prepared for longer than a job can take: its job was lost (a server restart)."""
    since = export.started_at or export.created_at
    return export.status in (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value) and since < now - STALE_AFTER


def is_expired(export: ExportFile, now: datetime) -> bool:
    return export.expires_at <= now or export.purged_at is not None


def visible_files(db: Session, ctx: Ctx) -> list[ExportFile]:
    """The files of the last ``LIST_DAYS`` days the reader may see, newest first (at most ``LIST_LIMIT``)."""
    files = [f for f in repository.recent(db, utcnow() - timedelta(days=LIST_DAYS)) if _visible(ctx, f)]
    return files[:LIST_LIMIT]


def download(db: Session, ctx: Ctx, export_id: int) -> tuple[ExportFile, Iterator[bytes]]:
    """A ready file's CSV, decompressed as it is sent (the file as the synchronous export writes it). 404 for a file
    the reader may not see; 409 while it is not ready; 410 once expired. Audited with the file's counts."""
    accounts.require_recent_sign_in(db, ctx)
    export = get_file(db, ctx, export_id)
    now = utcnow()
    if export.status != ExportStatus.READY.value:
        raise Conflict("This export is not ready: " + ("it failed; prepare it again." if export.status ==
                                                       ExportStatus.FAILED.value else "it is still being prepared."))
    if is_expired(export, now) or export.content is None:
        raise FileExpired(f"This export expired on {export.expires_at:%Y-%m-%d} and its file was deleted (files are "
                          f"kept {FILE_DAYS} days). Prepare a new one on the research export page.")
    clinics = clinics_repository.list_clinics(db, frozenset(export.clinic_ids))
    detail = {**service.audit_detail(clinics, export), "file_id": export.id,
              "prepared_at": export.finished_at.isoformat() if export.finished_at else None}
    record(db, ctx.actor, "export.deidentified_csv", clinic_id=clinics[0].id if len(clinics) == 1 else None,
           record_type="export_file", record_id=export.id, detail=detail)
    return export, _decompressed(export.content)


def _decompressed(content: bytes) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits=31)  # gzip
    view = memoryview(content)
    for start in range(0, len(content), CHUNK_BYTES):
        chunk = inflater.decompress(view[start:start + CHUNK_BYTES])
        if chunk:
            yield chunk
    tail = inflater.flush()
    if tail:
        yield tail


def clinics_of(db: Session, files: list[ExportFile]) -> dict[int, Clinic]:
    ids = frozenset(i for f in files for i in f.clinic_ids)
    return {c.id: c for c in clinics_repository.list_clinics(db, ids)} if ids else {}


# --- The job ---------------------------------------------------------------------------------------------------


def render(factory: sessionmaker[Session], settings: Settings, export_id: int) -> dict[str, object]:
    """Prepare one file: claim it (a file already claimed, finished or gone is left alone), build the CSV from the
    analytics database, store it gzip-compressed through the primary. A failure marks the file ``failed`` with a
    message for the requester (the details go to the log, without PHI). Deletes expired files' content on the way."""
    now = utcnow()
    with session_scope(factory, settings) as db:
        purged = repository.purge_expired(db, now)
        claimed = repository.claim(db, export_id, now, stale_before=now - STALE_AFTER)
        clinic_ids = list(claimed.clinic_ids) if claimed else []
        # Consent as it stands now, from the primary: a replica behind it must not export a patient who has just
        # withdrawn their consent.
        consenting = service.consenting_ids(db, clinic_ids) if claimed else set()
    if claimed is None:
        return {"state": "not_needed", "purged": purged}
    try:
        content, size, counts, names, filename = _build_anywhere(factory, settings, clinic_ids, consenting)
    except Exception as error:  # noqa: BLE001 - recorded on the file; the requester sees it and may try again
        log.exception("research export failed", extra={"job": "render_export", "outcome": "failed"})
        with session_scope(factory, settings) as db:
            mine = repository.still_mine(db, export_id, now)
            if mine is not None:
                mine.status, mine.finished_at = ExportStatus.FAILED.value, utcnow()
                mine.error = FAILED_MESSAGE.format(kind=type(error).__name__)[:300]
        return {"state": "failed", "purged": purged}
    with session_scope(factory, settings) as db:
        mine = repository.still_mine(db, export_id, now)
        if mine is None:  # taken over as stale by another run, which stores its own
            return {"state": "not_needed", "purged": purged}
        finished = utcnow()
        mine.status, mine.finished_at, mine.expires_at = ExportStatus.READY.value, finished, finished + timedelta(
            days=FILE_DAYS)
        mine.filename, mine.content, mine.content_bytes = filename, content, size
        for name, value in counts.items():
            setattr(mine, name, value)
        record(db, Actor.system("job:render_export"), "export.deidentified_prepared",
               record_type="export_file", record_id=export_id, detail={"clinics": names, **counts})
    return {"state": "ready", "purged": purged, "rows": counts["rows"]}


def _build_anywhere(factory: sessionmaker[Session], settings: Settings, clinic_ids: list[int], consenting: set[int]
                    ) -> tuple[bytes, int, dict[str, int], list[str], str]:
    """Build on the analytics database (the replica when one is set); when it cannot be reached or breaks off, on
    the primary (the file is still prepared, as the dashboard is still shown; the log says so)."""
    reader = analytics_session_factory(settings, factory)
    try:
        return _build(reader, clinic_ids, consenting)
    except OperationalError as error:
        if reader is factory:
            raise
        log.warning("analytics database unavailable (%s): the export reads the primary", type(error).__name__)
        return _build(factory, clinic_ids, consenting)


def _build(reader: sessionmaker[Session], clinic_ids: list[int], consenting: set[int]
           ) -> tuple[bytes, int, dict[str, int], list[str], str]:
    """Read and de-identify on the analytics session (read only: it is rolled back), then compress. ``consenting``:
    the patients whose research consent stands (read from the primary)."""
    with reader() as db:
        clinics = clinics_repository.list_clinics(db, frozenset(clinic_ids))
        if len(clinics) != len(clinic_ids):
            raise LookupError("a clinic of the export no longer exists")
        result, no_consent = service.deidentified_rows(db, clinics, consenting)
        names, filename = [c.slug for c in clinics], service.filename_for(clinics)
        db.rollback()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
        text = io.TextIOWrapper(compressed, encoding="utf-8", newline="")
        counter = _Counting(text)
        service.write_csv(result.rows, counter)  # type: ignore[arg-type]
        text.flush()
        text.detach()
    counts = {"patients": result.patients, "rows": len(result.rows), "withheld_no_consent": no_consent,
              "withheld_small_cells": result.withheld_small_cells,
              "suppressed_patients": result.suppressed_patients, "min_cell_size": result.min_cell_size}
    return buffer.getvalue(), counter.size, counts, names, filename


class _Counting:
    """A text stream that counts the UTF-8 bytes written through it (the file's size, shown on the page)."""

    def __init__(self, stream: io.TextIOWrapper) -> None:
        self.stream, self.size = stream, 0

    def write(self, text: str) -> int:
        self.size += len(text.encode("utf-8"))
        return self.stream.write(text)
