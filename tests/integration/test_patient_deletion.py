"""Deleting a patient's record (patients.deletion) on a database seeded with the demo (plans, infusions, check-ins,
alerts, boosters, referrals...): every row of theirs goes, nobody else's does, the audit trail stays whole and still
verifies, a tombstone says what happened, and the patient's id is never given to someone else. Then the retention
policy (retention.service) and its command line (`tenfour retention report|apply`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests import factories
from tests.helpers import cli_environment, scratch_database
from typer.testing import CliRunner

from tenfour import demo, migrate
from tenfour.accounts.models import User
from tenfour.audit import chain
from tenfour.audit.models import AuditEvent
from tenfour.cli import app as cli_app
from tenfour.clinics.service import set_policy_values
from tenfour.context import Ctx
from tenfour.db import Base, import_all_models, make_engine, make_session_factory, session_scope
from tenfour.errors import NotFound, ValidationFailed
from tenfour.patients import deletion
from tenfour.patients.models import DeletedPatient, Patient
from tenfour.retention import service as retention

CLI = Ctx.system("cli:test")


def tables_with_patient_id() -> list[str]:
    import_all_models()
    return [t.name for t in Base.metadata.sorted_tables
            if "patient_id" in t.c and t.name not in ("audit_events", "deleted_patients")]


def rows_of(db: Session, patient_id: int) -> dict[str, int]:
    counts = {}
    for name in tables_with_patient_id():
        table = Base.metadata.tables[name]
        n = db.scalar(select(func.count()).select_from(table).where(table.c.patient_id == patient_id))
        if n:
            counts[name] = n
    return counts


def all_rows(db: Session) -> dict[str, int]:
    import_all_models()
    return {t.name: db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


@pytest.fixture(scope="module")
def seeded(database_url: str) -> Iterator[sessionmaker[Session]]:
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            demo.seed(db)
        try:
            yield factory
        finally:
            engine.dispose()


def richest_patient(db: Session) -> int:
    """The demo patient with rows in the most kinds of table."""
    kinds: dict[int, int] = {}
    for name in tables_with_patient_id():
        table = Base.metadata.tables[name]
        for (patient_id,) in db.execute(select(table.c.patient_id).where(table.c.patient_id.is_not(None)).distinct()):
            kinds[patient_id] = kinds.get(patient_id, 0) + 1
    return max(kinds, key=lambda pid: (kinds[pid], -pid))


def test_deleting_a_patient_removes_every_row_of_theirs_and_keeps_the_audit_trail(seeded) -> None:  # type: ignore[no-untyped-def]
    with session_scope(seeded) as db:
        patient_id = richest_patient(db)
        before_rows = rows_of(db, patient_id)
        assert {"assessments", "infusion_sessions", "checkins", "treatment_plans", "alerts"} <= set(before_rows)
        patient = db.get(Patient, patient_id)
        user_id, email = patient.user_id, patient.email
        audit_before = db.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.patient_id == patient_id))
        everything_before = all_rows(db)
        others = {p.id: rows_of(db, p.id) for p in db.scalars(select(Patient).where(Patient.id != patient_id))}
    with session_scope(seeded) as db:
        deletion.delete_patient(db, CLI, patient_id, reason="retention")
    with session_scope(seeded) as db:
        assert db.get(Patient, patient_id) is None
        assert rows_of(db, patient_id) == {}
        assert {p.id: rows_of(db, p.id) for p in db.scalars(select(Patient))} == others  # nobody else's
        # The trail stays: every entry about the patient, and one more saying it was deleted, without PHI.
        entries = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient_id)
                             .order_by(AuditEvent.id)).all()
        assert len(entries) == audit_before + 1
        assert entries[-1].action == "patient.delete" and entries[-1].actor_label == "cli:test"
        assert entries[-1].detail["reason"] == "retention"
        assert entries[-1].detail["rows"]["checkins"] == before_rows["checkins"]
        report = chain.verify(db)
        assert report.broken is None and report.entries >= audit_before
        tombstone = db.get(DeletedPatient, patient_id)
        assert tombstone is not None and tombstone.reason == "retention"
        # The sign-in account is emptied and can no longer be used.
        if user_id is not None:
            user = db.get(User, user_id)
            assert not user.is_active and user.password_hash is None and user.email != email
            assert user.full_name == "Deleted patient"
        after = all_rows(db)
        assert after["audit_events"] == everything_before["audit_events"] + 1
        assert after["patients"] == everything_before["patients"] - 1


def test_a_deleted_patients_id_is_never_given_to_a_new_patient(seeded) -> None:  # type: ignore[no-untyped-def]
    with session_scope(seeded) as db:
        clinic_id = db.scalar(select(Patient.clinic_id).limit(1))
        newest_id = factories.make_patient(db, _clinic(db, clinic_id)).id  # the highest id
    with session_scope(seeded) as db:
        deletion.delete_patient(db, CLI, newest_id, reason="request")
    with session_scope(seeded) as db:
        again = factories.make_patient(db, _clinic(db, clinic_id))
        assert again.id > newest_id
        # Its access log (who opened my record) therefore starts empty: nothing of the deleted patient's.
        assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.patient_id == again.id)) == 0


def _clinic(db: Session, clinic_id: int):  # type: ignore[no-untyped-def]
    from tenfour.clinics.models import Clinic

    return db.get(Clinic, clinic_id)


def test_only_an_admin_of_the_patients_clinic_may_delete(db, world) -> None:  # type: ignore[no-untyped-def]
    from tests.checkins_support import ctx_for

    for role in ("prescriber", "nurse", "coordinator", "manager"):
        with pytest.raises(Exception) as refused:  # noqa: PT011 - Forbidden, named below
            deletion.delete_patient(db, ctx_for(world.user(role)), world.patient_north.id, reason="request")
        assert refused.value.status_code == 403
    with pytest.raises(NotFound):
        deletion.delete_patient(db, ctx_for(world.user("admin", "south-test")), world.patient_north.id,
                                reason="request")
    with pytest.raises(ValidationFailed) as bad_reason:
        deletion.delete_patient(db, ctx_for(world.user("admin")), world.patient_north.id, reason="bored")
    assert bad_reason.value.problems[0].field == "reason"
    assert db.get(Patient, world.patient_north.id) is not None


# --- Retention ---------------------------------------------------------------------------------------------------


def age(db: Session, patient: Patient, years: float, status: str) -> None:
    """Make the patient's record closed, with its last change ``years`` ago."""
    db.flush()
    db.execute(update(Patient).where(Patient.id == patient.id)
               .values(status=status, updated_at=datetime.now(UTC) - timedelta(days=round(365.25 * years))))
    db.flush()
    db.expire_all()


def test_retention_lists_closed_records_past_the_clinics_period_only(db, world) -> None:  # type: ignore[no-untyped-def]
    old_discharged = factories.make_patient(db, world.north, first_name="Old")
    recent_discharged = factories.make_patient(db, world.north, first_name="Recent")
    old_active = factories.make_patient(db, world.north, first_name="Active")
    old_never_started = factories.make_patient(db, world.north, first_name="Referred")
    old_elsewhere = factories.make_patient(db, world.south, first_name="South")
    age(db, old_discharged, 7, "discharged")
    age(db, recent_discharged, 5, "discharged")
    age(db, old_active, 9, "active")  # still in care: never listed
    age(db, old_never_started, 6.5, "referred")
    age(db, old_elsewhere, 9, "discharged")
    found = retention.past_retention(db, world.north)
    assert [p.patient_id for p in found] == [old_discharged.id, old_never_started.id]  # oldest first
    assert found[0].kept_until < datetime.now(UTC).date()
    # The clinic's policy decides: at 4 years, the 5-year-old record is past too.
    set_policy_values(db, CLI.actor, world.north, {"privacy.retention_years": 4})
    assert recent_discharged.id in {p.patient_id for p in retention.past_retention(db, world.north)}


def test_recent_clinical_activity_keeps_an_old_record(db, world) -> None:  # type: ignore[no-untyped-def]
    from tests.checkins_support import give_course

    patient = factories.make_patient(db, world.north)
    age(db, patient, 8, "discharged")
    assert [p.patient_id for p in retention.past_retention(db, world.north)] == [patient.id]
    # Infusions and a questionnaire a year ago are activity: the clock starts from them.
    give_course(db, patient, world.user("prescriber"), datetime.now(UTC).date() - timedelta(days=365))
    age(db, patient, 8, "discharged")
    assert retention.past_retention(db, world.north) == []


# --- The command line -------------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        yield from cli_environment(monkeypatch, url, tmp_path)


def test_retention_report_and_apply_from_the_command_line(cli_database: str) -> None:
    factory = make_session_factory(make_engine(cli_database))
    with session_scope(factory) as db:
        clinic = factories.make_clinic(db, name="Harbor Clinic", slug="harbor")
        old = factories.make_patient(db, clinic, record_number="TF-OLD01")
        kept = factories.make_patient(db, clinic, record_number="TF-NEW01")
        age(db, old, 7, "discharged")
        age(db, kept, 1, "discharged")
        old_id = old.id
    factory.kw["bind"].dispose()

    report = runner.invoke(cli_app, ["retention", "report", "--clinic", "harbor"])
    assert report.exit_code == 0, report.output
    assert "retention 6 years" in report.output and "TF-OLD01" in report.output and "TF-NEW01" not in report.output

    unconfirmed = runner.invoke(cli_app, ["retention", "apply", "--clinic", "harbor"])
    assert unconfirmed.exit_code == 1 and "Nothing was deleted" in unconfirmed.output

    unknown = runner.invoke(cli_app, ["retention", "apply", "--clinic", "nowhere", "--yes"])
    assert unknown.exit_code == 2 and "No clinic 'nowhere'" in unknown.output

    applied = runner.invoke(cli_app, ["retention", "apply", "--clinic", "harbor", "--yes"])
    assert applied.exit_code == 0, applied.output
    assert "Deleted 1 record past retention" in applied.output

    verify = runner.invoke(cli_app, ["audit", "verify"])
    assert verify.exit_code == 0, verify.output

    engine = make_engine(cli_database)
    try:
        with session_scope(make_session_factory(engine)) as db:
            assert sorted(db.scalars(select(Patient.record_number))) == ["TF-NEW01"]
            assert db.get(DeletedPatient, old_id).reason == "retention"
            assert db.scalar(select(AuditEvent.actor_label).where(AuditEvent.action == "patient.delete")
                             ).startswith("cli:")
            assert db.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "retention.report")) == 1
    finally:
        engine.dispose()
