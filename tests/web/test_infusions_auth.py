"""Who may do what at the chairside: every session endpoint for each role that may (its success status), each role
that may not (403), another clinic's session (404, as for a missing one) and no one signed in (401; pages 303 to
the sign-in page)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.web.infusion_helpers import GOOD_PRECHECKS, GOOD_VITALS, Walker, clock, planned, sign_plan  # noqa: F401
from tests.web.support import sign_in_browser

ROLES = ("prescriber", "nurse", "coordinator", "manager", "admin", "patient")
CHART = {"nurse", "prescriber"}
MANAGE = {"nurse", "coordinator", "manager"}
CADSS = {"answers": {"q1": 1, "q2": 0, "q6": 0, "q7": 1, "q15": 0, "q22": 0}}
EVENT = {"event_type": "nausea_vomiting", "severity": "mild", "action_taken": "ondansetron", "outcome": "resolved"}

# name: (method, path after /api/v1/infusion-sessions/{id}, allowed roles, step to walk to, body, success status)
CASES: dict[str, tuple[str, str, set[str], str, Any, int]] = {
    "detail": ("GET", "", CHART, "scheduled", None, 200),
    "fhir": ("GET", "/fhir", CHART, "infusing", None, 200),
    "arrive": ("POST", "/arrive", CHART, "scheduled", None, 200),
    "prechecks": ("POST", "/prechecks", CHART, "arrived", GOOD_PRECHECKS, 200),
    "duty-override": ("POST", "/duty-override", {"prescriber"}, "arrived", {"reason": "Desk duty tomorrow"}, 200),
    "dose": ("POST", "/dose", CHART, "prechecks_passed", {}, 201),
    "start": ("POST", "/start", CHART, "verified", None, 200),
    "pump": ("POST", "/pump", CHART, "infusing", {"action": "pause"}, 200),
    "vitals": ("POST", "/vitals", CHART, "infusing", GOOD_VITALS, 201),
    "end": ("POST", "/end", CHART, "infusing", {}, 200),
    "cadss6": ("POST", "/cadss6", CHART, "recovery", CADSS, 201),
    "adverse-events": ("POST", "/adverse-events", CHART, "infusing", EVENT, 201),
    "discharge": ("POST", "/discharge", CHART, "ready", {"alert_and_oriented": True, "escort_present": True}, 200),
    "abort": ("POST", "/abort", CHART, "scheduled", {"reason": "Unwell today"}, 200),
    "cancel": ("POST", "/cancel", MANAGE, "scheduled", {"reason": "Called in sick"}, 200),
    "reschedule": ("POST", "/reschedule", MANAGE, "scheduled", "later", 201),
}
MATRIX = [(name, role) for name in CASES for role in ROLES]


def _call(client: Any, walker: Walker, name: str, headers: dict[str, str] | None) -> Any:
    method, path, _, _, body, _ = CASES[name]
    if body == "later":
        body = {"chair_id": walker.chair_id, "start": (walker.clock.now + timedelta(days=2)).isoformat()}
    url = f"/api/v1/infusion-sessions/{walker.session_id}{path}"
    if method == "GET":
        return client.get(url, headers=headers or {})
    return client.post(url, json=body, headers=headers or {})


@pytest.mark.parametrize(("name", "role"), MATRIX, ids=[f"{n}-{r}" for n, r in MATRIX])
def test_each_role(client, as_api, clock, world, planned, name, role):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to(CASES[name][3])
    response = _call(client, walker, name, as_api(role))
    want = CASES[name][5] if role in CASES[name][2] else 403
    assert response.status_code == want, response.text[:300]


@pytest.fixture
def south_walker(client, as_api, clock, world, db):  # type: ignore[no-untyped-def] # noqa: F811
    sign_plan(db, world.patient_south, world.user("prescriber", "south-test").id)
    db.commit()
    walker = Walker(client, as_api, clock, world.patient_south, world.south.chairs[0].id, clinic="south-test")
    clock.now = clock.now + timedelta(hours=2)  # 08:30 in Los Angeles
    return walker


@pytest.mark.parametrize("name", list(CASES))
def test_another_clinics_session_is_404(client, as_api, south_walker, name):
    south_walker.to(CASES[name][3])
    role = "prescriber" if name == "duty-override" else ("coordinator" if CASES[name][2] == MANAGE else "nurse")
    response = _call(client, south_walker, name, as_api(role, "north-test"))
    assert response.status_code == 404
    missing = client.get("/api/v1/infusion-sessions/999999", headers=as_api("nurse"))
    if CASES[name][0] == "GET" and name == "detail":
        assert response.json() == missing.json()


@pytest.mark.parametrize("name", list(CASES))
def test_signed_out_is_401(client, as_api, clock, world, planned, name):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("scheduled")
    assert _call(client, walker, name, None).status_code == 401


def test_verify_is_for_a_second_person_who_may_chart(client, as_api, clock, world, planned):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("dosed")
    dose_id = walker.body["doses"][-1]["id"]
    url = f"/api/v1/infusion-sessions/{walker.session_id}/dose/{dose_id}/verify"
    for role in ("coordinator", "manager", "admin", "patient"):
        assert client.post(url, headers=as_api(role)).status_code == 403
    assert client.post(url).status_code == 401
    assert client.post(url, headers=as_api("nurse", "south-test")).status_code == 404
    assert client.post(url, headers=as_api("prescriber")).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("nurse", 201), ("coordinator", 201), ("manager", 201),
                                              ("prescriber", 403), ("admin", 403), ("patient", 403)])
def test_booking_roles(client, as_api, clock, world, planned, role, status):  # noqa: F811
    response = client.post("/api/v1/infusion-sessions", headers=as_api(role),
                           json={"patient_id": world.patient_north.id, "chair_id": world.north.chairs[0].id,
                                 "start": clock.now.isoformat()})
    assert response.status_code == status, response.text


def test_booking_another_clinics_patient_or_chair(client, as_api, clock, world, planned, db):  # noqa: F811
    sign_plan(db, world.patient_south, world.user("prescriber", "south-test").id)
    db.commit()
    other_patient = client.post("/api/v1/infusion-sessions", headers=as_api("nurse"),
                                json={"patient_id": world.patient_south.id, "chair_id": world.north.chairs[0].id,
                                      "start": clock.now.isoformat()})
    assert other_patient.status_code == 404
    other_chair = client.post("/api/v1/infusion-sessions", headers=as_api("nurse"),
                              json={"patient_id": world.patient_north.id, "chair_id": world.south.chairs[0].id,
                                    "start": clock.now.isoformat()})
    assert other_chair.status_code == 422 and other_chair.json()["problems"][0]["rule"] == "active_chair"


@pytest.mark.parametrize(("role", "status"), [("nurse", 200), ("coordinator", 200), ("manager", 200),
                                              ("prescriber", 200), ("admin", 403), ("patient", 403)])
def test_day_list_roles(client, as_api, role, status):
    assert client.get("/api/v1/infusion-sessions", headers=as_api(role)).status_code == status


def test_patient_session_list_scope(client, as_api, clock, world, planned):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("scheduled")
    url = f"/api/v1/patients/{world.patient_north.id}/infusion-sessions"
    assert [s["id"] for s in client.get(url, headers=as_api("nurse")).json()] == [walker.session_id]
    assert client.get(url, headers=as_api("nurse", "south-test")).status_code == 404
    assert client.get(url, headers=as_api("coordinator")).status_code == 403
    assert client.get(url).status_code == 401


# --- Pages --------------------------------------------------------------------------------------------------

PAGES = {"/chairside": CHART, "/chairside/book": MANAGE, "/infusions/{id}": CHART,
         "/infusions/{id}/reschedule": MANAGE}


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, as_api, clock, world, planned, db, role):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("scheduled")
    sign_in_browser(client, db, world.user(role))
    for template, allowed in PAGES.items():
        response = client.get(template.format(id=walker.session_id), follow_redirects=False)
        want = 200 if role in allowed else 403
        assert response.status_code == want, (template, role)


def test_pages_signed_out_redirect_and_other_clinic_404(client, as_api, south_walker, db, world):
    south_walker.to("discharged")
    for path in ("/chairside", "/chairside/book", f"/infusions/{south_walker.session_id}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    for path in ("", "/discharge-sheet", "/discharge-sheet.pdf"):
        assert client.get(f"/infusions/{south_walker.session_id}{path}").status_code == 404
    response = client.post(f"/infusions/{south_walker.session_id}/abort", data={"csrf_token": csrf, "reason": "x y"})
    assert response.status_code == 404


def test_page_posts_need_the_csrf_token_and_the_right_role(client, as_api, clock, world, planned, db):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("scheduled")
    csrf = sign_in_browser(client, db, world.user("coordinator"))
    url = f"/infusions/{walker.session_id}/arrive"
    assert client.post(url, data={"csrf_token": csrf}, follow_redirects=False).status_code == 403  # role
    client.cookies.clear()
    csrf = sign_in_browser(client, db, world.user("nurse"))
    assert client.post(url, data={}, follow_redirects=False).status_code == 403  # no token
    assert client.post(url, data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    override = client.post(f"/infusions/{walker.session_id}/duty-override", data={"csrf_token": csrf,
                                                                                   "reason": "desk duty"})
    assert override.status_code == 403  # a nurse cannot override the no-duty window
