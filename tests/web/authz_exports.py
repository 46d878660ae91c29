"""The policy matrix for the research export prepared in the background (issue 10): asking for a file, its status
(API), and downloading a prepared one. The records: one ready file of each clinic (its content a small gzip-compressed
CSV), asked for by that clinic's manager. A file of another clinic is 404, as a missing one is.

The matrix's server has its job runner thread; the jobs a successful "prepare" hands over are dropped (the
test_authorization fixture keeps them away from the runner), so no job runs on the matrix's connection between cells.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session
from tests.web.authz_support import CLINICS, OTHER, OWN, Matrix, Spec

from tenfour.db import utcnow
from tenfour.exports.models import ExportFile
from tenfour.policy import Permission

P = Permission
CSV = "patient_key,site\nP0000000001,site-1\n"

ROUTES: dict[tuple[str, str], Spec] = {
    ("POST", "/exports/files"): Spec(P.DATA_EXPORT, 303, payload="export_prepare"),
    ("GET", "/exports/files/{export_id}"): Spec(P.DATA_EXPORT, 200, scoped=True),
    ("POST", "/api/v1/exports/deidentified"): Spec(P.DATA_EXPORT, 202),
    ("GET", "/api/v1/exports/files/{export_id}"): Spec(P.DATA_EXPORT, 200, scoped=True),
    ("GET", "/api/v1/exports/files/{export_id}/content"): Spec(P.DATA_EXPORT, 200, scoped=True),
}


def build(m: Matrix, db: Session) -> None:
    now = utcnow()
    for scope in (OWN, OTHER):
        clinic_id = m.ids[scope]["clinic_id"]
        export = ExportFile(requested_by=m.world.user("manager", CLINICS[scope]).id, clinic_ids=[clinic_id],
                            status="ready", created_at=now, started_at=now, finished_at=now,
                            expires_at=now + timedelta(days=7), filename="tenfour-deidentified-matrix.csv",
                            content=gzip.compress(CSV.encode()), content_bytes=len(CSV), patients=1, rows=1,
                            withheld_no_consent=0, withheld_small_cells=0, suppressed_patients=0, min_cell_size=11)
        db.add(export)
        db.flush()
        m.ids[scope]["export_id"] = export.id
    db.commit()


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    return {"export_prepare": lambda role, scope: {"clinic": CLINICS[OWN]}}
