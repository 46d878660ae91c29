"""The research export prepared in the background (issue 10): the page asks for the file (a row and its
``render_export`` job, deferred in the same transaction), the job builds it and stores it, the page offers it when
ready, and its download is the same file the immediate export writes for the same clinics, audited. A failing job
leaves a message, not a 500; a file past its expiry is refused and its content deleted; only exporters whose clinics
cover the file's see it. On PostgreSQL the job is a procrastinate row in the request's transaction.

The in-process runner thread shares the test's one database connection, so most tests catch the jobs a commit hands
over and run them in the test's own thread with a runner they step (as tests/integration/test_jobs.py does); one
test lets the server's own runner thread run it."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update
from tests import factories
from tests.checkins_support import ctx_for, give_course, monday_weeks_ago
from tests.web.support import app, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.audit.models import AuditEvent
from tenfour.db import utcnow
from tenfour.exports import files, repository
from tenfour.exports.deidentify import COLUMNS
from tenfour.exports.models import ExportFile
from tenfour.jobs.queue import BACKEND_KEY, Job
from tenfour.jobs.runner import InProcessRunner
from tenfour.patients.models import PatientConsent


@pytest.fixture
def handed_over(monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    """The jobs each commit hands to the in-process runner, kept here instead of going to the runner thread."""
    jobs: list[Job] = []
    monkeypatch.setattr("tenfour.jobs.runner.submit", jobs.extend)
    return jobs


@pytest.fixture
def steady_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same random keys, site codes and date shifts in every file, so two files of the same data are equal."""
    monkeypatch.setattr("tenfour.exports.deidentify.secrets.randbits", lambda bits: 20261126)


@pytest.fixture
def research(db, world) -> None:  # type: ignore[no-untyped-def]
    """North: 12 consenting firefighters alike (shown at the default threshold of 11) with a course each, and the
    world's own patient, who did not consent."""
    prescriber = world.user("prescriber")
    for n in range(12):
        patient = factories.make_patient(db, world.north, first_name=f"Research{n}", last_name="Subject",
                                         responder_role="firefighter", sex="male", date_of_birth=date(1984, 1, 10))
        db.add(PatientConsent(patient_id=patient.id, kind="research_deidentified", version="2026-11"))
        give_course(db, patient, prescriber, monday_weeks_ago(6), baseline=40 + n)
    db.commit()


def run_jobs(client, session_factory, jobs: list[Job]) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    """Run the handed-over jobs as the in-process runner does (a runner stepped in this thread)."""
    runner = InProcessRunner(session_factory, client.app.state.settings)
    runner.submit(list(jobs))
    jobs.clear()
    runner.run_due()
    return runner.done


def prepare(client, csrf: str, clinic: str = "north-test"):  # type: ignore[no-untyped-def]
    return client.post("/exports/files", data={"csrf_token": csrf, "clinic": clinic}, follow_redirects=False)


def actions(db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action.like("export.deidentified%"))
                           .order_by(AuditEvent.id)))


def the_file(db, export_id: int) -> ExportFile:  # type: ignore[no-untyped-def]
    db.expire_all()
    export = db.get(ExportFile, export_id)
    assert export is not None
    return export


def _ready_file(client, db, world, session_factory, handed_over, role: str = "manager") -> int:  # type: ignore[no-untyped-def]
    csrf = sign_in_browser(client, db, world.user(role))
    response = prepare(client, csrf)
    assert response.status_code == 303, response.text[:300]
    export_id = int(response.headers["location"].rsplit("-", 1)[1])
    assert run_jobs(client, session_factory, handed_over)[-1][1]["state"] == "ready"
    return export_id


# --- The whole flow ----------------------------------------------------------------------------------------------


def test_prepare_then_download_gives_the_same_file_as_the_immediate_export(
        client, db, world, session_factory, handed_over, steady_keys, research) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_in_browser(client, db, world.user("manager"))
    page = client.get("/exports")
    assert page.status_code == 200 and 'action="/exports/files"' in page.text and "Prepare export" in page.text
    response = prepare(client, csrf)
    assert response.status_code == 303 and response.headers["location"].startswith("/exports#file-")
    export_id = int(response.headers["location"].rsplit("-", 1)[1])
    assert [(j.task, j.kwargs) for j in handed_over] == [("render_export", {"export_id": export_id})]
    queued = the_file(db, export_id)
    assert (queued.status, queued.clinic_ids, queued.requested_by) == ("queued", [world.north.id],
                                                                        world.user("manager").id)
    twice = prepare(client, csrf)  # a second click while it is being prepared: the same file, no second job
    assert twice.headers["location"] == response.headers["location"] and len(handed_over) == 1

    waiting = client.get("/exports")
    assert "Preparing…" in waiting.text and waiting.headers.get("refresh") == "15"
    assert f"/exports/files/{export_id}" not in waiting.text
    assert client.get(f"/exports/files/{export_id}").status_code == 409  # not ready yet

    done = run_jobs(client, session_factory, handed_over)
    assert done[-1] == ("render_export", {"state": "ready", "purged": 0, "rows": 12 * 7})  # 6 infusions + baseline
    ready = the_file(db, export_id)
    assert (ready.status, ready.patients, ready.rows, ready.withheld_no_consent, ready.withheld_small_cells,
            ready.min_cell_size) == ("ready", 12, 84, 1, 0, 11)
    assert ready.expires_at == ready.finished_at + timedelta(days=files.FILE_DAYS)

    listed = client.get("/exports")
    assert f'href="/exports/files/{export_id}"' in listed.text and "refresh" not in listed.headers
    assert "<strong>Ready</strong>" in listed.text and "12 patients, 84 rows" in listed.text
    assert f"<span>File {export_id}</span>" in listed.text and f", file {export_id}</span>" in listed.text
    assert "Times are America/Chicago time." in listed.text, "the clinic's zone, named"

    prepared = client.get(f"/exports/files/{export_id}")
    assert prepared.status_code == 200 and prepared.headers["content-type"].startswith("text/csv")
    assert prepared.headers["content-disposition"] == f'attachment; filename="{ready.filename}"'
    assert prepared.headers["x-tenfour-patients"] == "12" and prepared.headers["cache-control"] == "no-store"
    immediate = client.get("/exports/deidentified.csv?clinic=north-test")
    assert immediate.status_code == 200
    assert prepared.content == immediate.content  # byte for byte, with the same random draws
    rows = list(csv.DictReader(io.StringIO(prepared.text)))
    assert len(rows) == 84 and list(rows[0]) == list(COLUMNS)
    assert "Research0" not in prepared.text and "Subject" not in prepared.text

    events = [e for e in actions(db) if e.record_type == "export_file"]
    assert [e.action for e in events] == ["export.deidentified_requested", "export.deidentified_prepared",
                                          "export.deidentified_csv"]
    requested, made, downloaded = events
    assert requested.actor_user_id == downloaded.actor_user_id == world.user("manager").id
    assert made.actor_label == "job:render_export" and made.actor_user_id is None
    assert downloaded.record_id == str(export_id) and downloaded.clinic_id == world.north.id
    assert downloaded.detail["file_id"] == export_id and downloaded.detail["patients"] == 12
    assert downloaded.detail["clinics"] == ["north-test"] and downloaded.detail["withheld_no_consent"] == 1


def test_a_second_run_of_the_job_changes_nothing(client, db, world, session_factory, handed_over,
                                                 research) -> None:  # type: ignore[no-untyped-def]
    export_id = _ready_file(client, db, world, session_factory, handed_over)
    before = the_file(db, export_id)
    content, finished = before.content, before.finished_at
    again = run_jobs(client, session_factory, [Job("render_export", {"export_id": export_id})])
    assert again[-1] == ("render_export", {"state": "not_needed", "purged": 0})
    after = the_file(db, export_id)
    assert (after.content, after.finished_at, after.status) == (content, finished, "ready")
    assert [e.action for e in actions(db)].count("export.deidentified_prepared") == 1
    missing = run_jobs(client, session_factory, [Job("render_export", {"export_id": 999_999})])
    assert missing[-1][1]["state"] == "not_needed"


def test_a_file_claimed_by_a_job_that_was_lost_is_taken_over_after_an_hour(db, world, session_factory,
                                                                           settings) -> None:  # type: ignore[no-untyped-def]
    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    now = utcnow()
    assert repository.claim(db, export.id, now, stale_before=now - files.STALE_AFTER) is not None
    assert repository.claim(db, export.id, now, stale_before=now - files.STALE_AFTER) is None  # one job holds it
    db.execute(update(ExportFile).where(ExportFile.id == export.id).values(started_at=now - timedelta(hours=2)))
    db.commit()
    assert files.is_stale(the_file(db, export.id), now)
    assert files.render(session_factory, settings, export.id)["state"] == "ready"
    assert the_file(db, export.id).patients == 0  # nobody in north consented: a header, and the counts


def test_the_job_reads_through_the_analytics_sessions_and_writes_through_the_primary(
        db, world, session_factory, settings, monkeypatch, research) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    reads = []

    def replica(given_settings, primary):  # type: ignore[no-untyped-def]
        assert given_settings is settings and primary is session_factory

        def session():  # type: ignore[no-untyped-def]
            made = primary()
            event.listen(made, "before_flush", lambda *args: (_ for _ in ()).throw(AssertionError("replica write")))
            reads.append(made)
            return made

        return session

    monkeypatch.setattr("tenfour.exports.files.analytics_session_factory", replica)
    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    assert files.render(session_factory, settings, export.id)["state"] == "ready"
    assert len(reads) == 1 and the_file(db, export.id).patients == 12


def test_consent_is_read_on_the_primary_so_a_lagging_replica_cannot_export_a_withdrawal(
        db, world, session_factory, settings, monkeypatch, research) -> None:  # type: ignore[no-untyped-def]
    """The replica here is the same database, so it still shows everyone's consent; the primary's answer (one patient
    has just withdrawn) is the one that counts."""
    from tenfour.exports import service as export_service

    replica_sessions = []

    def replica(given_settings, primary):  # type: ignore[no-untyped-def]
        def session():  # type: ignore[no-untyped-def]
            made = primary()
            replica_sessions.append(made)
            return made
        return session

    withdrawn = min(export_service.consenting_ids(db, [world.north.id]))
    asked_on = []

    def on_primary(session, clinic_ids):  # type: ignore[no-untyped-def]
        asked_on.append(session)
        return {i for i in real(session, clinic_ids) if i != withdrawn}

    real = export_service.consenting_ids
    monkeypatch.setattr("tenfour.exports.files.analytics_session_factory", replica)
    monkeypatch.setattr("tenfour.exports.service.consenting_ids", on_primary)
    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    assert files.render(session_factory, settings, export.id)["state"] == "ready"
    assert len(asked_on) == 1 and asked_on[0] not in replica_sessions and len(replica_sessions) == 1
    made = the_file(db, export.id)
    assert (made.patients, made.withheld_no_consent) == (11, 2), "the world's patient and the one who withdrew"


def test_consenting_ids_are_the_patients_whose_research_consent_stands(db, world, research) -> None:  # type: ignore[no-untyped-def]
    from tenfour.exports import service as export_service
    from tenfour.patients.models import Patient

    withdrew = factories.make_patient(db, world.north, first_name="Withdrew", last_name="Subject")
    db.add(PatientConsent(patient_id=withdrew.id, kind="research_deidentified", version="2026-11",
                          withdrawn_at=utcnow()))
    db.add(PatientConsent(patient_id=world.patient_south.id, kind="research_deidentified", version="2026-11"))
    db.add(PatientConsent(patient_id=world.patient_north.id, kind="contact", version="2026-11"))
    db.flush()
    north = set(db.scalars(select(Patient.id).where(Patient.clinic_id == world.north.id,
                                                    Patient.first_name.like("Research%"))))
    assert len(north) == 12
    assert export_service.consenting_ids(db, [world.north.id]) == north
    assert export_service.consenting_ids(db, [world.north.id, world.south.id]) == north | {world.patient_south.id}
    db.rollback()


def test_an_unreachable_replica_does_not_stop_the_export(db, world, session_factory, settings, monkeypatch,
                                                         research) -> None:  # type: ignore[no-untyped-def]
    from tenfour.db import make_engine, make_session_factory

    nowhere = make_session_factory(make_engine("postgresql://tenfour@127.0.0.1:1/none?connect_timeout=2"))
    monkeypatch.setattr("tenfour.exports.files.analytics_session_factory", lambda given, primary: nowhere)
    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    assert files.render(session_factory, settings, export.id)["state"] == "ready"
    assert the_file(db, export.id).patients == 12, "read on the primary instead"


def test_the_server_runs_the_job_in_its_runner_thread_after_the_commit(client, db, world, research) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_in_browser(client, db, world.user("admin"))
    response = prepare(client, csrf, clinic="")  # all the admin's clinics: north only
    assert response.status_code == 303
    runner = client.app.state.job_runner
    deadline = time.monotonic() + 60  # a bound on waiting, not a measure: the job runs as soon as it is handed over
    while not runner.done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.done and runner.done[-1][0] == "render_export" and runner.done[-1][1]["state"] == "ready"
    export_id = int(response.headers["location"].rsplit("-", 1)[1])
    download = client.get(f"/exports/files/{export_id}")
    assert download.status_code == 200 and download.headers["x-tenfour-patients"] == "12"


# --- Failure, bad input, expiry -----------------------------------------------------------------------------------


def test_a_job_that_fails_marks_the_file_failed_with_a_message(client, db, world, session_factory, handed_over,
                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("patient Nora North broke it")  # a message that must not reach the page

    monkeypatch.setattr("tenfour.exports.service.deidentified_rows", broken)
    csrf = sign_in_browser(client, db, world.user("manager"))
    export_id = int(prepare(client, csrf).headers["location"].rsplit("-", 1)[1])
    assert run_jobs(client, session_factory, handed_over)[-1] == ("render_export", {"state": "failed", "purged": 0})
    failed = the_file(db, export_id)
    assert failed.status == "failed" and failed.content is None and "RuntimeError" in (failed.error or "")
    page = client.get("/exports")
    assert page.status_code == 200 and "<strong>Failed</strong>" in page.text
    assert "The file could not be prepared (RuntimeError)" in page.text
    assert "Nora" not in page.text and "refresh" not in page.headers
    refused = client.get(f"/exports/files/{export_id}")
    assert refused.status_code == 409 and "it failed; prepare it again" in refused.text


def test_a_clinic_the_exporter_does_not_work_in_is_refused_naming_the_field(client, db, world,
                                                                            handed_over) -> None:  # type: ignore[no-untyped-def]
    csrf = sign_in_browser(client, db, world.user("manager"))
    response = prepare(client, csrf, clinic="south-test")
    assert response.status_code == 422
    assert 'id="e-clinic"' in response.text and "you do not work in a clinic named" in response.text
    assert handed_over == [] and db.scalar(select(ExportFile.id)) is None


def test_preparing_needs_a_recent_sign_in(client, db, world, handed_over) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_mfa_and_reauth import make_stale

    csrf = sign_in_browser(client, db, world.user("manager"))
    make_stale(db, world.user("manager"))
    asked = prepare(client, csrf)
    assert asked.status_code == 401 and 'name="reauth_password"' in asked.text
    assert 'action="/exports/files"' in asked.text
    assert db.scalar(select(ExportFile.id)) is None
    again = client.post("/exports/files", data={"csrf_token": csrf, "clinic": "north-test",
                                                "reauth_password": factories.PASSWORD}, follow_redirects=False)
    assert again.status_code == 303 and len(handed_over) == 1


def test_an_expired_file_is_refused_and_its_content_deleted(client, db, world, session_factory, handed_over,
                                                            research) -> None:  # type: ignore[no-untyped-def]
    export_id = _ready_file(client, db, world, session_factory, handed_over)
    db.execute(update(ExportFile).where(ExportFile.id == export_id)
               .values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    refused = client.get(f"/exports/files/{export_id}")
    assert refused.status_code == 410 and "expired on" in refused.text and "Prepare a new one" in refused.text
    assert "Expired on" in client.get("/exports").text
    # The next job (any file's) deletes the content of expired ones; the row stays as a record.
    csrf = sign_in_browser(client, db, world.user("admin"))
    assert prepare(client, csrf).status_code == 303
    assert run_jobs(client, session_factory, handed_over)[-1][1] == {"state": "ready", "purged": 1, "rows": 84}
    purged = the_file(db, export_id)
    assert purged.content is None and purged.purged_at is not None and purged.status == "ready"
    assert client.get(f"/exports/files/{export_id}").status_code == 410


def test_the_full_sweep_job_deletes_expired_content(db, world, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    from tenfour.jobs.tasks import purge_expired_exports

    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    files.render(session_factory, settings, export.id)
    assert the_file(db, export.id).content is not None
    assert purge_expired_exports(session_factory, settings) == 0
    db.execute(update(ExportFile).where(ExportFile.id == export.id).values(expires_at=utcnow()))
    db.commit()
    assert purge_expired_exports(session_factory, settings) == 1
    assert the_file(db, export.id).content is None


def test_the_servers_own_full_sweep_deletes_expired_content_too(db, world, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    """SQLite and demos run the sweep on the server's timer, not the worker: expired files are emptied there too."""
    from tenfour.checkins.timer import SweepTimer

    export = files.request_file(db, ctx_for(world.user("manager")))
    db.commit()
    files.render(session_factory, settings, export.id)
    db.execute(update(ExportFile).where(ExportFile.id == export.id).values(expires_at=utcnow()))
    db.commit()
    summary = SweepTimer(session_factory, settings, 60).tick()
    assert not summary.skipped
    assert the_file(db, export.id).content is None and the_file(db, export.id).purged_at is not None


# --- Who sees which file ------------------------------------------------------------------------------------------


def test_exporters_of_the_same_clinics_see_each_others_files_and_no_one_else_does(
        client, db, world, session_factory, handed_over, research) -> None:  # type: ignore[no-untyped-def]
    export_id = _ready_file(client, db, world, session_factory, handed_over, role="manager")
    url = f"/exports/files/{export_id}"
    sign_in_browser(client, db, world.user("admin"))  # north's administrator: same clinic, may export
    page = client.get("/exports")
    assert f'href="{url}"' in page.text and world.user("manager").full_name in page.text
    assert client.get(url).status_code == 200
    sign_in_browser(client, db, world.user("manager", "south-test"))  # another clinic's exporter
    other = client.get(url)
    missing = client.get("/exports/files/999999")
    assert other.status_code == missing.status_code == 404 and other.text == missing.text
    assert url not in client.get("/exports").text
    for role in ("nurse", "prescriber", "patient"):
        sign_in_browser(client, db, world.user(role))
        assert client.get(url).status_code == 403, role
    client.cookies.clear()
    assert client.get(url, follow_redirects=False).headers["location"].startswith("/login")
    downloads = [e for e in actions(db) if e.action == "export.deidentified_csv"]
    assert [e.actor_user_id for e in downloads] == [world.user("admin").id]


def test_a_file_of_two_clinics_is_only_for_exporters_of_both(client, db, world, session_factory,
                                                            handed_over) -> None:  # type: ignore[no-untyped-def]
    both = factories.make_user(db, role="manager", clinics=[world.north, world.south])
    csrf = sign_in_browser(client, db, both)
    response = prepare(client, csrf, clinic="")
    export_id = int(response.headers["location"].rsplit("-", 1)[1])
    assert the_file(db, export_id).clinic_ids == sorted([world.north.id, world.south.id])
    run_jobs(client, session_factory, handed_over)
    assert client.get(f"/exports/files/{export_id}").status_code == 200
    sign_in_browser(client, db, world.user("manager"))  # north only
    assert client.get(f"/exports/files/{export_id}").status_code == 404


# --- The JSON API: ask, poll, download --------------------------------------------------------------------------------


def test_the_api_asks_polls_and_downloads(client, db, world, session_factory, handed_over, as_api, steady_keys,
                                          research) -> None:  # type: ignore[no-untyped-def]
    manager = as_api("manager")
    asked = client.post("/api/v1/exports/deidentified?clinic=north-test", headers=manager)
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert (body["status"], body["clinics"], body["download_url"]) == ("queued", ["north-test"], None)
    status_url = f"/api/v1/exports/files/{body['id']}"
    assert client.get(status_url, headers=manager).json()["status"] == "queued"
    assert client.get(f"{status_url}/content", headers=manager).status_code == 409
    run_jobs(client, session_factory, handed_over)
    ready = client.get(status_url, headers=manager).json()
    assert (ready["status"], ready["patients"], ready["rows"], ready["withheld_no_consent"]) == ("ready", 12, 84, 1)
    assert ready["download_url"] == f"{status_url}/content"
    content = client.get(ready["download_url"], headers=manager)
    immediate = client.get("/api/v1/exports/deidentified.csv?clinic=north-test", headers=manager)
    assert content.status_code == 200 and content.content == immediate.content
    # Who may not: roles without data.export, another clinic's exporter (404 as for a missing file), nobody.
    for role in ("nurse", "prescriber", "patient"):
        assert client.get(status_url, headers=as_api(role)).status_code == 403, role
        assert client.post("/api/v1/exports/deidentified", headers=as_api(role)).status_code == 403, role
    south = as_api("manager", "south-test")
    other, missing = client.get(status_url, headers=south), client.get("/api/v1/exports/files/999999", headers=south)
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    assert client.get(f"{status_url}/content", headers=south).status_code == 404
    assert client.get(status_url).status_code == 401


def test_the_api_refuses_a_clinic_the_exporter_does_not_work_in(client, as_api, handed_over) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/exports/deidentified?clinic=south-test", headers=as_api("admin"))
    assert response.status_code == 422
    assert [(p["field"], p["rule"]) for p in response.json()["problems"]] == [("clinic", "membership")]
    assert handed_over == []


def test_the_api_says_when_a_file_expired(client, db, world, session_factory, handed_over, as_api) -> None:  # type: ignore[no-untyped-def]
    manager = as_api("manager")
    export_id = client.post("/api/v1/exports/deidentified", headers=manager).json()["id"]
    run_jobs(client, session_factory, handed_over)
    db.execute(update(ExportFile).where(ExportFile.id == export_id).values(expires_at=utcnow()))
    db.commit()
    status = client.get(f"/api/v1/exports/files/{export_id}", headers=manager).json()
    assert status["status"] == "expired" and status["download_url"] is None
    gone = client.get(f"/api/v1/exports/files/{export_id}/content", headers=manager)
    assert gone.status_code == 410 and "expired on" in gone.json()["detail"]


# --- PostgreSQL: the job is a procrastinate row -------------------------------------------------------------------


@pytest.mark.postgres
def test_on_postgresql_the_job_is_a_procrastinate_row_in_the_same_transaction(db, world, session_factory,
                                                                              settings) -> None:  # type: ignore[no-untyped-def]
    from tenfour.jobs.worker import make_app

    db.info[BACKEND_KEY] = "procrastinate"
    export = files.request_file(db, ctx_for(world.user("manager")))
    rows = db.execute(text("SELECT args, queueing_lock, status::text FROM procrastinate_jobs "
                           "WHERE task_name = 'tenfour.render_export'")).all()
    assert len(rows) == 1
    args, lock, status = rows[0]
    assert (args if isinstance(args, dict) else json.loads(args)) == {"export_id": export.id}
    assert lock == f"render_export:{export.id}" and status == "todo"
    db.commit()
    # The worker's task (as `tenfour worker` registers it) prepares the file.
    pg = settings.model_copy(update={"sweep_interval_s": 0})
    make_app(pg, session_factory).tasks["tenfour.render_export"](export_id=export.id)
    assert the_file(db, export.id).status == "ready"


@pytest.mark.postgres
def test_on_postgresql_a_rolled_back_request_leaves_no_job(db, world) -> None:  # type: ignore[no-untyped-def]
    db.info[BACKEND_KEY] = "procrastinate"
    export = files.request_file(db, ctx_for(world.user("manager")))
    db.rollback()
    count = db.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'export_id' = :id"),
                       {"id": str(export.id)}).scalar_one()
    assert count == 0
