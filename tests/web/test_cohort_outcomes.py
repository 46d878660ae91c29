"""Outcomes on the web: the JSON API and the /outcomes page give the same numbers to the roles that may read outcomes
(admin, prescriber, manager) and refuse the others; another clinic's patients are never counted; bad filters are
named; an empty cohort, a filter matching nobody and a tiny cohort are said plainly; the plots come as SVG and PNG
downloads; every view is audited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tests import factories
from tests.outcomes_support import add_course
from tests.web.support import (  # noqa: F401 - one app per module
    app,
    bearer,
    error_beside,
    module_app,
    sign_in_browser,
)

from tenfour.audit.models import AuditEvent
from tenfour.checkins.models import CheckIn, CheckinCourse

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=150)  # courses long ended: every outcome can be judged


def _north_cohort(db, world) -> None:  # type: ignore[no-untyped-def]
    """North: 3 patients (2 responders, one police officer); south: 5 patients who must never show up in north."""
    add_course(db, world.north, baseline=50, scores=[(1, 38), (14, 30), (21, 28), (28, 40), (35, 42)], start=START,
               agency="North Fire")
    add_course(db, world.north, baseline=50, scores=[(1, 45), (18, 34), (40, 33)], start=START, role="police")
    add_course(db, world.north, baseline=50, scores=[(1, None), (14, 48), (21, 46)], start=START)
    for _ in range(5):
        add_course(db, world.south, baseline=60, scores=[(1, 30), (14, 20)], start=START)
    db.commit()


@pytest.fixture
def cohort(db, world):  # type: ignore[no-untyped-def]
    _north_cohort(db, world)
    return world


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("prescriber", 200), ("manager", 200),
                                              ("nurse", 403), ("coordinator", 403), ("patient", 403)])
def test_who_may_read_outcomes_on_the_api(client, db, world, role: str, status: int) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/outcomes", headers=bearer(db, world.user(role)))
    assert response.status_code == status, response.text
    if status == 403:
        assert "does not allow" in response.json()["detail"]


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("prescriber", 200), ("manager", 200),
                                              ("nurse", 403), ("coordinator", 403), ("patient", 403)])
def test_who_may_open_the_page(client, db, world, role: str, status: int) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user(role))
    page = client.get("/outcomes")
    assert page.status_code == status
    home = client.get("/me" if role == "patient" else "/")
    assert ('href="/outcomes"' in home.text) is (status == 200)  # the menu offers it to exactly these roles


def test_signed_out(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/outcomes").status_code == 401
    for path in ("/outcomes", "/outcomes/plots/km.svg"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_only_the_clinics_own_patients_are_counted(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    north = client.get("/api/v1/outcomes", headers=bearer(db, cohort.user("prescriber"))).json()
    assert north["funnel"]["started"] == 3
    assert north["response_rate"] == {"value": 0.6667, "ci95": [0.2077, 0.9385], "n": 3, "count": 2}
    assert [c["slug"] for c in north["scope"]["clinics"]] == ["north-test"]
    south = client.get("/api/v1/outcomes", headers=bearer(db, cohort.user("prescriber", "south-test"))).json()
    assert south["funnel"]["started"] == 5 and south["response_rate"]["count"] == 5
    # Naming the other clinic does not reveal it: 404, the same as a clinic that does not exist.
    for slug in ("south-test", "no-such-clinic"):
        response = client.get(f"/api/v1/outcomes?clinic={slug}", headers=bearer(db, cohort.user("manager")))
        assert response.status_code == 404
    # An administrator of both clinics sees both by default, or one when asked.
    admin = factories.make_user(db, role="admin", clinics=[cohort.north, cohort.south])
    db.commit()
    both = client.get("/api/v1/outcomes", headers=bearer(db, admin)).json()
    assert both["funnel"]["started"] == 8 and [c["slug"] for c in both["scope"]["clinics"]] == ["north-test",
                                                                                              "south-test"]
    one = client.get("/api/v1/outcomes?clinic=north-test", headers=bearer(db, admin)).json()
    assert one["funnel"]["started"] == 3


def test_filters(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(db, cohort.user("manager"))
    police = client.get("/api/v1/outcomes?role=police", headers=headers).json()
    assert police["funnel"]["started"] == 1 and police["scope"]["filters"]["role"] == "police"
    agency = client.get("/api/v1/outcomes", params={"agency": "North Fire"}, headers=headers).json()
    assert agency["funnel"]["started"] == 1
    later = client.get(f"/api/v1/outcomes?from={START + timedelta(days=1)}", headers=headers).json()
    assert later["funnel"]["started"] == 0
    assert later["notes"] and "No " in later["notes"][0]
    within = client.get(f"/api/v1/outcomes?from={START}&to={START}&protocol=induction", headers=headers).json()
    assert within["funnel"]["started"] == 3


@pytest.mark.parametrize(("query", "field", "words"), [
    ("role=pilot", "role", "must be one of"),
    ("from=2026-13-01", "from", "YYYY-MM-DD"),
    ("from=2026-05-02&to=2026-05-01", "to", "before it starts"),
    ("protocol=weekly", "protocol", "must be one of"),
])
def test_bad_filters_are_named(client, db, world, query: str, field: str, words: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/outcomes?{query}", headers=bearer(db, world.user("manager")))
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [p["field"] for p in problems] == [field] and words in problems[0]["message"]
    sign_in_browser(client, db, world.user("manager"))
    page = client.get(f"/outcomes?{query}")
    assert page.status_code == 422
    assert words in (error_beside(page.text, field) or "")
    assert "This cohort" not in page.text  # no numbers for filters that could not be read


def test_an_empty_clinic_says_so(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("prescriber"))
    page = client.get("/outcomes")
    assert page.status_code == 200
    assert "No patients match" in page.text
    table = page.text.split("This cohort</h2>")[1].split("</table>")[0]
    assert "no patients yet" in table and not re.search(r"\d+% \(\d+ of \d+\)", table)  # no share without patients


def test_a_filter_matching_nobody_says_so(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, cohort.user("manager"))
    page = client.get("/outcomes?role=corrections")
    assert page.status_code == 200 and "No patients match" in page.text


def test_a_tiny_cohort_shows_n_and_the_interval(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, cohort.user("manager"))
    page = client.get("/outcomes")
    assert page.status_code == 200
    assert "Only 3 patients have finished a course with a score: too few to judge a rate." in page.text
    row = page.text.split('id="row-response_rate"')[1].split("</tr>")[0]
    assert "67% (2 of 3)" in row and "21% to 94%" in row and "too few to judge" in row
    claims = page.text.split('id="claims"')[1]
    assert claims.count("not enough data yet") >= 4 and "cannot be checked here" in claims
    assert "product choice" in claims.split("</p>")[0]  # the verdict rule is labelled as a product choice


def test_plots(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, cohort.user("manager"))
    page = client.get("/outcomes?role=police")
    token = re.search(r'src="/outcomes/plots/km\.svg\?role=police&amp;view=([\w-]+)"', page.text)
    assert token, "the page's plots carry its filters and its token"
    # The token serves the page's own numbers; with other filters (here: none) the plot is counted afresh.
    assert "n = 1, losses = 0" in client.get(f"/outcomes/plots/km.svg?role=police&view={token[1]}").text
    assert "n = 2, losses = 1" in client.get(f"/outcomes/plots/km.svg?view={token[1]}").text
    for name in ("km", "waterfall", "trajectories"):
        svg = client.get(f"/outcomes/plots/{name}.svg?role=police")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in svg.content and "content-disposition" not in svg.headers
        assert "script-src" not in svg.headers["content-security-policy"]  # images: the SVG policy
        png = client.get(f"/outcomes/plots/{name}.png?download=1")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        assert png.headers["content-disposition"] == f'attachment; filename="tenfour-outcomes-{name}.png"'
    km = client.get("/outcomes/plots/km.svg").text
    assert "n = 2, losses = 1" in km  # two responders after the course in north, one lost response
    assert client.get("/outcomes/plots/pie.svg").status_code == 404
    assert client.get("/outcomes/plots/km.gif").status_code == 404
    assert client.get("/outcomes/plots/km.svg?clinic=south-test").status_code == 404


def test_views_are_audited(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    manager = cohort.user("manager")
    client.get("/api/v1/outcomes?role=police", headers=bearer(db, manager))
    sign_in_browser(client, db, manager)
    client.get("/outcomes")
    client.get("/outcomes/plots/km.svg")  # the image on the page: the page view is the audit record
    client.get("/outcomes/plots/km.png?download=1")
    db.expire_all()
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "outcomes.view")
                             .order_by(AuditEvent.id)))
    assert [e.detail["channel"] for e in events] == ["api", "page", "download:km.png"]
    assert all(e.actor_user_id == manager.id and e.clinic_id == cohort.north.id for e in events)
    assert events[0].detail["filters"]["role"] == "police"


def test_the_page_and_the_api_give_the_same_numbers(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    manager = cohort.user("manager")
    api = client.get("/api/v1/outcomes", headers=bearer(db, manager)).json()
    sign_in_browser(client, db, manager)
    page = client.get("/outcomes").text
    row = page.split('id="row-improved_at_24h"')[1].split("</tr>")[0]
    estimate = api["improved_at_24h"]
    assert f"{round(100 * estimate['value'])}% ({estimate['count']} of {estimate['n']})" in row
    assert date.fromisoformat(api["scope"]["clinics"][0]["as_of"]) >= START


def test_the_page_says_when_it_counted_and_a_new_check_in_shows_at_once(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    """The page adds up each course's stored facts; what changed since is recounted first, and the page says so."""
    manager = cohort.user("manager")
    sign_in_browser(client, db, manager)
    first = client.get("/outcomes").text
    assert re.search(r"Counted at \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(America/Chicago\)", first)
    assert "(3 this time)" in first  # the three north courses, counted for the first time
    assert "(0 this time)" in client.get("/outcomes").text  # nothing changed: nothing recounted
    # The third patient (no response so far) answers a check-in well below baseline: a responder at once.
    course = db.scalars(select(CheckinCourse).where(CheckinCourse.clinic_id == cohort.north.id)
                        .order_by(CheckinCourse.id.desc())).first()
    before = client.get("/api/v1/outcomes", headers=bearer(db, manager)).json()["response_rate"]
    today = datetime.now(ZoneInfo(cohort.north.timezone)).date()  # the clinic's day (the page's as-of day)
    db.add(CheckIn(clinic_id=course.clinic_id, patient_id=course.patient_id, course_id=course.id, kind="extra",
                   due_on=today, status="completed", completed_at=datetime.now(UTC), completed_on=today,
                   pcl5_total=10))
    db.commit()
    after = client.get("/outcomes").text
    assert "(1 this time)" in after
    response = client.get("/api/v1/outcomes", headers=bearer(db, manager)).json()["response_rate"]
    assert (before["count"], response["count"], response["n"]) == (2, 3, before["n"])
