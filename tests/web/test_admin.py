"""Administration: clinics (details, hours, chairs), clinic policy (edited and audited), and staff accounts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests import factories
from tests.web.support import (  # noqa: F401
    app,
    bearer,
    error_beside,
    form_fields,
    input_value,
    module_app,
    sign_in_browser,
)

from tenfour.accounts.models import AuthSession, ClinicMembership, User
from tenfour.audit.models import AuditEvent
from tenfour.clinics import service as clinics_service
from tenfour.clinics.models import Chair, Clinic, ClinicPolicyValue
from tenfour.core import policy as policy_core


@pytest.fixture
def admin(client, world, db) -> str:  # type: ignore[no-untyped-def]
    """Signs the north-test administrator in; returns the CSRF token for forms."""
    return sign_in_browser(client, db, world.user("admin"))


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def clinic_form(client, clinic_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return form_fields(client.get(f"/admin/clinics/{clinic_id}").text, f"/admin/clinics/{clinic_id}")


# --- Clinics ---------------------------------------------------------------------------------------------


def test_admin_creates_a_clinic_with_a_derived_slug_and_joins_it(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    form = form_fields(client.get("/admin/clinics/new").text, "/admin/clinics/new")
    response = client.post("/admin/clinics/new", data={**form, "name": "North Shore Clinic", "chairs": "3",
                                                       "timezone": "America/Denver"}, follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    clinic = db.scalars(select(Clinic).where(Clinic.name == "North Shore Clinic")).one()
    assert clinic.slug == "north-shore-clinic" and clinic.timezone == "America/Denver"
    assert [c.name for c in clinic.chairs] == ["Chair 1", "Chair 2", "Chair 3"]
    assert clinic.opening_hours["mon"] == [["08:00", "18:00"]] and clinic.opening_hours["sun"] == []
    assert db.scalar(select(ClinicMembership).where(ClinicMembership.clinic_id == clinic.id,
                                                    ClinicMembership.user_id == world.user("admin").id))
    assert "North Shore Clinic" in client.get("/admin/clinics").text
    assert events(db, "clinic.create")[-1].detail["slug"] == "north-shore-clinic"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "is required"),
    ({"name": "n" * 121}, "name", "must be at most 120 characters"),
    ({"slug": "Not A Slug!"}, "slug", "use lowercase letters, digits and single hyphens (max 60)"),
    ({"slug": "north-test"}, "slug", "is taken"),
    ({"timezone": "Atlantis/Capital"}, "timezone",
     "'Atlantis/Capital' is not a known time zone; use a name like America/Chicago"),
    ({"chairs": "many"}, "chairs", "must be a whole number"),
    ({"chairs": "101"}, "chairs", "must be between 0 and 100"),
    ({"phone": "5" * 41}, "phone", "must be at most 40 characters"),
], ids=["blank name", "long name", "bad slug", "taken slug", "bad time zone", "chairs not a number",
        "too many chairs", "long phone"])
def test_clinic_form_errors_are_beside_the_field_and_nothing_is_created(client, db, admin, changes, field,
                                                                          message) -> None:
    form = form_fields(client.get("/admin/clinics/new").text, "/admin/clinics/new")
    before = db.scalar(select(Clinic.id).order_by(Clinic.id.desc()).limit(1))
    response = client.post("/admin/clinics/new", data={**form, "name": "Harbor Clinic", **changes})
    assert response.status_code == 422
    assert error_beside(response.text, field) == message
    if field != "name":
        assert input_value(response.text, "name") == "Harbor Clinic"
    db.expire_all()
    assert db.scalar(select(Clinic.id).order_by(Clinic.id.desc()).limit(1)) == before


def test_clinic_hours_edit_and_a_bad_interval_changes_nothing(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    form = clinic_form(client, world.north.id)
    saved = client.post(f"/admin/clinics/{world.north.id}", data={**form, "sat_open": "09:00", "sat_close": "12:00",
                                                                  "phone": "(555) 010-7777"},
                        follow_redirects=False)
    assert saved.status_code == 303
    db.expire_all()
    clinic = db.get(Clinic, world.north.id)
    assert clinic is not None and clinic.opening_hours["sat"] == [["09:00", "12:00"]]
    assert clinic.phone == "(555) 010-7777"
    change = events(db, "clinic.update")[-1]
    assert "opening_hours" in change.detail["changed"] and "phone" in change.detail["changed"]

    bad = client.post(f"/admin/clinics/{world.north.id}", data={**clinic_form(client, world.north.id),
                                                                "name": "Renamed", "mon_open": "18:00",
                                                                "mon_close": "08:00"})
    assert bad.status_code == 422 and "closing time must be after opening time" in bad.text
    assert input_value(bad.text, "name") == "Renamed", "what was typed stays in the form"
    db.expire_all()
    clinic = db.get(Clinic, world.north.id)
    assert clinic is not None and clinic.name == "North Test Clinic" and clinic.opening_hours["mon"] == [
        ["08:00", "18:00"]]


def test_chairs_are_added_and_taken_out_of_use(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    token = admin
    added = client.post(f"/admin/clinics/{world.north.id}/chairs", data={"csrf_token": token,
                                                                         "chair_name": "Recliner A"},
                        follow_redirects=False)
    assert added.status_code == 303
    duplicate = client.post(f"/admin/clinics/{world.north.id}/chairs", data={"csrf_token": token,
                                                                             "chair_name": "recliner a"})
    assert duplicate.status_code == 422 and error_beside(duplicate.text, "chair_name") == "is already used"
    assert input_value(duplicate.text, "chair_name") == "recliner a"
    db.expire_all()
    chair = db.scalars(select(Chair).where(Chair.name == "Recliner A")).one()
    toggled = client.post(f"/admin/clinics/{world.north.id}/chairs/{chair.id}/toggle",
                          data={"csrf_token": token}, follow_redirects=False)
    assert toggled.status_code == 303
    db.expire_all()
    assert db.get(Chair, chair.id).is_active is False  # type: ignore[union-attr]
    assert "out of use" in client.get(f"/admin/clinics/{world.north.id}").text
    assert [e.detail for e in events(db, "clinic.chair_active")] == [{"active": False}]


def test_api_creates_a_clinic_and_rejects_bad_input(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(db, world.user("admin"))
    db.commit()
    created = client.post("/api/v1/clinics", headers=headers, json={"name": "Coastal Clinic",
                                                                     "timezone": "America/Los_Angeles", "chairs": 2})
    assert created.status_code == 201 and created.json()["slug"] == "coastal-clinic"
    assert len(created.json()["chairs"]) == 2
    assert client.get("/api/v1/clinics/coastal-clinic", headers=headers).status_code == 200, "the creator joins"
    for body, field, rule in [({"name": "X", "timezone": "Nowhere"}, "timezone", "iana_time_zone"),
                              ({"name": "", "timezone": "UTC"}, "name", "string_too_short"),
                              ({"name": "X", "timezone": "UTC", "chairs": -1}, "chairs", "greater_than_equal"),
                              ({"name": "X", "timezone": "UTC", "opening_hours": {"mon": [["9", "x"]]}},
                               "opening_hours.mon[0]", "time_format"),
                              ({"name": "Coastal Clinic", "timezone": "UTC"}, "slug", "unique")]:
        response = client.post("/api/v1/clinics", headers=headers, json=body)
        assert response.status_code in (409, 422), response.text
        assert [(p["field"], p["rule"]) for p in response.json()["problems"]] == [(field, rule)]


# --- Policy ---------------------------------------------------------------------------------------------


def test_policy_edit_is_saved_and_audited_with_its_source(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    path = f"/admin/clinics/{world.north.id}/policy"
    form = form_fields(client.get(path).text, path)
    assert form["pcl5.provisional_cutoff"] == "33" and form["dose.weight_basis"] == "actual"
    response = client.post(path, data={**form, "pcl5.provisional_cutoff": "31", "dose.weight_basis": "ideal"},
                           follow_redirects=False)
    assert response.status_code == 303
    page = client.get(path).text
    assert "2 settings changed." in page
    assert form_fields(page, path)["pcl5.provisional_cutoff"] == "31"
    db.expire_all()
    values = clinics_service.effective_policy(db, world.north.id)
    assert values["pcl5.provisional_cutoff"] == 31 and values["dose.weight_basis"] == "ideal"
    assert clinics_service.effective_policy(db, world.south.id)["pcl5.provisional_cutoff"] == 33
    change = next(e for e in events(db, "clinic.policy_change") if e.record_id == "pcl5.provisional_cutoff")
    assert change.detail["before"] == 33 and change.detail["after"] == 31 and change.detail["default"] == 33
    assert change.detail["basis"] == "evidence" and "National Center for PTSD" in change.detail["source"]
    assert change.actor_user_id == world.user("admin").id and change.clinic_id == world.north.id
    # Saving the unchanged form changes nothing and records nothing.
    count = len(events(db, "clinic.policy_change"))
    client.post(path, data=form_fields(client.get(path).text, path))
    assert len(events(db, "clinic.policy_change")) == count


def test_policy_back_to_default_removes_the_override(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    path = f"/admin/clinics/{world.north.id}/policy"
    form = form_fields(client.get(path).text, path)
    client.post(path, data={**form, "vitals.notify_hr": "120"})
    client.post(path, data={**form, "vitals.notify_hr": "130"})
    db.expire_all()
    assert db.scalars(select(ClinicPolicyValue).where(ClinicPolicyValue.clinic_id == world.north.id)).all() == []


def test_an_unticked_checkbox_turns_a_setting_off(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    path = f"/admin/clinics/{world.north.id}/policy"
    form = form_fields(client.get(path).text, path)
    assert form["discharge.escort_required"] == "on"
    del form["discharge.escort_required"]
    assert client.post(path, data=form, follow_redirects=False).status_code == 303
    db.expire_all()
    assert clinics_service.effective_policy(db, world.north.id)["discharge.escort_required"] is False


@pytest.mark.parametrize(("key", "value", "message"), [
    ("dose.max_mg_per_kg", "5", "must be at most 2 mg/kg"),
    ("course.induction_sessions", "2.5", "must be a whole number"),
    ("vitals.notify_sbp", "lots", "must be a number"),
    ("vitals.notify_sbp", "210", "must not be above during: stop infusion at systolic (200 mmHg)"),
])
def test_a_bad_policy_value_is_shown_beside_it_and_nothing_is_saved(client, world, db, admin, key, value,
                                                                    message) -> None:
    path = f"/admin/clinics/{world.north.id}/policy"
    form = form_fields(client.get(path).text, path)
    response = client.post(path, data={**form, "pcl5.provisional_cutoff": "31", key: value})
    assert response.status_code == 422
    assert f'<p class="error" id="e-{key}">{message}</p>' in response.text, "the error sits beside its setting"
    label = policy_core.BY_KEY[key].label
    assert f'<a href="#f-{key}">{label}</a>' in response.text, "the summary names the setting and links to it"
    assert f'id="f-{key}"' in response.text
    assert response.text.count('<tr class="changed') == 2, "only the two settings being changed are marked"
    assert f'value="{value}"' in response.text, "the typed value stays for correction"
    db.expire_all()
    assert db.scalars(select(ClinicPolicyValue).where(ClinicPolicyValue.clinic_id == world.north.id)).all() == []
    assert events(db, "clinic.policy_change") == []


def test_policy_api_is_all_or_nothing(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(db, world.user("admin"))
    db.commit()
    bad = client.patch("/api/v1/clinics/north-test/policy", headers=headers,
                       json={"values": {"pcl5.provisional_cutoff": 31, "no.such.setting": 1,
                                        "dose.default_mg_per_kg": "half"}})
    assert bad.status_code == 422
    assert {(p["field"], p["rule"]) for p in bad.json()["problems"]} == {("no.such.setting", "policy"),
                                                                         ("dose.default_mg_per_kg", "policy")}
    assert clinics_service.effective_policy(db, world.north.id)["pcl5.provisional_cutoff"] == 33
    good = client.patch("/api/v1/clinics/north-test/policy", headers=headers,
                        json={"values": {"pcl5.provisional_cutoff": 31}})
    rows = {r["key"]: r for r in good.json()}
    assert rows["pcl5.provisional_cutoff"]["value"] == 31 and rows["pcl5.provisional_cutoff"]["is_default"] is False
    assert rows["dose.default_mg_per_kg"]["basis"] == "evidence" and rows["dose.default_mg_per_kg"]["source"]
    assert len(rows) == len(policy_core.SETTINGS)


def test_staff_read_the_policy_with_sources_but_cannot_change_it(client, world, db) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("nurse"))
    html = client.get("/clinic/policy").text
    assert "Only an administrator can change them." in html
    assert "<input" not in html.split("<main", 1)[1].split("</main>")[0]
    assert "Feder et al. 2021" in html and "Product choice" in html


# --- Users ----------------------------------------------------------------------------------------------


def test_users_list_shows_only_people_who_share_a_clinic(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/admin/users").text
    assert world.user("nurse").email in html
    assert world.user("nurse", "south-test").email not in html
    assert world.patient_user.email not in html


def test_admin_creates_a_staff_account_that_can_sign_in(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    form = form_fields(client.get("/admin/users/new").text, "/admin/users/new")
    assert form["role"] == "nurse" and form["clinic_ids"] == str(world.north.id)
    response = client.post("/admin/users/new", data={**form, "full_name": "Jordan Lee, RN",
                                                     "email": " Jordan.Lee@Test.Example ",
                                                     "password": "a long enough password"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "Account created for Jordan Lee, RN." in client.get(response.headers["location"]).text
    db.expire_all()
    user = db.scalars(select(User).where(User.email == "jordan.lee@test.example")).one()
    assert user.role == "nurse" and user.clinic_ids == {world.north.id}
    assert user.password_hash and "a long enough password" not in user.password_hash
    login = client.post("/api/v1/auth/login", json={"email": "jordan.lee@test.example",
                                                    "password": "a long enough password"})
    assert login.status_code == 200
    assert events(db, "user.create")[-1].detail == {"email": "jordan.lee@test.example", "role": "nurse",
                                                    "clinic_ids": [world.north.id]}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"email": "NURSE@x"}, "email", None),
    ("duplicate", "email", "is taken"),
    ({"role": "wizard"}, "role", "must be one of: admin, prescriber, nurse, coordinator, manager, patient"),
    ({"role": "patient"}, "role", "patient accounts are created from an invitation"),
    ({"clinic_ids": []}, "clinic", "staff must belong to at least one clinic"),
    ({"clinic_ids": ["south"]}, "clinic_ids", "you can only add people to your own clinics"),
    ({"password": "short"}, "password", "must be at least 12 characters"),
    ({"full_name": ""}, "full_name", "is required"),
    ({"full_name": "f" * 121}, "full_name", "must be at most 120 characters"),
], ids=["bad email", "duplicate email", "unknown role", "patient role", "no clinic", "another clinic",
        "short password", "blank name", "long name"])
def test_account_form_errors_keep_values_but_never_the_password(client, world, db, admin, changes, field,
                                                                 message) -> None:
    form = form_fields(client.get("/admin/users/new").text, "/admin/users/new")
    data = {**form, "full_name": "Sam Doe", "email": "sam.doe@test.example", "password": "a long enough password"}
    if changes == "duplicate":
        data["email"] = world.user("manager").email.upper()
    else:
        changes = {k: ([str(world.south.id)] if v == ["south"] else v) for k, v in changes.items()}
        data.update(changes)
    before = db.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    html = response.text
    if field in ("clinic", "clinic_ids"):
        assert f"{message}" in html
    else:
        shown = error_beside(html, field) if field != "role" else html
        assert shown and (message is None or message in shown), html[:2000]
    if field != "full_name":
        assert input_value(html, "full_name") == "Sam Doe"
    assert "a long enough password" not in html
    db.expire_all()
    assert db.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before


def test_deactivating_an_account_ends_its_sessions_and_sign_in(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    headers = bearer(db, nurse)
    db.commit()
    response = client.post(f"/admin/users/{nurse.id}/active", data={"csrf_token": admin}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    db.expire_all()
    assert db.get(User, nurse.id).is_active is False  # type: ignore[union-attr]
    assert all(s.ended_at for s in db.scalars(select(AuthSession).where(AuthSession.user_id == nurse.id)))
    assert "Reactivate account" in client.get(f"/admin/users/{nurse.id}").text
    client.post(f"/admin/users/{nurse.id}/active", data={"csrf_token": admin})
    db.expire_all()
    assert db.get(User, nurse.id).is_active is True  # type: ignore[union-attr]
    assert [e.action for e in events(db, "user.deactivate") + events(db, "user.activate")] == [
        "user.deactivate", "user.activate"]


def test_an_admin_cannot_deactivate_themself(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    me = world.user("admin")
    response = client.post(f"/admin/users/{me.id}/active", data={"csrf_token": admin})
    assert response.status_code == 422 and "You cannot deactivate your own account." in response.text
    db.expire_all()
    assert db.get(User, me.id).is_active is True  # type: ignore[union-attr]


def test_setting_a_password_ends_the_persons_sessions(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    headers = bearer(db, nurse)
    db.commit()
    short = client.post(f"/admin/users/{nurse.id}/password", data={"csrf_token": admin, "new_password": "short"})
    assert short.status_code == 422 and error_beside(short.text, "new_password") == "must be at least 12 characters"
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200, "a refused change ends nothing"
    ok = client.post(f"/admin/users/{nurse.id}/password", data={"csrf_token": admin,
                                                                "new_password": "a brand new passphrase"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": nurse.email,
                                                   "password": "a brand new passphrase"}).status_code == 200


def test_memberships_in_clinics_the_admin_does_not_run_are_kept(client, world, db, admin) -> None:  # type: ignore[no-untyped-def]
    third = factories.make_clinic(db, name="Third Clinic", slug="third")
    both = factories.make_user(db, role="nurse", clinics=[world.north, third])
    db.commit()
    page = client.get(f"/admin/users/{both.id}").text
    assert "Third Clinic" not in page, "the admin is shown only their own clinics"
    form = form_fields(page, f"/admin/users/{both.id}/clinics")
    assert form["clinic_ids"] == str(world.north.id)
    client.post(f"/admin/users/{both.id}/clinics", data={**form, "clinic_ids": []})
    db.expire_all()
    assert db.get(User, both.id).clinic_ids == {third.id}  # type: ignore[union-attr]
