"""Queries per page are bounded: no page or list endpoint sends more statements as the clinic's data grows (issue 10).

One test builds a clinic with a little data — two patients in treatment, a few check-ins, alerts, referrals, two
chairs busy today, one plan waiting to be scheduled — and counts the SQL statements of each main staff and patient
page and JSON list (tests/query_counter.py: SQLAlchemy's ``before_cursor_execute`` on the test's connection). Then
it adds ten times as much (twenty more patients with longer histories, more chairs busy today, more referrals,
waiting plans, staff accounts and alerts) and counts again. A page whose count grows with the data makes one query
per row somewhere (an N+1): the test names it and the statements it repeated.

The pages that show one record (a chart, a session, the patient's own pages) are measured on a record with a short
history first and a record with a long history the second time, so the count must not grow with that record's
rows either. Each request is made once before it is counted, so one-off work (a schedule synced on first view,
caches) is not mistaken for a difference. The POST of a check-in runs inside a SAVEPOINT that is rolled back; its
count also depends on what the check-in changes (a new relapse state writes a transition), so it may differ both
ways, but must not grow.

The counts themselves are printed (``-s``) and kept in docs/benchmarks.md ("Queries per page"):

    .venv/bin/pytest -q -s -p no:cacheprovider tests/web/test_query_counts.py
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from tests import factories
from tests.checkins_support import CHICAGO, Course, give_course, pcl5_answers, phq9_answers, sync
from tests.checkins_support import Clock as CheckinsClock
from tests.checkins_support import check_in as staff_check_in
from tests.conftest import World
from tests.query_counter import CountedQueries, count_queries
from tests.web.infusion_helpers import recent_wednesday_0830
from tests.web.support import form_fields, open_token

from tenfour.accounts.models import User
from tenfour.alerts import service as alerts
from tenfour.alerts.models import AlertKind, Severity
from tenfour.checkins import repository as checkins_repository
from tenfour.clinics.models import Chair, Clinic
from tenfour.context import Ctx
from tenfour.core.infusion import Step
from tenfour.infusions import demo_data as infusions_demo
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.referrals.models import Referral, ReferralEvent, ReferralStatus
from tenfour.referrals.service import _new_reference
from tenfour.web.security import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token

# "Now" for every clock of the app: a recent Wednesday at 12:05 in Chicago (the test clinic's zone): open, mid-day.
NOW = (recent_wednesday_0830() + timedelta(hours=3, minutes=35)).astimezone(UTC)
TODAY = NOW.astimezone(CHICAGO).date()


@dataclass(frozen=True)
class Request:
    name: str
    role: str  # staff role of the north clinic, or "patient"
    method: str
    path: str  # formatted with Built.values()
    api: bool = False
    shows: str | None = None  # text the page must contain after the larger build (formatted like the path)


PAGES = (
    Request("Home (staff)", "prescriber", "GET", "/"),
    Request("Patient list", "prescriber", "GET", "/patients"),
    Request("Patient chart", "prescriber", "GET", "/patients/{chart_patient}"),
    Request("Alerts inbox", "prescriber", "GET", "/alerts", shows="Treated{seed}x{last_treated}"),
    Request("Chairside board", "nurse", "GET", "/chairside", shows="Chair T{seed}-{last_chair}"),
    Request("Infusion session", "nurse", "GET", "/infusions/{session}"),
    Request("Waiting list", "coordinator", "GET", "/schedule", shows="Waiting{seed}x{last_waiting}"),
    Request("Calendar (day)", "coordinator", "GET", "/schedule/calendar", shows="Seated{seed}x{last_chair}"),
    Request("Calendar (week)", "coordinator", "GET", "/schedule/calendar?view=week"),
    Request("Check-ins board", "prescriber", "GET", "/checkins"),
    Request("Booster proposals", "prescriber", "GET", "/checkins/boosters"),
    Request("Outcomes dashboard", "prescriber", "GET", "/outcomes"),
    Request("Referral triage", "prescriber", "GET", "/referrals", shows="Referred{seed}x{last_referral}"),
    Request("Admin: users", "admin", "GET", "/admin/users", shows="Staff{seed}x{last_staff}"),
    Request("Admin: audit log", "admin", "GET", "/admin/audit"),
    Request("Patient: home", "patient", "GET", "/me"),
    Request("Patient: my check-ins", "patient", "GET", "/me/checkins"),
    Request("Patient: check-in form", "patient", "GET", "/me/checkin"),
    Request("Patient: check-in submission", "patient", "POST", "/me/checkin"),
    Request("Patient: my schedule", "patient", "GET", "/me/schedule"),
    Request("Patient: who opened my record", "patient", "GET", "/me/access-log"),
    Request("API: patients", "prescriber", "GET", "/api/v1/patients", api=True),
    Request("API: alerts", "prescriber", "GET", "/api/v1/alerts", api=True),
    Request("API: infusion sessions", "nurse", "GET", "/api/v1/infusion-sessions", api=True),
    Request("API: a patient's sessions", "nurse", "GET", "/api/v1/patients/{chart_patient}/infusion-sessions",
            api=True),
    Request("API: a patient's check-ins", "prescriber", "GET", "/api/v1/patients/{chart_patient}/checkins", api=True),
    Request("API: referrals", "prescriber", "GET", "/api/v1/referrals", api=True,
            shows="Referred{seed}x{last_referral}"),
    Request("API: waiting list", "coordinator", "GET", "/api/v1/scheduling/requests", api=True,
            shows="Waiting{seed}x{last_waiting}"),
    Request("API: calendar", "coordinator", "GET", "/api/v1/scheduling/calendar", api=True),
    Request("API: booster proposals", "prescriber", "GET", "/api/v1/booster-proposals", api=True),
    Request("API: outcomes", "prescriber", "GET", "/api/v1/outcomes", api=True),
    Request("API: audit log", "admin", "GET", "/api/v1/audit", api=True),
)


@dataclass(frozen=True)
class Size:
    """How much one build step adds to the north clinic."""

    treated: int  # patients with a given course, scheduled and answered check-ins, an alert and a login
    course_weeks: int  # how long ago their course began (a longer history: more check-ins answered)
    infusions: int  # the course's infusions, all given
    checkins: int  # check-ins each answers (at most those due before today)
    upcoming: int  # sessions booked ahead for the first of them (the chart's and the patient's own pages)
    in_chairs: int  # patients in a chair today (the first infusing with `readings` vitals, others arrived)
    readings: int
    waiting: int  # signed plans with no session yet: the waiting list
    referrals: int
    staff: int  # more staff accounts


SMALL = Size(treated=2, course_weeks=3, infusions=6, checkins=3, upcoming=1, in_chairs=2, readings=2, waiting=1,
             referrals=2, staff=0)
MORE = Size(treated=20, course_weeks=10, infusions=12, checkins=10, upcoming=5, in_chairs=8, readings=8, waiting=10,
            referrals=20, staff=10)


@dataclass
class Built:
    """What the latest build step made: the records the single-record pages are measured on."""

    size: Size
    seed: int
    chart_patient: Patient | None = None  # a treated patient (with a login: the patient pages are theirs)
    last_pcl5: int = 0  # the chart patient's latest PCL-5 total (the counted check-in repeats it: no sudden change)
    session: InfusionSession | None = None  # infusing today
    counted: dict[str, CountedQueries] = field(default_factory=dict)  # name -> the statements of its request

    def values(self) -> dict[str, Any]:
        assert self.chart_patient is not None and self.session is not None
        return {"chart_patient": self.chart_patient.id, "session": self.session.id, "seed": self.seed,
                "last_treated": self.size.treated - 1, "last_chair": self.size.in_chairs - 1,
                "last_waiting": self.size.waiting - 1, "last_referral": self.size.referrals - 1,
                "last_staff": self.size.staff - 1}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> CheckinsClock:
    """One frozen clock for the check-ins, chairside and scheduling domains (scheduling reads the chairside's)."""
    frozen = CheckinsClock(NOW)
    monkeypatch.setattr("tenfour.checkins.clock.now", lambda: frozen.now)
    monkeypatch.setattr("tenfour.infusions.clock.now", lambda: frozen.now)
    return frozen


def _monday_before(day: date, weeks: int) -> date:
    start = day - timedelta(weeks=weeks)
    return start - timedelta(days=start.weekday())


def grow(db: Session, world: World, clock: CheckinsClock, size: Size, seed: int) -> Built:
    """Add `size` worth of records to the north clinic (see Size); returns the records to measure pages on."""
    clinic: Clinic = world.north
    prescriber, nurse = world.user("prescriber"), world.user("nurse")
    ctx = Ctx.system("query-count-test")
    rng = random.Random(seed)
    built = Built(size, seed)
    chart_course: Course | None = None
    for n in range(size.treated):
        user = factories.make_user(db, role="patient", clinics=[])
        patient = factories.make_patient(db, clinic, status="active", user_id=user.id, first_name=f"Treated{seed}x{n}")
        first = _monday_before(TODAY, size.course_weeks)
        course = give_course(db, patient, prescriber, first, infusions=size.infusions)
        clock.at(first - timedelta(days=1))
        sync(db, course, first - timedelta(days=1))
        assert course.course is not None
        due = sorted((c for c in checkins_repository.scheduled_checkins(db, course.course.id)
                      if c.status == "pending" and c.due_on < TODAY), key=lambda c: c.due_on)
        score = 0
        for index, row in enumerate(due[:size.checkins]):
            # Scores that fall, with PHQ-9 item 9 answered once for every other patient: urgent alerts in the inbox.
            score = max(12, 52 - 4 * index)
            staff_check_in(db, clock, nurse, patient, row.due_on, score, item9=1 if index == 1 and n % 2 == 0 else 0,
                           seed=n)
        alerts.raise_alert(db, ctx, clinic_id=clinic.id, patient_id=patient.id, severity=Severity.WATCH,
                           kind=AlertKind.RELAPSE.value, title=f"Early warning for {patient.first_name}", reasons=[])
        if built.chart_patient is None:
            built.chart_patient, built.last_pcl5, chart_course = patient, score, course
    clock.now = NOW

    builder = infusions_demo.Builder(db, clinic, infusions_demo.Staff(prescriber, [nurse]), rng)
    for n in range(size.in_chairs):
        chair = Chair(clinic_id=clinic.id, name=f"Chair T{seed}-{n}", position=100 * seed + n)
        db.add(chair)
        patient = factories.make_patient(db, clinic, status="active", first_name=f"Seated{seed}x{n}")
        plan = infusions_demo.ensure_signed_plan(db, patient, prescriber, NOW - timedelta(days=14))
        db.flush()
        if n == 0:  # infusing for 25 minutes, with a reading every few minutes
            session = builder.session(patient, plan, chair, NOW - timedelta(minutes=45))
            builder.through_prechecks(session, patient, NOW - timedelta(minutes=50))
            builder.start(session, builder.dose(session, patient, plan, NOW - timedelta(minutes=33)),
                          NOW - timedelta(minutes=25))
            for k in range(size.readings):
                builder.reading(session, "infusing", NOW - timedelta(minutes=24 - 2 * k), nurse, 130 + k, 80, 84, 97)
            built.session = session
        else:  # arrived, waiting for pre-checks
            session = builder.session(patient, plan, chair, NOW - timedelta(minutes=5 + n))
            builder.move(session, Step.ARRIVED, NOW - timedelta(minutes=6 + n), nurse)
    assert built.chart_patient is not None and chart_course is not None
    for k in range(size.upcoming):  # booked ahead: weekly, late morning
        start = datetime.combine(TODAY + timedelta(days=7 * (k + 1)), time(10, 30), tzinfo=CHICAGO)
        builder.session(built.chart_patient, chart_course.plan, clinic.chairs[0], start)
    sync(db, chart_course, TODAY)  # the check-ins follow the bookings (as the nightly sweep would make them)
    for n in range(size.waiting):
        patient = factories.make_patient(db, clinic, status="active", first_name=f"Waiting{seed}x{n}")
        infusions_demo.ensure_signed_plan(db, patient, prescriber, NOW - timedelta(days=3))
    for n in range(size.referrals):
        referral = Referral(clinic_id=clinic.id, reference=_new_reference(db), status=ReferralStatus.NEW.value,
                            referrer_relation="self", first_name=f"Referred{seed}x{n}", last_name="Person",
                            preferred_contact="phone", phone="(555) 010-2000", reason="Trouble sleeping since a call",
                            consent_to_contact=True, responder_role="firefighter")
        referral.events = [ReferralEvent(kind="received", to_status=ReferralStatus.NEW.value,
                                         by_label="Referral form")]
        db.add(referral)
    for n in range(size.staff):
        factories.make_user(db, role=rng.choice(("nurse", "coordinator", "prescriber")), clinics=[clinic],
                            full_name=f"Staff{seed}x{n}")
    db.flush()
    db.commit()
    return built


class Caller:
    """Makes a request as one role of the north clinic (a browser session, or a Bearer token for the API)."""

    def __init__(self, client: TestClient, db: Session, world: World) -> None:
        self.client, self.db, self.world = client, db, world
        self.browser: dict[tuple[str, int], str] = {}
        self.api: dict[tuple[str, int], str] = {}
        self.csrf = new_csrf_token(client.app.state.secret_key)  # type: ignore[attr-defined]

    def user(self, role: str, patient: Patient) -> User:
        if role == "patient":
            user = self.db.get(User, patient.user_id)
            assert user is not None
            return user
        return self.world.user(role)

    def __call__(self, request: Request, built: Built, data: dict[str, Any] | None = None) -> Any:
        assert built.chart_patient is not None
        user = self.user(request.role, built.chart_patient)
        path = request.path.format(**built.values())
        self.client.cookies.clear()
        if request.api:
            if (request.role, user.id) not in self.api:
                self.api[(request.role, user.id)] = open_token(self.db, user, "api")
                self.db.commit()
            return self.client.request(request.method, path,
                                       headers={"Authorization": f"Bearer {self.api[(request.role, user.id)]}"})
        if (request.role, user.id) not in self.browser:
            self.browser[(request.role, user.id)] = open_token(self.db, user, "browser")
            self.db.commit()
        self.client.cookies.set(SESSION_COOKIE, self.browser[(request.role, user.id)])
        self.client.cookies.set(CSRF_COOKIE, self.csrf)
        if request.method == "GET":
            return self.client.get(path)
        return self.client.post(path, data=data, follow_redirects=False)

    def checkin_form(self, request: Request, built: Built) -> dict[str, Any]:
        """The check-in form as the browser has it (its CSRF token and submission key), answered."""
        form = self(Request(request.name, request.role, "GET", request.path), built)
        assert form.status_code == 200, (request.path, form.status_code, form.text[:300])
        data: dict[str, Any] = dict(form_fields(form.text, request.path))
        data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(built.last_pcl5).items()})
        data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6).items()})
        return data


def measure(caller: Caller, connection: Connection, built: Built, *, check_shown: bool = False) -> dict[str, int]:
    """Each request's statement count (its second call; a POST once, inside a SAVEPOINT rolled back after)."""
    counts: dict[str, int] = {}
    for request in PAGES:
        data = None
        if request.method == "GET":
            warm = caller(request, built)
            assert warm.status_code == 200, (request.name, warm.status_code, warm.text[:500])
        else:
            data = caller.checkin_form(request, built)
        savepoint = connection.begin_nested() if request.method != "GET" else None
        try:
            with count_queries(connection) as counted:
                response = caller(request, built, data)
        finally:
            if savepoint is not None:
                savepoint.rollback()
        expected = 200 if request.method == "GET" else 303
        assert response.status_code == expected, (request.name, response.status_code, response.text[:500])
        if check_shown and request.shows:  # the page really lists the larger data
            assert request.shows.format(**built.values()) in response.text, (request.name, request.shows)
        built.counted[request.name] = counted
        counts[request.name] = counted.total
    return counts


def test_queries_per_page_do_not_grow_with_the_data(client: TestClient, db: Session, world: World,
                                                    connection: Connection, clock: CheckinsClock) -> None:
    caller = Caller(client, db, world)
    small = grow(db, world, clock, SMALL, seed=1)
    small_counts = measure(caller, connection, small)
    large = grow(db, world, clock, MORE, seed=2)
    large_counts = measure(caller, connection, large, check_shown=True)

    width = max(len(r.name) for r in PAGES)
    print(f"\n{'page':<{width}}  small  large")
    for request in PAGES:
        print(f"{request.name:<{width}}  {small_counts[request.name]:>5}  {large_counts[request.name]:>5}")

    grew = []
    for request in PAGES:
        if large_counts[request.name] > small_counts[request.name]:
            grew.append(f"{request.name}: {small_counts[request.name]} -> {large_counts[request.name]} statements\n"
                        + large.counted[request.name].report(compared_with=small.counted[request.name]))
    assert not grew, "queries grow with the data (N+1):\n" + "\n\n".join(grew)
