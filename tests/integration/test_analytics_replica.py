"""The analytics replica (issue 10, TENFOUR_ANALYTICS_DATABASE_URL): the outcomes dashboard, its plots and the API read
their numbers from read-only sessions on the replica, while the authorization, the recount of stale facts and the
audit record stay on the primary.

- Both databases: counting without writing (``repository.count_clinic_read_only``: what the replica does, stale
  courses counted from their records in the same statements) equals the usual count (recount, then add up) and the
  per-patient loop, and writes nothing; unset, nothing changes (no second session, no ``read_from``, no replica in
  /readyz or /metrics); a replica that cannot be reached degrades to the primary and says so.
- PostgreSQL: the app with the analytics URL pointed at its own database (read-only sessions; a real standby is not
  in CI: docs/deployment.md shows how to try one): the same figures as without it, a write through the analytics
  session is refused, and a course changed after a view is counted correctly on the next view (from its records on
  the replica, because the primary's recount of it is not committed yet when the replica is read), then from its
  stored facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from tests import factories
from tests.helpers import scratch_database
from tests.outcomes_support import NOW, add_course, load_network
from tests.web.support import bearer, sign_in_browser

from tenfour import analytics, migrate
from tenfour import db as tenfour_db
from tenfour.audit.models import AuditEvent
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.config import Settings
from tenfour.outcomes import facts, reference, repository, service
from tenfour.outcomes.models import CourseOutcome, InfusionOutcome
from tenfour.outcomes.selection import Selection
from tenfour.web import deps
from tenfour.web.app import create_app

UNREACHABLE = "postgresql://tenfour@127.0.0.1:1/nowhere?connect_timeout=2"


def _stored(db: Session) -> tuple[list, list]:  # type: ignore[type-arg]
    """Every stored outcome row (courses, infusion sessions), as it is: what a read-only count must leave alone."""
    courses = db.execute(select(CourseOutcome.course_id, CourseOutcome.changes, CourseOutcome.computed_changes,
                                CourseOutcome.best).order_by(CourseOutcome.course_id)).all()
    sessions = db.execute(select(InfusionOutcome.session_id, InfusionOutcome.changes, InfusionOutcome.computed_changes)
                          .order_by(InfusionOutcome.session_id)).all()
    return [tuple(r) for r in courses], [tuple(r) for r in sessions]


def _read_only(db: Session, clinics, selection: Selection = Selection()):  # type: ignore[no-untyped-def]
    """The clinics counted the replica's way (no write); returns the tallies and the courses counted from records."""
    total, counted = None, 0
    for scope in service.scopes_for(db, clinics, NOW):
        part, n = repository.count_clinic_read_only(db, scope, selection, NOW)
        total = part if total is None else total + part
        counted += n
    return total, counted


@pytest.mark.parametrize("in_list_limit", [facts.IN_LIST_LIMIT, 3], ids=["by-ids", "by-stale-condition"])
def test_counting_without_writing_equals_the_recount(db: Session, world, monkeypatch,  # type: ignore[no-untyped-def]
                                                    in_list_limit: int) -> None:
    monkeypatch.setattr(facts, "IN_LIST_LIMIT", in_list_limit)
    load_network(db, world.north, 60, seed=21)
    load_network(db, world.south, 30, seed=22)
    clinics = [world.north, world.south]
    loop = service.compute(db, clinics, Selection(), NOW, counting=reference.tally_clinic).tallies

    # Never counted: every course is stale and counted from its records, and nothing is stored.
    before = _stored(db)
    fresh, counted = _read_only(db, clinics)
    assert fresh.as_dict() == loop.as_dict()
    assert counted == db.scalar(select(func.count()).select_from(CheckinCourse)
                                .where(CheckinCourse.clinic_id.in_([c.id for c in clinics]))) > 50
    assert _stored(db) == before and all(row[2] is None for rows in before for row in rows) and before[1]

    # Counted and stored (the primary's way): the replica's way reads the stored facts, and agrees.
    stored = service.compute(db, clinics, Selection(), NOW)
    assert stored.tallies.as_dict() == loop.as_dict()
    again, counted = _read_only(db, clinics)
    assert (again.as_dict(), counted) == (loop.as_dict(), 0)

    # A check-in answered and one marked missed since: those two courses are counted from their records, with the
    # other courses' stored facts; the figures are those of the loop, and still nothing is written.
    courses = list(db.scalars(select(CheckinCourse).where(CheckinCourse.clinic_id == world.north.id,
                                                          CheckinCourse.started.is_(True),
                                                          CheckinCourse.baseline_pcl5.is_not(None))
                              .order_by(CheckinCourse.id).limit(2)))
    day = NOW.date() - timedelta(days=1)
    db.add(CheckIn(clinic_id=courses[0].clinic_id, patient_id=courses[0].patient_id, course_id=courses[0].id,
                   kind="extra", due_on=day, status="completed", completed_at=NOW - timedelta(days=1),
                   completed_on=day, pcl5_total=0))
    pending = db.scalars(select(CheckIn).where(CheckIn.status == "pending",
                                               CheckIn.course_id != courses[0].id)).first()
    assert pending is not None
    db.execute(update(CheckIn).where(CheckIn.id == pending.id).values(status="missed", missed_at=NOW))
    db.flush()
    changed = service.compute(db, clinics, Selection(), NOW, counting=reference.tally_clinic).tallies
    assert changed.as_dict() != loop.as_dict()
    before = _stored(db)
    now_read, counted = _read_only(db, clinics)
    assert now_read.as_dict() == changed.as_dict() and counted == 2
    assert _stored(db) == before
    for selection in (Selection(responder_role="police"), Selection(protocol="induction")):
        expected = service.compute(db, clinics, selection, NOW, counting=reference.tally_clinic).tallies
        assert _read_only(db, clinics, selection)[0].as_dict() == expected.as_dict()


# --- The app without a replica, and with one that cannot be reached (both databases) ------------------------------


def _cohort(db: Session, world) -> None:  # type: ignore[no-untyped-def]
    start = datetime.now(UTC).date() - timedelta(days=150)
    add_course(db, world.north, baseline=50, scores=[(1, 38), (14, 30), (21, 28), (28, 40), (35, 42)], start=start)
    add_course(db, world.north, baseline=50, scores=[(1, 45), (18, 34), (40, 33)], start=start, role="police")
    add_course(db, world.north, baseline=50, scores=[(1, None), (14, 48), (21, 46)], start=start)
    db.commit()


def _families(body: str) -> dict[str, list]:  # type: ignore[type-arg]
    return {family.name: family.samples for family in text_string_to_metric_families(body)}


def test_without_a_replica_nothing_changes(client: TestClient, db: Session, world) -> None:  # type: ignore[no-untyped-def]
    assert client.app.state.analytics_factory is client.app.state.session_factory  # type: ignore[attr-defined]
    _cohort(db, world)
    api = client.get("/api/v1/outcomes", headers=bearer(db, world.user("manager"))).json()
    assert "read_from" not in api["scope"] and api["funnel"]["started"] == 3
    sign_in_browser(client, db, world.user("manager"))
    page = client.get("/outcomes").text
    assert "(0 this time)" in page and "analytics" not in page
    assert "analytics_database" not in client.get("/readyz").json()["checks"]
    assert not any(name.startswith("tenfour_analytics") for name in _families(client.get("/metrics").text))

    # The dependency hands out the request's own session: one transaction, one connection.
    request = SimpleNamespace(app=client.app, state=SimpleNamespace())
    assert next(deps.get_analytics_db(request, db)) is db  # type: ignore[arg-type]


def test_an_unreachable_replica_degrades_to_the_primary_and_says_so(settings: Settings, session_factory, db,  # type: ignore[no-untyped-def]
                                                                    world) -> None:
    _cohort(db, world)
    manager = world.user("manager")
    plain = create_app(settings=settings, session_factory=session_factory)
    broken = create_app(settings=settings.model_copy(update={"analytics_database_url": UNREACHABLE}),
                        session_factory=session_factory)
    with TestClient(plain) as a, TestClient(broken, raise_server_exceptions=False) as b:
        expected = a.get("/api/v1/outcomes", headers=bearer(db, manager)).json()
        answer = b.get("/api/v1/outcomes", headers=bearer(db, manager))
        assert answer.status_code == 200 and answer.json() == expected  # the primary's numbers, no read_from
        sign_in_browser(b, db, manager)
        page = b.get("/outcomes")
        assert page.status_code == 200 and "could not be reached" in page.text
        assert b.get("/outcomes/plots/trajectories.svg").status_code == 200
        ready = b.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"  # analytics degrade; the app serves
        assert ready.json()["checks"]["analytics_database"]["status"].startswith("unavailable")
        samples = _families(b.get("/metrics").text)
        assert [s.value for s in samples["tenfour_analytics_database_up"]] == [0]
        assert "tenfour_analytics_replica_lag_seconds" not in samples
    db.expire_all()
    channels = [e.detail["channel"] for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "outcomes.view")
                                                        .order_by(AuditEvent.id))]
    assert channels == ["api", "api", "page"]


# --- PostgreSQL: the analytics URL pointed at the app's own database ----------------------------------------------


@pytest.fixture
def live(database_url: str, mail_server: tuple[object, int], tmp_path: Path) -> Iterator[SimpleNamespace]:
    """Two apps on one database of their own, with real commits: ``primary`` without an analytics URL, ``replica``
    with it pointing at the same database (its sessions read-only at the server, on their own connections)."""
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = tenfour_db.make_engine(url)
        factory = tenfour_db.make_session_factory(engine)
        settings = Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-key-" + "x" * 32,
                            database_url=url, smtp_host="127.0.0.1", smtp_port=mail_server[1],
                            base_url="http://testserver")
        with_replica = settings.model_copy(update={"analytics_database_url": url})
        try:
            yield SimpleNamespace(url=url, factory=factory, settings=with_replica,
                                  primary=create_app(settings=settings, session_factory=factory),
                                  replica=create_app(settings=with_replica, session_factory=factory))
        finally:
            tenfour_db.analytics_session_factory(with_replica, factory).kw["bind"].dispose()
            engine.dispose()


def _live_world(factory: sessionmaker[Session]) -> SimpleNamespace:
    with factory() as db:
        clinic = factories.make_clinic(db, name="North Test Clinic", slug="north-test")
        manager = factories.make_user(db, role="manager", clinics=[clinic])
        _cohort(db, SimpleNamespace(north=clinic))
        return SimpleNamespace(clinic_id=clinic.id, timezone=clinic.timezone, manager=manager)


def _row(page: str, key: str) -> str:
    return page.split(f'id="row-{key}"')[1].split("</tr>")[0]


@pytest.mark.postgres
def test_the_replica_gives_the_same_figures(live) -> None:  # type: ignore[no-untyped-def]
    world = _live_world(live.factory)
    with live.factory() as db, TestClient(live.primary) as a, TestClient(live.replica) as b:
        headers = bearer(db, world.manager)
        db.commit()
        expected = a.get("/api/v1/outcomes", headers=headers).json()
        got = b.get("/api/v1/outcomes", headers=headers).json()
        read_from = got["scope"].pop("read_from")
        assert got == expected and expected["funnel"]["started"] == 3
        # Not a standby (the test points the URL at the primary's database): no lag to report.
        assert read_from == {"database": "analytics", "in_recovery": False, "lag_seconds": None,
                             "replayed_at": None, "courses_counted_from_records": 0}

        sign_in_browser(a, db, world.manager)
        sign_in_browser(b, db, world.manager)
        page_a, page_b = a.get("/outcomes").text, b.get("/outcomes").text
        assert "Read from the analytics database." in page_b and "analytics" not in page_a
        for key in ("response_rate", "remission_rate", "improved_at_24h"):
            assert _row(page_a, key) == _row(page_b, key)
        for name in ("km", "waterfall", "trajectories"):
            # PNG: the same numbers draw the same pixels (an SVG's ids are random)
            assert a.get(f"/outcomes/plots/{name}.png").content == b.get(f"/outcomes/plots/{name}.png").content
            assert b.get(f"/outcomes/plots/{name}.svg").status_code == 200
        assert b.get("/outcomes/plots/waterfall.png?download=1").status_code == 200

        ready = b.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["checks"]["analytics_database"] == {"status": "ok", "in_recovery": False, "lag_seconds": None}
        samples = _families(b.get("/metrics").text)
        assert [s.value for s in samples["tenfour_analytics_database_up"]] == [1]

        # Every view is audited on the primary (the replica cannot write, and an audit record there would be lost).
        db.expire_all()
        channels = [e.detail["channel"] for e in db.scalars(
            select(AuditEvent).where(AuditEvent.action == "outcomes.view").order_by(AuditEvent.id))]
        assert channels == ["api", "api", "page", "page", "download:waterfall.png"]


@pytest.mark.postgres
def test_the_page_says_how_far_behind_a_standby_is(live, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A real standby is not in CI (docs/deployment.md shows how to try one): here its status is given, to check what
    the page and the API say: caught up, or behind by more than a minute (a warning: recent changes are not counted
    yet)."""
    world = _live_world(live.factory)
    replayed = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    with live.factory() as db, TestClient(live.replica) as client:
        headers = bearer(db, world.manager)
        sign_in_browser(client, db, world.manager)
        monkeypatch.setattr(analytics, "replica_status", lambda session: analytics.ReplicaStatus(True, 0.0, replayed))
        page = client.get("/outcomes").text
        assert "Read from the analytics replica, which had applied every change it had received" in page
        assert "its latest change was saved at 2026-11-25 20:00:00 (America/Chicago)" in page
        assert "flash-warning" not in page.split("outcomes-replica")[1].split(">")[0]

        monkeypatch.setattr(analytics, "replica_status", lambda session: analytics.ReplicaStatus(True, 95.4, replayed))
        page = client.get("/outcomes").text
        note = page.split('class="small outcomes-replica')[1].split("</p>")[0]
        assert "flash-warning" in note and 'role="status"' in note
        assert "95 seconds behind the main database" in note and "not in these numbers yet" in note
        read_from = client.get("/api/v1/outcomes", headers=headers).json()["scope"]["read_from"]
        assert (read_from["in_recovery"], read_from["lag_seconds"]) == (True, 95.4)
        assert read_from["replayed_at"] == replayed.isoformat()


@pytest.mark.postgres
def test_a_write_through_the_analytics_session_is_refused(live) -> None:  # type: ignore[no-untyped-def]
    world = _live_world(live.factory)
    factory = tenfour_db.analytics_session_factory(live.settings, live.factory)
    assert factory is not live.factory
    with factory() as session:
        assert session.scalar(text("SHOW default_transaction_read_only")) == "on"
        with pytest.raises(DBAPIError, match="read-only transaction"):
            session.execute(update(CourseOutcome).values(computed_changes=None))
        session.rollback()

    # The request dependency: the replica's session (not the request's), read-only, one snapshot; rolled back and
    # closed when the request ends, whatever the route did.
    with live.factory() as db:
        request = SimpleNamespace(app=live.replica, state=SimpleNamespace())
        dependency = deps.get_analytics_db(request, db)  # type: ignore[arg-type]
        analytics = next(dependency)
        assert analytics is not db
        assert analytics.scalar(text("SHOW transaction_isolation")) == "repeatable read"
        assert analytics.scalar(select(func.count()).select_from(CheckinCourse)
                                .where(CheckinCourse.clinic_id == world.clinic_id)) == 3
        with pytest.raises(DBAPIError, match="read-only transaction"):
            analytics.execute(text("UPDATE course_outcomes SET computed_changes = NULL"))
        with pytest.raises(StopIteration):
            next(dependency)
        assert not analytics.in_transaction()
    # The connection went back to the pool as it came: the next session on it is read-only too (a connection reset
    # to "read write" would let it write here, and make every transaction fail to begin on a real standby).
    with factory() as session:
        assert session.scalar(text("SHOW transaction_read_only")) == "on"
        assert session.scalar(text("SHOW transaction_isolation")) == "read committed"


@pytest.mark.postgres
def test_a_course_changed_after_a_view_is_counted_on_the_next_view(live) -> None:  # type: ignore[no-untyped-def]
    world = _live_world(live.factory)
    with live.factory() as db, TestClient(live.replica) as client:
        headers = bearer(db, world.manager)
        db.commit()
        first = client.get("/api/v1/outcomes", headers=headers).json()
        # The first view: every course stale on the "replica" (the primary's recount in the same request is not
        # committed when the replica is read), counted from the records; the recount is stored on the primary.
        assert first["scope"]["read_from"]["courses_counted_from_records"] == 3
        assert first["response_rate"]["count"] == 2
        assert db.scalar(select(func.count()).select_from(CourseOutcome)
                         .where(CourseOutcome.computed_changes == CourseOutcome.changes)) == 3
        second = client.get("/api/v1/outcomes", headers=headers).json()
        assert second["scope"]["read_from"]["courses_counted_from_records"] == 0
        assert second["response_rate"] == first["response_rate"]

        # The third patient (no response so far) answers a check-in well below baseline.
        course = db.scalars(select(CheckinCourse).where(CheckinCourse.clinic_id == world.clinic_id)
                            .order_by(CheckinCourse.id.desc())).first()
        assert course is not None
        today = datetime.now(ZoneInfo(world.timezone)).date()
        db.add(CheckIn(clinic_id=course.clinic_id, patient_id=course.patient_id, course_id=course.id, kind="extra",
                       due_on=today, status="completed", completed_at=datetime.now(UTC), completed_on=today,
                       pcl5_total=10))
        db.commit()
        after = client.get("/api/v1/outcomes", headers=headers).json()
        assert after["scope"]["read_from"]["courses_counted_from_records"] == 1
        assert (after["response_rate"]["count"], after["response_rate"]["n"]) == (3, first["response_rate"]["n"])
        sign_in_browser(client, db, world.manager)
        page = client.get("/outcomes").text
        assert "(0 this time)" in page  # the API view before stored the recount on the primary
        assert "Read from the analytics database." in page and "counted from" not in page
        assert client.get("/api/v1/outcomes", headers=headers).json()["response_rate"] == after["response_rate"]
