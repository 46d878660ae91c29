"""Use cases of exports: the de-identified research CSV of the reader's clinics, and one patient's record as a FHIR R4
Bundle. Both are audited with what they contained. Never commits.

The research export holds only patients with an active consent to the use of their de-identified data for research
(consent ``research_deidentified``); the others are counted, not exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tenfour.assessments.models import Assessment
from tenfour.audit.service import record
from tenfour.checkins.models import CheckIn
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.db import utcnow
from tenfour.errors import Forbidden, ValidationFailed
from tenfour.exports import deidentify
from tenfour.exports.deidentify import Event, PatientRecord
from tenfour.infusions.models import InfusionAdverseEvent, InfusionDose, InfusionSession
from tenfour.patients.models import ConsentKind, Patient, PatientConsent

CHUNK = 500  # patients per query round (IN lists stay small on every database)
RESEARCH = ConsentKind.RESEARCH_DEIDENTIFIED.value


@dataclass
class CsvExport:
    content: str
    clinics: list[Clinic]
    patients: int
    rows: int
    withheld_no_consent: int
    withheld_small_cells: int
    suppressed_patients: int
    min_cell_size: int

    @property
    def filename(self) -> str:
        return filename_for(self.clinics)


def filename_for(clinics: list[Clinic]) -> str:
    names = clinics[0].slug if len(clinics) == 1 else "clinics"
    return f"tenfour-deidentified-{names}-{utcnow():%Y%m%d}.csv"


def clinics_in_scope(db: Session, ctx: Ctx, slug: str | None) -> list[Clinic]:
    """The reader's clinics, or the one named (422 naming ``clinic`` for a clinic they do not work in)."""
    assert ctx.principal is not None
    if not ctx.principal.is_staff:
        raise Forbidden("Exports are for clinic staff.")
    mine = clinics_repository.list_clinics(db, ctx.principal.clinic_ids)
    if slug:
        chosen = [c for c in mine if c.slug == slug]
        if not chosen:
            raise ValidationFailed.single("clinic", "membership", f"you do not work in a clinic named '{slug}'")
        return chosen
    if not mine:
        raise Forbidden("Your account does not belong to a clinic yet. Ask an administrator.")
    return mine


def _consented(patient: Patient) -> bool:
    return any(c.kind == RESEARCH and c.withdrawn_at is None for c in patient.consents)


def _chunks(items: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _local_day(value: Any, zones: dict[int, ZoneInfo], clinic_id: int) -> date:
    return value.astimezone(zones[clinic_id]).date()


def _records(db: Session, patients: list[Patient], zones: dict[int, ZoneInfo]) -> list[PatientRecord]:
    """Every dated fact of the patients, read in a few queries per chunk (not per patient)."""
    by_id = {p.id: PatientRecord(p.id, p.clinic_id, p.responder_role, p.sex, p.date_of_birth, None) for p in patients}
    clinic_of = {p.id: p.clinic_id for p in patients}
    for ids in _chunks(list(by_id)):
        sessions = list(db.scalars(select(InfusionSession).where(InfusionSession.patient_id.in_(ids))))
        doses = {d.session_id: d for d in db.scalars(select(InfusionDose).where(
            InfusionDose.session_id.in_([s.id for s in sessions]), InfusionDose.superseded_at.is_(None)))}
        for session in sessions:
            if session.infusion_started_at is None:
                continue
            day = _local_day(session.infusion_started_at, zones, session.clinic_id)
            target = by_id[session.patient_id]
            target.first_infusion = min(day, target.first_infusion or day)
            dose = doses.get(session.id)
            target.events.append(Event(day, "infusion", "ketamine_iv", "infusion",
                                       str(dose.dose_mg_per_kg) if dose else "",
                                       "stopped_early" if session.stopped_early else session.status))
        session_patient = {s.id: s.patient_id for s in sessions}
        for event in db.scalars(select(InfusionAdverseEvent).where(
                InfusionAdverseEvent.session_id.in_(list(session_patient)))):
            patient_id = session_patient[event.session_id]
            by_id[patient_id].events.append(Event(_local_day(event.onset_at, zones, clinic_of[patient_id]),
                                                  "adverse_event", event.event_type, "infusion", "",
                                                  f"{event.severity}/{event.outcome}"))
        superseded = set(db.scalars(select(Assessment.supersedes_id).where(Assessment.patient_id.in_(ids),
                                                                           Assessment.supersedes_id.is_not(None))))
        for row in db.scalars(select(Assessment).where(Assessment.patient_id.in_(ids))):
            if row.id in superseded:
                continue
            by_id[row.patient_id].events.append(Event(
                _local_day(row.administered_at, zones, row.clinic_id), "assessment", row.instrument_id, row.context,
                "" if row.total is None else str(row.total), row.risk_level or row.band or ""))
        for missed in db.scalars(select(CheckIn).where(CheckIn.patient_id.in_(ids),
                                                       CheckIn.status == CheckInStatus.MISSED.value)):
            by_id[missed.patient_id].events.append(Event(missed.due_on, "checkin_missed", missed.kind, "checkin"))
    return list(by_id.values())


def consenting_ids(db: Session, clinic_ids: Iterable[int]) -> set[int]:
    """The patients of these clinics whose research consent stands (read on the primary by the export job)."""
    stmt = (select(PatientConsent.patient_id).join(Patient, Patient.id == PatientConsent.patient_id)
            .where(Patient.clinic_id.in_(list(clinic_ids)), PatientConsent.kind == RESEARCH,
                   PatientConsent.withdrawn_at.is_(None)))
    return set(db.scalars(stmt))  # ids only: the records themselves are read where the file is built


def deidentified_rows(db: Session, clinics: list[Clinic], consent: set[int] | None = None
                      ) -> tuple[deidentify.Export, int]:
    """The de-identified rows of ``clinics`` (consenting patients only, dates shifted per patient, small cells
    suppressed at the strictest ``export.min_cell_size`` of the clinics) and how many patients were left out for want
    of consent. Reads only: the background job runs it on the analytics database (``exports.files``), with
    ``consent`` (the patients whose research consent stands) read on the primary, so that a replica behind it cannot
    export a patient who has withdrawn. A patient must consent in both to be exported."""
    zones = {c.id: ZoneInfo(c.timezone) for c in clinics}
    min_cell = max(int(effective_policy(db, c.id)["export.min_cell_size"]) for c in clinics)
    everyone = list(db.scalars(select(Patient).where(Patient.clinic_id.in_(list(zones)))
                               .options(selectinload(Patient.consents)).order_by(Patient.id)))
    consenting = [p for p in everyone if _consented(p) and (consent is None or p.id in consent)]
    result = deidentify.deidentify(_records(db, consenting, zones), min_cell, utcnow().date())
    return result, len(everyone) - len(consenting)


def write_csv(rows: Iterable[dict[str, str]], stream: TextIO) -> None:
    writer = csv.DictWriter(stream, fieldnames=deidentify.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def audit_detail(clinics: list[Clinic], export: CsvExport | Any) -> dict[str, Any]:
    """What the audit log keeps of a research file: the clinics, and the counts (``export`` is a ``CsvExport`` or a
    prepared ``ExportFile``; both carry them)."""
    return {"clinics": [c.slug for c in clinics], "patients": export.patients, "rows": export.rows,
            "withheld_no_consent": export.withheld_no_consent, "withheld_small_cells": export.withheld_small_cells,
            "suppressed_patients": export.suppressed_patients, "min_cell_size": export.min_cell_size}


def deidentified_csv(db: Session, ctx: Ctx, clinic_slug: str | None = None) -> CsvExport:
    """The de-identified row-level CSV of the reader's clinics (or one), built now (``deidentified_rows``). Audited."""
    clinics = clinics_in_scope(db, ctx, clinic_slug)
    result, no_consent = deidentified_rows(db, clinics)
    buffer = io.StringIO()
    write_csv(result.rows, buffer)
    export = CsvExport(buffer.getvalue(), clinics, result.patients, len(result.rows), no_consent,
                       result.withheld_small_cells, result.suppressed_patients, result.min_cell_size)
    record(db, ctx.actor, "export.deidentified_csv", clinic_id=clinics[0].id if len(clinics) == 1 else None,
           record_type="clinic", record_id=",".join(str(c.id) for c in clinics)[:40],
           detail=audit_detail(clinics, export))
    return export


def summary_counts(db: Session, ctx: Ctx, clinics: Iterable[Clinic]) -> dict[str, int]:
    """For the export page: patients, and how many have agreed to research use (counts only; not audited)."""
    everyone = list(db.scalars(select(Patient).where(Patient.clinic_id.in_([c.id for c in clinics]))
                               .options(selectinload(Patient.consents))))
    return {"patients": len(everyone), "consenting": sum(1 for p in everyone if _consented(p))}
