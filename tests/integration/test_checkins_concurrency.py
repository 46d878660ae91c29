"""Check-ins sent at the same moment by one patient (two phones, a retry with a new key) are each stored, none
overwriting another. Found by the crash test (docs/reliability.md): on PostgreSQL the second submission waited on the
due check-in's row lock and then answered the same row again, replacing an acknowledged check-in."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests import factories
from tests.checkins_support import give_course, monday_weeks_ago, pcl5_answers, phq9_answers, sync
from tests.web.support import open_token
from tests.web.test_idempotency import live_app  # noqa: F401 - the app on its own database, real commits

from tenfour.checkins.models import CheckIn

SENDERS = 6


@pytest.mark.postgres
def test_simultaneous_checkins_with_different_keys_are_each_stored(live_app) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    web, factory = live_app
    with factory() as db:
        clinic = factories.make_clinic(db, name="Race Clinic", slug="race")
        prescriber = factories.make_user(db, role="prescriber", clinics=[clinic])
        user = factories.make_user(db, role="patient", clinics=[])
        patient = factories.make_patient(db, clinic, user_id=user.id)
        first = monday_weeks_ago(3)
        sync(db, give_course(db, patient, prescriber, first), first - timedelta(days=1))
        token = open_token(db, user, "api")
        db.commit()
        patient_id = patient.id
    start = threading.Barrier(SENDERS)
    answers: dict[str, int] = {}

    def send(n: int) -> None:
        client = TestClient(web, raise_server_exceptions=False)
        body = {"answers": {"pcl5": pcl5_answers(20 + n), "phq9": phq9_answers(5, 0)}, "note": f"sender {n}"}
        start.wait()
        response = client.post(f"/api/v1/patients/{patient_id}/checkins", json=body,
                               headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"sender-{n:04d}"})
        answers[f"sender {n}"] = response.status_code

    workers = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert answers == {f"sender {n}": 201 for n in range(SENDERS)}
    with factory() as db:
        notes = db.scalars(select(CheckIn.note).where(CheckIn.status == "completed")).all()
    assert sorted(notes) == sorted(answers), "each acknowledged check-in is stored, on a row of its own"
