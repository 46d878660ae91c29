"""The progress report, downloaded by the patient from their own pages and by the clinic's clinicians from the chart
(for the patient, or for the patient's own clinician when they have agreed to it). Every download is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.context import Ctx
from tenfour.patients.models import Patient
from tenfour.policy import Permission
from tenfour.reports import progress
from tenfour.reports.pdf import progress_pdf
from tenfour.web.deps import DbSession, RecordId, authorize
from tenfour.web.panels import own_panel, patient_panel

router = APIRouter(include_in_schema=False)
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
Clinical = Annotated[Ctx, Depends(authorize(Permission.ASSESSMENT_READ))]


def _pdf(report: progress.ProgressReport, filename: str) -> Response:
    return Response(progress_pdf(report), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@router.get("/me/progress-report.pdf")
def own_report(db: DbSession, ctx: SelfRead) -> Response:
    report = progress.own_report(db, ctx)
    return _pdf(report, f"progress-{report.generated_at:%Y%m%d}.pdf")


@router.get("/patients/{patient_id}/progress-report.pdf")
def patient_report(db: DbSession, ctx: Clinical, patient_id: RecordId,
                   purpose: Annotated[str, Query(max_length=20, description="patient or own_clinician")] = "patient"
                   ) -> Response:
    report = progress.report_for(db, ctx, patient_id, purpose)
    return _pdf(report, f"progress-{report.patient.record_number}-{report.generated_at:%Y%m%d}.pdf")


@own_panel("progress-report", "reports/_own_panel.html", order=30)
def _own_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    return {}


@patient_panel("progress-report", "reports/_chart_panel.html", order=22, permission=Permission.ASSESSMENT_READ)
def _chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    consent = next((c for c in reversed(patient.consents) if c.kind == "share_with_own_clinician"
                    and c.withdrawn_at is None), None)
    return {"consent": consent}
