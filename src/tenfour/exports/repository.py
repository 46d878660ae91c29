"""Queries of the prepared research files (``export_files``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from tenfour.exports.models import ExportFile, ExportStatus


def by_id(db: Session, export_id: int) -> ExportFile | None:
    return db.get(ExportFile, export_id)


def recent(db: Session, since: datetime, limit: int = 500) -> list[ExportFile]:
    """Files asked for since ``since``, newest first, without their content."""
    return list(db.scalars(select(ExportFile).where(ExportFile.created_at >= since)
                           .order_by(ExportFile.created_at.desc(), ExportFile.id.desc()).limit(limit)))


def claim(db: Session, export_id: int, now: datetime, stale_before: datetime) -> ExportFile | None:
    """Mark the file as being prepared, if it is waiting (or was claimed before ``stale_before`` by a job that never
    finished). One UPDATE, so of two jobs for the same file only one gets it; the other gets None."""
    claimable = or_(ExportFile.status == ExportStatus.QUEUED.value,
                    and_(ExportFile.status == ExportStatus.RUNNING.value, ExportFile.started_at < stale_before))
    result = db.execute(update(ExportFile).where(ExportFile.id == export_id, claimable)
                        .values(status=ExportStatus.RUNNING.value, started_at=now)
                        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    db.expire_all()
    return db.get(ExportFile, export_id)


def still_mine(db: Session, export_id: int, started_at: datetime) -> ExportFile | None:
    """The file, if this job's claim still holds (no later job took it over as stale), locked for the update."""
    return db.scalar(select(ExportFile).where(ExportFile.id == export_id,
                                              ExportFile.status == ExportStatus.RUNNING.value,
                                              ExportFile.started_at == started_at).with_for_update())


def purge_expired(db: Session, now: datetime) -> int:
    """Delete the content of every file past its expiry (the row stays). Returns how many were emptied."""
    result = db.execute(update(ExportFile).where(ExportFile.expires_at <= now, ExportFile.purged_at.is_(None))
                        .values(content=None, purged_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def requester_names(db: Session, user_ids: set[int]) -> dict[int, str]:
    from tenfour.accounts.models import User

    if not user_ids:
        return {}
    return {user_id: name for user_id, name in db.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))}
