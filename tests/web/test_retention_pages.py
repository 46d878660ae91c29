"""The clinic administrator's retention page: records past retention, and deleting a patient's record (record number
typed twice, a recent sign-in, audited; other clinics' records and other roles refused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from tests import factories
from tests.web.support import app, csrf_on, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.accounts.models import AuthSession
from tenfour.audit import chain
from tenfour.audit.models import AuditEvent
from tenfour.db import utcnow
from tenfour.patients.models import DeletedPatient, Patient


def old_discharged(db, clinic, record_number: str) -> Patient:  # type: ignore[no-untyped-def]
    patient = factories.make_patient(db, clinic, record_number=record_number)
    db.flush()
    db.execute(update(Patient).where(Patient.id == patient.id)
               .values(status="discharged", updated_at=datetime.now(UTC) - timedelta(days=365 * 7)))
    db.commit()
    return patient


def delete(client, token: str, record: str, confirm: str | None = None, reason: str = "retention", **extra):  # type: ignore[no-untyped-def]
    return client.post("/admin/retention/delete", data={
        "csrf_token": token, "record_number": record, "confirm_record_number": record if confirm is None else confirm,
        "reason": reason, **extra}, follow_redirects=False)


def test_the_admin_sees_records_past_retention_and_deletes_one(client, db, world) -> None:  # type: ignore[no-untyped-def]
    patient_id = old_discharged(db, world.north, "TF-RET001").id
    admin = world.user("admin")
    sign_in_browser(client, db, admin)
    page = client.get("/admin/retention")
    assert page.status_code == 200
    assert "TF-RET001" in page.text and 'id="retention-years">6 years' in page.text
    assert "45 CFR 164.316(b)(2)(i)" in page.text  # the source beside the value
    done = delete(client, csrf_on(page.text), "TF-RET001")
    assert done.status_code == 303 and done.headers["location"] == "/admin/retention"
    db.expire_all()
    assert db.get(Patient, patient_id) is None
    assert db.get(DeletedPatient, patient_id).reason == "retention"
    entry = db.scalar(select(AuditEvent).where(AuditEvent.action == "patient.delete"))
    assert entry.actor_user_id == admin.id and entry.patient_id == patient_id and entry.clinic_id == world.north.id
    assert "TF-RET001" not in str(entry.detail)
    assert chain.verify(db).broken is None
    after = client.get("/admin/retention")
    assert "Record TF-RET001 is deleted" in after.text  # the flash, once
    assert "<td>TF-RET001</td>" not in after.text and f"Former record id {patient_id}" in after.text


def test_the_record_number_must_be_typed_twice_and_be_of_this_clinic(client, db, world) -> None:  # type: ignore[no-untyped-def]
    old_discharged(db, world.north, "TF-RET002")
    token = sign_in_browser(client, db, world.user("admin"))
    mismatch = delete(client, token, "TF-RET002", "TF-RET00")
    assert mismatch.status_code == 422 and "must be the same record number" in mismatch.text
    unknown = delete(client, token, "TF-NOPE99")
    assert unknown.status_code == 422 and "is not a record of this clinic" in unknown.text
    elsewhere = delete(client, token, world.patient_south.record_number)  # another clinic's: not found here
    assert elsewhere.status_code == 422 and "is not a record of this clinic" in elsewhere.text
    empty = delete(client, token, "")
    assert empty.status_code == 422 and "is required" in empty.text
    db.expire_all()
    assert db.get(Patient, world.patient_south.id) is not None


def test_deleting_needs_a_recent_sign_in_and_keeps_what_was_typed(client, db, world) -> None:  # type: ignore[no-untyped-def]
    patient_id = old_discharged(db, world.north, "TF-RET003").id
    admin = world.user("admin")
    token = sign_in_browser(client, db, admin)
    db.execute(update(AuthSession).where(AuthSession.user_id == admin.id)
               .values(authenticated_at=utcnow() - timedelta(hours=2)))
    db.commit()
    asked = delete(client, token, "TF-RET003", reason="request")
    assert asked.status_code == 401 and 'name="reauth_password"' in asked.text
    assert 'value="TF-RET003"' in asked.text and 'value="request"' in asked.text  # carried through
    db.expire_all()
    assert db.get(Patient, patient_id) is not None
    wrong = delete(client, token, "TF-RET003", reason="request", reauth_password="not the password")
    assert wrong.status_code == 401
    confirmed = delete(client, token, "TF-RET003", reason="request", reauth_password=factories.PASSWORD)
    assert confirmed.status_code == 303
    db.expire_all()
    assert db.get(Patient, patient_id) is None and db.get(DeletedPatient, patient_id).reason == "request"


def test_clinical_staff_cannot_delete_records(client, db, world) -> None:  # type: ignore[no-untyped-def]
    old_discharged(db, world.north, "TF-RET004")
    for role in ("prescriber", "nurse", "coordinator", "manager"):
        token = sign_in_browser(client, db, world.user(role))
        assert client.get("/admin/retention").status_code == 403
        assert delete(client, token, "TF-RET004").status_code == 403
    db.expire_all()
    assert db.scalar(select(Patient.id).where(Patient.record_number == "TF-RET004")) is not None


def test_the_users_page_links_to_it(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("admin"))
    assert 'href="/admin/retention"' in client.get("/admin/users").text
