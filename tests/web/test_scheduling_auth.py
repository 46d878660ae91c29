"""Who may do what in scheduling: every endpoint for each role that may (its success status), each role that may not
(403), another clinic's record (404) and no one signed in (401 for the API; pages 303 to the sign-in page)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.web.infusion_helpers import clock  # noqa: F401
from tests.web.scheduling_helpers import clinic_day, firefighter  # noqa: F401
from tests.web.support import sign_in_browser

ROLES = ("prescriber", "nurse", "coordinator", "manager", "admin", "patient")
VIEW = {"prescriber", "nurse", "coordinator", "manager"}
MANAGE = {"nurse", "coordinator", "manager"}
SELF = {"patient"}
EVERYONE = set(ROLES)


class Ids:
    """Records made for a case: a waiting request, a preview run, a booked session."""

    def __init__(self, client: Any, as_api: Any, patient: Any, now: Any) -> None:
        self.patient = patient.id
        self.day = clinic_day(now.now)
        self.request = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]
        self.run = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 2},
                               headers=as_api("coordinator")).json()
        self.session: int | None = None

    def book(self, client: Any, as_api: Any) -> int:
        done = client.post(f"/api/v1/scheduling/runs/{self.run['id']}/commit", headers=as_api("coordinator"))
        self.session = done.json()["session_ids"][-1]
        return self.session


def _later(ids: Ids) -> dict[str, Any]:
    placed = sorted(ids.run["sessions"], key=lambda s: s["session_index"])[-1]
    from datetime import datetime

    return {"chair_id": placed["chair_id"], "start": (datetime.fromisoformat(placed["start"])
                                                      + timedelta(hours=2)).isoformat()}


# name: (method, path (format with ids), body, allowed roles, success status, needs a booked session)
CASES: dict[str, tuple[str, str, Any, set[str], int, bool]] = {
    "preview": ("POST", "/rosters/preview", {"pattern": "kelly", "anchor_date": "2026-01-05",
                                              "shift_start": "07:00", "timezone": "America/Chicago", "days": 9},
                EVERYONE, 200, False),
    "my-roster": ("GET", "/me/roster", None, SELF, 200, False),
    "my-roster-save": ("PUT", "/me/roster", {"pattern": None}, SELF, 200, False),
    "my-change": ("POST", "/me/duty-changes", "change", SELF, 201, False),
    "requests": ("GET", "/scheduling/requests", None, VIEW, 200, False),
    "request-add": ("POST", "/scheduling/requests", "request", MANAGE, 201, False),
    "request-cancel": ("POST", "/scheduling/requests/{request}/cancel", {"reason": "not needed"}, MANAGE, 200, False),
    "run": ("POST", "/scheduling/runs", {"time_limit_s": 1}, MANAGE, 201, False),
    "run-get": ("GET", "/scheduling/runs/{run}", None, VIEW, 200, False),
    "run-commit": ("POST", "/scheduling/runs/{run}/commit", None, MANAGE, 200, False),
    "run-discard": ("POST", "/scheduling/runs/{run}/discard", None, MANAGE, 200, False),
    "reschedule": ("POST", "/scheduling/sessions/{session}/reschedule", "later", MANAGE, 200, True),
    "my-slots": ("GET", "/me/scheduling/requests/{request}/slots", None, SELF, 200, False),
    "my-book": ("POST", "/me/scheduling/requests/{request}/book", {"starts": []}, SELF, 422, False),
    "my-ics": ("GET", "/me/appointments.ics", None, SELF, 200, False),
    "patient-ics": ("GET", "/patients/{patient}/appointments.ics", None, VIEW, 200, False),
    "fhir": ("GET", "/fhir/Appointment/{session}", None, VIEW, 200, True),
    "fhir-search": ("GET", "/fhir/Appointment?patient={patient}", None, VIEW, 200, False),
    "calendar": ("GET", "/scheduling/calendar", None, VIEW, 200, False),
    "settings": ("GET", "/scheduling/settings", None, VIEW, 200, False),
    "nurses": ("PUT", "/scheduling/settings/nurses", {"nurses": {"5": 2}}, MANAGE, 200, False),
    "closure": ("POST", "/scheduling/closures", "closure", MANAGE, 201, False),
}
MATRIX = [(name, role) for name in CASES for role in ROLES]


def _call(client: Any, ids: Ids, name: str, headers: dict[str, str]) -> Any:
    method, path, body, _, _, _ = CASES[name]
    url = "/api/v1" + path.format(request=ids.request, run=ids.run["id"], session=ids.session, patient=ids.patient)
    if body == "change":
        body = {"kind": "leave", "start": f"{ids.day + timedelta(days=2)}T00:00:00-06:00",
                "end": f"{ids.day + timedelta(days=3)}T00:00:00-06:00"}
    elif body == "request":
        body = {"patient_id": ids.patient, "kind": "single", "earliest": str(ids.day + timedelta(days=1))}
    elif body == "closure":
        body = {"day": str(ids.day + timedelta(days=40))}
    elif body == "later":
        body = _later(ids)
    return client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("name", "role"), MATRIX, ids=[f"{n}-{r}" for n, r in MATRIX])
def test_each_role(client, as_api, world, clock, firefighter, name, role):  # noqa: F811
    ids = Ids(client, as_api, firefighter, clock)
    if CASES[name][5]:
        ids.book(client, as_api)
    response = _call(client, ids, name, as_api(role))
    want = CASES[name][4] if role in CASES[name][3] else 403
    assert response.status_code == want, response.text[:300]


@pytest.mark.parametrize("name", [n for n in CASES if n != "preview"])
def test_no_one_signed_in(client, world, clock, firefighter, as_api, name):  # noqa: F811
    ids = Ids(client, as_api, firefighter, clock)
    assert _call(client, ids, name, {}).status_code == 401


@pytest.mark.parametrize("name", ["request-cancel", "run-get", "run-commit", "run-discard", "reschedule",
                                  "patient-ics", "fhir", "fhir-search"])
def test_another_clinics_record_is_not_found(client, as_api, world, clock, firefighter, name):  # noqa: F811
    ids = Ids(client, as_api, firefighter, clock)
    if CASES[name][5]:
        ids.book(client, as_api)
    role = "manager" if name != "fhir" else "nurse"
    assert _call(client, ids, name, as_api(role, "south-test")).status_code == 404


PAGES = [("/schedule", VIEW), ("/schedule/calendar", VIEW), ("/schedule/calendar?view=week", VIEW),
         ("/schedule/settings", VIEW), ("/schedule/requests/new", MANAGE), ("/me/roster", SELF),
         ("/me/schedule", SELF), ("/me/appointments.ics", SELF)]


@pytest.mark.parametrize(("path", "allowed"), PAGES, ids=[p for p, _ in PAGES])
def test_pages_by_role(client, db, world, clock, firefighter, path, allowed):  # noqa: F811
    assert client.get(path, follow_redirects=False).status_code == 303  # to the sign-in page
    for role in ROLES:
        sign_in_browser(client, db, world.user(role))
        response = client.get(path, follow_redirects=False)
        assert response.status_code == (200 if role in allowed else 403), (role, response.text[:200])
        client.cookies.clear()
