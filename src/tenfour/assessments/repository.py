"""Every query of the assessments domain."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from tenfour.assessments.models import Assessment
from tenfour.db import remember

_NEWER = aliased(Assessment)  # built once: aliasing a mapped class per call costs more than the query's SQL


def by_id(db: Session, assessment_id: int) -> Assessment | None:
    return db.get(Assessment, assessment_id)


def for_patient(db: Session, patient_id: int, instrument_ids: Iterable[str] | None = None,
                current_only: bool = False) -> list[Assessment]:
    if instrument_ids is None and not current_only:  # every row: the chart's intake and scores panels share it
        return list(remember(db, ("assessments", patient_id), lambda: _for_patient(db, patient_id, None, False)))
    return _for_patient(db, patient_id, instrument_ids, current_only)


def _for_patient(db: Session, patient_id: int, instrument_ids: Iterable[str] | None,
                 current_only: bool) -> list[Assessment]:
    stmt = select(Assessment).where(Assessment.patient_id == patient_id)
    if instrument_ids is not None:
        stmt = stmt.where(Assessment.instrument_id.in_(list(instrument_ids)))
    if current_only:
        stmt = stmt.where(~exists().where(_NEWER.supersedes_id == Assessment.id))
    return list(db.scalars(stmt.order_by(Assessment.administered_at, Assessment.id)))


def superseded_ids(db: Session, patient_id: int) -> set[int]:
    stmt = select(Assessment.supersedes_id).where(Assessment.patient_id == patient_id,
                                                  Assessment.supersedes_id.is_not(None))
    return {row for row in db.scalars(stmt) if row is not None}


def is_superseded(db: Session, assessment_id: int) -> bool:
    return db.scalar(select(exists().where(Assessment.supersedes_id == assessment_id))) or False
