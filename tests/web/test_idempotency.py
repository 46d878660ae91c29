"""Idempotent patient-facing submissions: a retried POST with the same key (the API's Idempotency-Key header, or the
hidden idempotency_key field each form carries) by the same principal is stored once and answered as the first time;
the same key with a different request is refused naming the key; an error is not remembered. Concurrent duplicates
on PostgreSQL are stored once."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from tests import factories
from tests.checkins_support import (
    give_course,
    monday_weeks_ago,
    pcl5_answers,
    phq9_answers,
    sync,
)
from tests.helpers import scratch_database
from tests.web.support import app, form_fields, module_app, open_token, sign_in_browser  # noqa: F401
from tests.web.test_intake import accept, do_steps, invited  # noqa: F401 - the invited patient's fixture

from tenfour import migrate
from tenfour.assessments.models import Assessment
from tenfour.audit.models import AuditEvent
from tenfour.checkins import reminders
from tenfour.checkins.models import CheckIn
from tenfour.config import Settings
from tenfour.db import make_engine, make_session_factory, utcnow
from tenfour.idempotency.models import IdempotencyKey
from tenfour.links import service as links
from tenfour.referrals.models import Referral
from tenfour.web.app import create_app

REFERRAL = {"referrer_relation": "self", "first_name": "Dana", "last_name": "Whitfield", "preferred_contact": "text",
            "phone": "(555) 010-2233", "responder_role": "firefighter", "reason": "Not sleeping since the fire.",
            "consent_to_contact": True, "clinic": "north-test"}




def checkin_body(pcl5: int = 30) -> dict:
    return {"answers": {"pcl5": pcl5_answers(pcl5), "phq9": phq9_answers(6, 0)}}


def completed_checkins(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "completed")) or 0


def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- The API: Idempotency-Key --------------------------------------------------------------------------------------


def test_a_double_submitted_checkin_is_stored_once_and_answered_the_same(client, as_api, db, world, course) -> None:  # type: ignore[no-untyped-def]
    headers = {**as_api("patient"), "Idempotency-Key": "4f9c2b1e-retry-0001"}
    url = f"/api/v1/patients/{world.patient_north.id}/checkins"
    first = client.post(url, json=checkin_body(), headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = client.post(url, json=checkin_body(), headers=headers)
    assert again.status_code == 201
    assert again.content == first.content, "the first answer, byte for byte"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert completed_checkins(db) == 1
    assert count(db, Assessment, Assessment.context == "checkin") == 2  # its PCL-5 and PHQ-9, once
    [stored] = db.scalars(select(IdempotencyKey)).all()
    assert stored.principal == f"user:{world.patient_user.id}"
    assert stored.route == "POST /api/v1/patients/{patient_id}/checkins"
    assert stored.response_status == 201 and stored.response_body == first.text
    assert stored.expires_at > utcnow() + timedelta(hours=23)


def test_the_same_key_with_a_different_body_is_refused_naming_the_key(client, as_api, db, world, course) -> None:  # type: ignore[no-untyped-def]
    headers = {**as_api("patient"), "Idempotency-Key": "key-for-one-checkin"}
    url = f"/api/v1/patients/{world.patient_north.id}/checkins"
    assert client.post(url, json=checkin_body(30), headers=headers).status_code == 201
    other = client.post(url, json=checkin_body(44), headers=headers)
    assert other.status_code == 422
    assert other.json()["problems"] == [{"field": "Idempotency-Key", "rule": "reused", "message":
                                         "was already used for a different submission; send a new key for a new "
                                         "submission"}]
    assert completed_checkins(db) == 1


def test_a_malformed_key_is_refused_naming_the_header(client, as_api, world, course) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/checkins", json=checkin_body(),
                           headers={**as_api("patient"), "Idempotency-Key": "short"})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["problems"]] == ["Idempotency-Key"]


def test_a_refused_submission_is_not_remembered(client, as_api, db, world, course) -> None:  # type: ignore[no-untyped-def]
    headers = {**as_api("patient"), "Idempotency-Key": "fix-and-send-again"}
    url = f"/api/v1/patients/{world.patient_north.id}/checkins"
    bad = checkin_body()
    del bad["answers"]["pcl5"]["q3"]
    assert client.post(url, json=bad, headers=headers).status_code == 422
    assert count(db, IdempotencyKey) == 0
    fixed = client.post(url, json=checkin_body(), headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert completed_checkins(db) == 1


def test_keys_belong_to_who_sent_them(client, as_api, db, world) -> None:  # type: ignore[no-untyped-def]
    body = {"instrument_id": "phq9", "answers": phq9_answers(6, 0)}
    url = f"/api/v1/patients/{world.patient_north.id}/assessments"
    for role in ("patient", "nurse"):
        response = client.post(url, json=body, headers={**as_api(role), "Idempotency-Key": "the-same-key-01"})
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(db, Assessment, Assessment.patient_id == world.patient_north.id) == 2


def test_a_questionnaire_sent_twice_through_the_api_is_stored_once(client, as_api, db, world) -> None:  # type: ignore[no-untyped-def]
    body = {"instrument_id": "gad7", "answers": {f"q{i}": 1 for i in range(1, 8)}}
    url = f"/api/v1/patients/{world.patient_north.id}/assessments"
    headers = {**as_api("patient"), "Idempotency-Key": "gad7-on-the-bus"}
    first, again = (client.post(url, json=body, headers=headers) for _ in range(2))
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert count(db, Assessment, Assessment.instrument_id == "gad7") == 1


def test_a_referral_retried_after_a_dropped_connection_is_one_referral(client, db, world) -> None:  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": "c0ffee00-referral"}
    first = client.post("/api/v1/referrals", json=REFERRAL, headers=headers)
    again = client.post("/api/v1/referrals", json=REFERRAL, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and list(first.json()) == ["reference"]
    assert count(db, Referral) == 1
    changed = client.post("/api/v1/referrals", json={**REFERRAL, "last_name": "Other"}, headers=headers)
    assert changed.status_code == 422 and changed.json()["problems"][0]["field"] == "Idempotency-Key"


def test_an_expired_key_is_a_new_key(client, as_api, db, world) -> None:  # type: ignore[no-untyped-def]
    body = {"instrument_id": "gad7", "answers": {f"q{i}": 1 for i in range(1, 8)}}
    url = f"/api/v1/patients/{world.patient_north.id}/assessments"
    headers = {**as_api("patient"), "Idempotency-Key": "kept-for-a-day"}
    assert client.post(url, json=body, headers=headers).status_code == 201
    db.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    later = client.post(url, json=body, headers=headers)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert count(db, Assessment, Assessment.instrument_id == "gad7") == 2
    assert count(db, IdempotencyKey) == 1, "the expired key was replaced"


def test_each_new_key_clears_away_expired_ones(client, as_api, db, world) -> None:  # type: ignore[no-untyped-def]
    old = utcnow() - timedelta(days=2)
    db.add_all([IdempotencyKey(principal="anonymous", route="POST /api/v1/referrals", key=f"old-key-{n:04d}",
                               request_hash="0" * 64, response_status=201, response_body="{}", created_at=old,
                               expires_at=old + timedelta(hours=24)) for n in range(25)])
    db.commit()
    body = {"instrument_id": "gad7", "answers": {f"q{i}": 1 for i in range(1, 8)}}
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", json=body,
                           headers={**as_api("patient"), "Idempotency-Key": "a-brand-new-key"})
    assert response.status_code == 201
    assert count(db, IdempotencyKey, IdempotencyKey.expires_at < utcnow()) == 5, "20 expired keys removed"
    assert count(db, IdempotencyKey, IdempotencyKey.key == "a-brand-new-key") == 1


# --- Pages: the hidden idempotency_key of each form --------------------------------------------------------------


def test_the_checkin_page_sent_twice_is_stored_once(client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    page = client.get("/me/checkin").text
    data = form_fields(page, "/me/checkin")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", str(data["idempotency_key"]))
    assert form_fields(client.get("/me/checkin").text, "/me/checkin")["idempotency_key"] != data["idempotency_key"], \
        "a fresh key each time the form is drawn"
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    first = client.post("/me/checkin", data=data, follow_redirects=False)
    again = client.post("/me/checkin", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert completed_checkins(db) == 1


def test_a_checkin_from_a_reminders_link_sent_twice_is_stored_once(client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    token, _ = links.issue(db, purpose=reminders.LINK_PURPOSE, ttl=timedelta(hours=12),
                           patient_id=world.patient_north.id)
    db.commit()
    data = form_fields(client.get(f"/checkin/{token}").text, f"/checkin/{token}")
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    first = client.post(f"/checkin/{token}", data=data, follow_redirects=False)
    again = client.post(f"/checkin/{token}", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"] and again.headers["Idempotent-Replayed"] == "true"
    assert completed_checkins(db) == 1
    stored = db.scalars(select(IdempotencyKey)).one()
    assert token not in stored.principal and token not in stored.route, "the link itself is never stored"


def test_a_form_with_errors_releases_its_key(client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    data = form_fields(client.get("/me/checkin").text, "/me/checkin")
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    assert client.post("/me/checkin", data=data).status_code == 422  # the mood questions are missing
    assert count(db, IdempotencyKey) == 0
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    assert client.post("/me/checkin", data=data, follow_redirects=False).status_code == 303
    assert completed_checkins(db) == 1


def test_a_questionnaire_page_sent_twice_is_stored_once(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    data = form_fields(client.get("/me/questionnaires/phq9").text, "/me/questionnaires/phq9")
    data.update({k: str(v) for k, v in phq9_answers(6, 0).items()})
    first = client.post("/me/questionnaires/phq9", data=data, follow_redirects=False)
    again = client.post("/me/questionnaires/phq9", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert count(db, Assessment, Assessment.instrument_id == "phq9") == 1
    data["q1"] = "0"  # was 3
    changed = client.post("/me/questionnaires/phq9", data=data, follow_redirects=False)
    assert changed.status_code == 422 and "idempotency_key" in changed.text


def test_the_intake_sent_twice_is_sent_once(client, invited, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _, link = invited
    do_steps(client, accept(client, link))
    data = form_fields(client.get("/me/intake/review").text, "/me/intake/submit")
    first = client.post("/me/intake/submit", data=data, follow_redirects=False)
    again = client.post("/me/intake/submit", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303 and again.headers["location"] == "/me/intake"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(db, AuditEvent, AuditEvent.action == "intake.submit") == 1


def test_the_referral_page_sent_twice_is_one_referral(client, db, world) -> None:  # type: ignore[no-untyped-def]
    data = form_fields(client.get("/refer").text, "/refer")
    data.update({k: ("true" if v is True else v) for k, v in REFERRAL.items()})
    first = client.post("/refer", data=data, follow_redirects=False)
    again = client.post("/refer", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert count(db, Referral) == 1


# --- Concurrent duplicates (PostgreSQL) ----------------------------------------------------------------------------


@pytest.fixture
def live_app(database_url: str, mail_server: tuple[object, int], tmp_path: Path) -> Iterator[tuple]:
    """The app on a database of its own, with real commits: requests run in parallel on their own connections."""
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=12)
        factory = make_session_factory(engine)
        settings = Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-key-" + "x" * 32,
                            database_url=url, smtp_host="127.0.0.1", smtp_port=mail_server[1],
                            base_url="http://testserver")
        try:
            yield create_app(settings=settings, session_factory=factory), factory
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_concurrent_duplicate_checkins_are_stored_once(live_app) -> None:  # type: ignore[no-untyped-def]
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
    threads = 8
    start = threading.Barrier(threads)
    answers: list = []

    def send() -> None:
        client = TestClient(web, raise_server_exceptions=False)
        start.wait()
        response = client.post(f"/api/v1/patients/{patient_id}/checkins", json=checkin_body(),
                               headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "double-tap-0001"})
        answers.append((response.status_code, response.content, response.headers.get("Idempotent-Replayed")))

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert {status for status, _, _ in answers} == {201}, answers
    assert len({body for _, body, _ in answers}) == 1, "every duplicate got the first answer, byte for byte"
    assert sorted(replayed or "" for _, _, replayed in answers) == [""] + ["true"] * (threads - 1)
    with factory() as db:
        assert completed_checkins(db) == 1
        assert db.scalar(select(func.count()).select_from(Assessment)
                         .where(Assessment.context == "checkin")) == 2
