"""The audit log: reads and writes of patient records leave entries (who, when, what, which record, from where);
administrators filter and export it; nothing can change or delete an entry, the database included."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests import factories
from tests.web.support import api_routes, app, bearer, module_app, sign_in_browser  # noqa: F401

from tenfour.audit.models import AuditEvent
from tenfour.audit.service import Actor, record

SRC = Path(__file__).resolve().parents[2] / "src" / "tenfour"
AGENT = {"User-Agent": "AuditTest/1.0"}


def entries(db: Session, **where: object) -> list[AuditEvent]:
    db.expire_all()
    stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
    return list(db.scalars(stmt))


@pytest.fixture
def nurse(world, db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = {**bearer(db, world.user("nurse")), **AGENT}
    db.commit()
    return headers


# --- Reads ---------------------------------------------------------------------------------------------


def test_reading_a_chart_is_recorded_with_who_what_and_from_where(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    assert client.get(f"/api/v1/patients/{pid}", headers=nurse).status_code == 200
    [event] = entries(db, action="patient.view", patient_id=pid)
    nurse_user = world.user("nurse")
    assert event.actor_user_id == nurse_user.id and event.actor_role == "nurse"
    assert nurse_user.email in event.actor_label and nurse_user.full_name in event.actor_label
    assert (event.clinic_id, event.record_type, event.record_id) == (world.north.id, "patient", str(pid))
    assert event.ip_address == "testclient" and event.user_agent == "AuditTest/1.0"
    assert event.at is not None and event.at.tzinfo is not None


def test_the_patients_own_view_is_recorded(client, world, db) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    assert client.get("/me").status_code == 200
    [event] = entries(db, action="patient.view_self")
    assert event.actor_user_id == world.patient_user.id and event.patient_id == world.patient_north.id


def test_a_search_is_recorded_without_the_words_searched_for(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    client.get("/api/v1/patients", params={"q": "north", "responder_role": "firefighter"}, headers=nurse)
    [event] = entries(db, action="patient.search")
    assert event.detail == {"text": True, "role": "firefighter", "status": None, "results": 1}
    assert "north" not in json.dumps(event.detail).lower()


def test_a_refused_read_leaves_no_read_entry(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/api/v1/patients/{world.patient_south.id}", headers=nurse).status_code == 404
    assert entries(db, action="patient.view") == []


# --- Writes --------------------------------------------------------------------------------------------


def test_create_update_and_consents_are_recorded(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/patients", headers=nurse, json={
        "first_name": "Ivy", "last_name": "Salazar", "date_of_birth": "1990-09-09", "responder_role": "ems",
        "phone": "(555) 010-3333"}).json()
    [create] = entries(db, action="patient.create")
    assert create.patient_id == created["id"] and create.clinic_id == world.north.id
    assert create.detail["fields"] == sorted(["first_name", "last_name", "date_of_birth", "responder_role",
                                              "phone", "sex", "preferred_contact"])
    assert "Salazar" not in json.dumps(create.detail), "the trail names fields, not their values"

    client.patch(f"/api/v1/patients/{created['id']}", headers=nurse, json={"agency": "Coastal", "phone":
                                                                           "(555) 010-3333"})
    [update] = entries(db, action="patient.update")
    assert update.detail == {"fields": ["agency"]}, "only what actually changed"

    consent = client.post(f"/api/v1/patients/{created['id']}/consents", headers=nurse,
                          json={"kind": "contact", "version": "2026-11"}).json()
    client.post(f"/api/v1/patients/{created['id']}/consents/{consent['id']}/withdraw", headers=nurse)
    given, withdrawn = entries(db, action="patient.consent_given"), entries(db, action="patient.consent_withdrawn")
    assert [(e.record_type, e.record_id) for e in given + withdrawn] == [("consent", str(consent["id"]))] * 2


def test_sign_in_failure_and_sign_out_are_recorded(client, world, db) -> None:  # type: ignore[no-untyped-def]
    email = world.user("nurse").email
    client.post("/api/v1/auth/login", json={"email": email, "password": "wrong wrong wrong"}, headers=AGENT)
    token = client.post("/api/v1/auth/login", json={"email": email, "password": factories.PASSWORD}).json()
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token['access_token']}"})
    [failed] = entries(db, action="auth.login_failed")
    assert failed.actor_label == email and failed.actor_user_id == world.user("nurse").id
    assert failed.user_agent == "AuditTest/1.0"
    assert "wrong" not in json.dumps(failed.detail), "never the password"
    assert len(entries(db, action="auth.login")) == 1 and len(entries(db, action="auth.logout")) == 1


def test_a_rolled_back_write_leaves_no_entry(db, world) -> None:  # type: ignore[no-untyped-def]
    """The entry and the change share one transaction: both or neither."""
    nested = db.begin_nested()
    record(db, Actor.system("test"), "patient.update", patient_id=world.patient_north.id)
    nested.rollback()
    assert entries(db, action="patient.update") == []


# --- Reading the log -----------------------------------------------------------------------------------


def test_administrators_see_their_clinics_events_only_and_filter_them(client, world, db) -> None:  # type: ignore[no-untyped-def]
    actor = Actor(world.user("nurse").id, "nurse", "nurse")
    record(db, actor, "patient.view", clinic_id=world.north.id, patient_id=world.patient_north.id)
    record(db, actor, "patient.update", clinic_id=world.north.id, patient_id=world.patient_north.id)
    record(db, Actor(None, "someone south"), "patient.view", clinic_id=world.south.id,
           patient_id=world.patient_south.id)
    headers = bearer(db, world.user("admin"))
    db.commit()
    everything = client.get("/api/v1/audit", headers=headers).json()
    assert {e["clinic_id"] for e in everything["items"]} <= {world.north.id, None}
    assert world.patient_south.id not in {e["patient_id"] for e in everything["items"]}
    views = client.get("/api/v1/audit", params={"action": "patient.", "patient_id": world.patient_north.id},
                       headers=headers).json()
    assert [e["action"] for e in views["items"]] == ["patient.update", "patient.view"], "newest first"
    assert entries(db, action="audit.read"), "reading the log is itself recorded"


def test_the_audit_page_filters_and_the_export_is_csv(client, world, db) -> None:  # type: ignore[no-untyped-def]
    record(db, Actor(world.user("nurse").id, "Nurse <n@x>", "nurse"), "patient.view", clinic_id=world.north.id,
           patient_id=world.patient_north.id, detail={"why": "a \"quoted\", comma"})
    sign_in_browser(client, db, world.user("admin"))
    page = client.get("/admin/audit", params={"action": "patient.view"})
    assert page.status_code == 200 and "Nurse &lt;n@x&gt;" in page.text
    assert re.search(r"\d+ entr(y|ies)", page.text)
    export = client.get("/admin/audit/export.csv", params={"action": "patient.view"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="tenfour-audit-' in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["action"] for r in rows] == ["patient.view"]
    assert json.loads(rows[0]["detail"]) == {"why": 'a "quoted", comma'}
    assert entries(db, action="audit.export")


# --- Append-only -----------------------------------------------------------------------------------------


@pytest.fixture
def entry(db, world) -> AuditEvent:  # type: ignore[no-untyped-def]
    event = record(db, Actor.system("test"), "patient.view", clinic_id=world.north.id,
                   patient_id=world.patient_north.id)
    db.commit()
    return event


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'patient.nothing' WHERE id = :id",
    "UPDATE audit_events SET actor_label = 'someone else' WHERE id = :id",
    "DELETE FROM audit_events WHERE id = :id",
    "DELETE FROM audit_events",
])
def test_the_database_refuses_to_change_or_delete_an_entry(db, entry, statement) -> None:  # type: ignore[no-untyped-def]
    nested = db.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement), {"id": entry.id})
    nested.rollback()
    assert db.execute(text("SELECT action, actor_label FROM audit_events WHERE id = :id"),
                      {"id": entry.id}).one() == ("patient.view", "test")


def test_the_orm_cannot_change_an_entry_either(db, entry) -> None:  # type: ignore[no-untyped-def]
    nested = db.begin_nested()
    entry.action = "patient.nothing"
    with pytest.raises(DBAPIError, match="append-only"):
        db.flush()
    nested.rollback()
    db.expire_all()
    assert db.get(AuditEvent, entry.id).action == "patient.view"  # type: ignore[union-attr]


def test_no_route_writes_to_the_audit_log(client) -> None:  # type: ignore[no-untyped-def]
    audit_routes = [r for r in api_routes(client.app) if "audit" in r.path]
    assert audit_routes, "the audit routes exist"
    assert {m for r in audit_routes for m in r.methods} == {"GET"}


def test_no_code_updates_or_deletes_audit_events() -> None:
    pattern = re.compile(r"(update|delete)\(\s*AuditEvent|AuditEvent\)\.(update|delete)|"
                         r"(UPDATE|DELETE FROM)\s+audit_events")
    offenders = [str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if pattern.search(path.read_text())]
    assert offenders == []
