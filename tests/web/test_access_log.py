"""A patient sees who on the staff opened their record (/me/access-log): staff reads of their own chart only — by
name and role, when, and what — never another patient's, never their own views; staff get 403 on the page."""

from __future__ import annotations

import pytest
from tests.web.support import app, bearer, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.audit.service import Actor, record


@pytest.fixture
def reads(client, db, world):  # type: ignore[no-untyped-def]
    """The north nurse reads Nora's chart and her plan; the south nurse reads Sam's chart; the system and Nora
    herself leave entries too."""
    nurse, south_nurse = world.user("nurse"), world.user("nurse", "south-test")
    headers, south_headers = bearer(db, nurse), bearer(db, south_nurse)
    db.commit()
    assert client.get(f"/api/v1/patients/{world.patient_north.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/patients/{world.patient_south.id}", headers=south_headers).status_code == 200
    prescriber = world.user("prescriber")
    record(db, Actor(prescriber.id, f"{prescriber.full_name} <{prescriber.email}>", "prescriber"), "plan.view",
           clinic_id=world.north.id, patient_id=world.patient_north.id)
    record(db, Actor(prescriber.id, "x", "prescriber"), "patient.update", clinic_id=world.north.id,
           patient_id=world.patient_north.id)  # a change, not a read
    record(db, Actor.system("sweep"), "checkin.list", patient_id=world.patient_north.id)
    db.commit()
    return nurse, south_nurse, prescriber


def test_the_patient_sees_who_read_their_chart_and_when(client, db, world, reads) -> None:  # type: ignore[no-untyped-def]
    nurse, south_nurse, prescriber = reads
    sign_in_browser(client, db, world.patient_user)
    client.get("/me")  # the patient's own view is not a staff read
    page = client.get("/me/access-log")
    assert page.status_code == 200
    html = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = html.count("<tr>")
    assert rows == 2, "the nurse's chart read and the prescriber's plan read; not the change, the system or Nora"
    assert nurse.full_name in html and "Opened your record" in html
    assert prescriber.full_name in html and "Read your treatment plan" in html
    assert '<span class="role-badge">Nurse</span>' in html and '<span class="role-badge">Prescriber</span>' in html
    assert "2 times in all" in page.text
    assert south_nurse.full_name not in html, "another patient's reads are not shown"
    assert nurse.email not in html, "names and roles, not staff email addresses"
    assert "sweep" not in html and world.patient_user.full_name not in html


def test_the_page_reads_on_a_phone(client, db, world, reads) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    html = client.get("/me/access-log").text
    assert 'name="viewport"' in html and 'class="table compact responsive access-log"' in html
    for label in ("When", "Who", "What"):
        assert f'data-label="{label}"' in html  # each row becomes a labelled card on a narrow screen


def test_the_home_page_links_to_it(client, db, world, reads) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    html = client.get("/me").text
    assert 'href="/me/access-log"' in html and "Staff have opened your record 2 times" in html


def test_a_patient_with_no_staff_reads_is_told_so(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    assert "Nobody on the staff has opened your record yet." in client.get("/me/access-log").text


def test_opening_the_access_log_is_itself_recorded(client, db, world, reads) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from tenfour.audit.models import AuditEvent

    sign_in_browser(client, db, world.patient_user)
    client.get("/me/access-log")
    db.expire_all()
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.access_log")).all()
    assert (event.actor_user_id, event.patient_id) == (world.patient_user.id, world.patient_north.id)


@pytest.mark.parametrize("role", ["admin", "prescriber", "nurse", "coordinator", "manager"])
def test_staff_get_403(client, db, world, role) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user(role))
    assert client.get("/me/access-log").status_code == 403


def test_signed_out_is_sent_to_sign_in(client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/me/access-log", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fme%2Faccess-log"
