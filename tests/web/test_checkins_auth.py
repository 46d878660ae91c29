"""Who may do what with check-ins: every endpoint for each role that may (its success status), each role that may not
(403), another clinic's record (404, as for a missing one) and no one signed in (API 401; pages 303 to sign in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from tests.checkins_support import CSSRS_LOW, ctx_for, give_course, monday_weeks_ago, pcl5_answers, phq9_answers, sync
from tests.web.support import app, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.checkins import service
from tenfour.checkins.models import BoosterProposal
from tenfour.links import service as links

ROLES = ("prescriber", "nurse", "coordinator", "manager", "admin", "patient")
CLINICAL = {"prescriber", "nurse", "coordinator"}
READ = CLINICAL | {"patient"}


@dataclass
class Ids:
    patient: int
    checkin: int  # a check-in waiting for its C-SSRS follow-up
    proposal: int


@pytest.fixture
def ids(db, world) -> dict[str, Ids]:  # type: ignore[no-untyped-def]
    out = {}
    for scope, patient, clinic in (("own", world.patient_north, world.north), ("other", world.patient_south,
                                                                               world.south)):
        first = monday_weeks_ago(3)
        course = give_course(db, patient, world.user("prescriber", clinic.slug), first)
        sync(db, course, first - timedelta(days=1))
        flagged = service.submit(db, ctx_for(world.user("nurse", clinic.slug)), patient.id,
                                 service.Answers(pcl5_answers(30), phq9_answers(6, 1)))
        proposal = BoosterProposal(clinic_id=clinic.id, patient_id=patient.id, window_start=date.today(),
                                   window_end=date.today() + timedelta(days=7), latest_treatment_end=date.today(),
                                   median_durability_days=28, n_episodes=1, n_censored=0, explanation="x")
        db.add(proposal)
        db.flush()
        out[scope] = Ids(patient.id, flagged.checkin.id, proposal.id)
    db.commit()
    return out


def answers_json() -> dict[str, Any]:
    return {"answers": {"pcl5": pcl5_answers(30), "phq9": phq9_answers(6)}}


def answers_form() -> dict[str, str]:
    data = {f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()}
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6).items()})
    return data


EVALUATE = {"baseline_pcl5": 50, "course_start": "2025-03-03", "as_of": "2025-03-20",
            "checkins": [{"date": "2025-03-08", "pcl5": 30}]}

# name: (method, path (with {patient}, {checkin}, {proposal}), roles allowed, scoped, body, success status)
API: dict[str, tuple[str, str, set[str], bool, Any, int]] = {
    "evaluate": ("POST", "/api/v1/relapse/evaluate", CLINICAL, False, EVALUATE, 200),
    "list": ("GET", "/api/v1/patients/{patient}/checkins", READ, True, None, 200),
    "submit": ("POST", "/api/v1/patients/{patient}/checkins", READ, True, answers_json(), 201),
    "cssrs": ("POST", "/api/v1/patients/{patient}/checkins/{checkin}/cssrs", READ, True, {"answers": CSSRS_LOW}, 201),
    "signs": ("GET", "/api/v1/patients/{patient}/warning-signs", READ, True, None, 200),
    "set-signs": ("PUT", "/api/v1/patients/{patient}/warning-signs", CLINICAL, True, {"codes": ["sleep"]}, 200),
    "prefs": ("GET", "/api/v1/me/checkin-preferences", {"patient"}, False, None, 200),
    "set-prefs": ("PUT", "/api/v1/me/checkin-preferences", {"patient"}, False, {"reminder_hour": 18}, 200),
    "proposals": ("GET", "/api/v1/booster-proposals", CLINICAL, False, None, 200),
    "accept": ("POST", "/api/v1/booster-proposals/{proposal}/accept", {"prescriber"}, True, {}, 201),
    "decline": ("POST", "/api/v1/booster-proposals/{proposal}/decline", {"prescriber"}, True,
                {"reason": "Doing well"}, 200),
    "requests": ("GET", "/api/v1/booster-requests", CLINICAL | {"manager"}, False, None, 200),
}
PAGES: dict[str, tuple[str, str, set[str], bool, Any, int]] = {
    "form": ("GET", "/me/checkin", {"patient"}, False, None, 200),
    "answer": ("POST", "/me/checkin", {"patient"}, False, answers_form(), 303),
    "done": ("GET", "/me/checkin/{checkin}/done", {"patient"}, True, None, 200),
    "cssrs": ("POST", "/me/checkin/{checkin}/cssrs", {"patient"}, True,
              {f"cssrs-{k}": str(v) for k, v in CSSRS_LOW.items()}, 303),
    "mine": ("GET", "/me/checkins", {"patient"}, False, None, 200),
    "prefs": ("POST", "/me/checkins/preferences", {"patient"}, False, {"reminder_hour": "9"}, 303),
    "my-chart": ("GET", "/me/checkins/trajectory.svg", {"patient"}, False, None, 200),
    "board": ("GET", "/checkins", CLINICAL, False, None, 200),
    "boosters": ("GET", "/checkins/boosters", CLINICAL, False, None, 200),
    "accept": ("POST", "/checkins/boosters/{proposal}/accept", {"prescriber"}, True, {}, 303),
    "decline": ("POST", "/checkins/boosters/{proposal}/decline", {"prescriber"}, True, {"reason": "Doing well"}, 303),
    "chart": ("GET", "/patients/{patient}/checkins/trajectory.svg", READ, True, None, 200),
    "signs": ("POST", "/patients/{patient}/checkins/warning-signs", CLINICAL, True, {"codes": "sleep"}, 303),
    "enter-form": ("GET", "/patients/{patient}/checkins/enter", CLINICAL, True, None, 200),
    "enter": ("POST", "/patients/{patient}/checkins/enter", CLINICAL, True, answers_form(), 303),
}


def _path(template: str, ids: Ids) -> str:
    return template.format(patient=ids.patient, checkin=ids.checkin, proposal=ids.proposal)


def _api(client, as_api, name: str, role: str | None, target: Ids):  # type: ignore[no-untyped-def]
    method, template, _, _, body, _ = API[name]
    headers = as_api(role) if role else {}
    return client.request(method, _path(template, target), json=body, headers=headers)


def _page(client, db, world, name: str, role: str | None, target: Ids):  # type: ignore[no-untyped-def]
    method, template, _, _, body, _ = PAGES[name]
    token = sign_in_browser(client, db, world.user(role)) if role else None
    data = None
    if method == "POST":
        data = {**(body or {}), "csrf_token": token or "none"}
        if not role:
            from tenfour.web.security import CSRF_COOKIE, new_csrf_token

            token = new_csrf_token(client.app.state.secret_key)
            client.cookies.set(CSRF_COOKIE, token)
            data["csrf_token"] = token
    return client.request(method, _path(template, target), data=data, follow_redirects=False)


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in API for r in ROLES], ids=lambda v: str(v))
def test_api_each_role(client, as_api, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    response = _api(client, as_api, name, role, ids["own"])
    _, _, allowed, _, _, success = API[name]
    assert response.status_code == (success if role in allowed else 403), response.text[:300]


@pytest.mark.parametrize("name", list(API))
def test_api_signed_out(client, as_api, ids, name) -> None:  # type: ignore[no-untyped-def]
    assert _api(client, as_api, name, None, ids["own"]).status_code == 401


@pytest.mark.parametrize("name", [n for n, spec in API.items() if spec[3]])
def test_api_another_clinics_record_is_not_found(client, as_api, ids, name) -> None:  # type: ignore[no-untyped-def]
    role = "prescriber" if next(iter(API[name][2])) == "prescriber" and len(API[name][2]) == 1 else "nurse"
    assert _api(client, as_api, name, role, ids["other"]).status_code == 404
    if name in ("list", "signs"):
        patient_role = _api(client, as_api, name, "patient", ids["other"])
        assert patient_role.status_code == 404  # a patient sees only themself


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in PAGES for r in ROLES], ids=lambda v: str(v))
def test_pages_each_role(client, db, world, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    response = _page(client, db, world, name, role, ids["own"])
    _, _, allowed, _, _, success = PAGES[name]
    assert response.status_code == (success if role in allowed else 403), response.text[:300]


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_signed_out_go_to_sign_in(client, db, world, ids, name) -> None:  # type: ignore[no-untyped-def]
    response = _page(client, db, world, name, None, ids["own"])
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("name", [n for n, spec in PAGES.items() if spec[3]])
def test_pages_another_clinics_record_is_not_found(client, db, world, ids, name) -> None:  # type: ignore[no-untyped-def]
    allowed = PAGES[name][2]
    role = "patient" if allowed == {"patient"} else ("prescriber" if allowed == {"prescriber"} else "nurse")
    assert _page(client, db, world, name, role, ids["other"]).status_code == 404


def test_a_reminder_link_opens_for_anyone_holding_it_and_only_that_patients_check_in(client, db, world,
                                                                                     ids) -> None:
    token, _ = links.issue(db, purpose="checkin", ttl=timedelta(hours=1), patient_id=ids["own"].patient)
    db.commit()
    page = client.get(f"/checkin/{token}")
    assert page.status_code == 200 and world.patient_north.display_name not in page.text.split("<main")[0]
    other_purpose, _ = links.issue(db, purpose="invitation", ttl=timedelta(hours=1), patient_id=ids["own"].patient)
    db.commit()
    assert client.get(f"/checkin/{other_purpose}").status_code == 410  # an invitation is not a check-in link
    assert client.get("/checkin/done/1.99999999999.forged").status_code == 404
