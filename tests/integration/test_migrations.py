"""Migrations: upgrade to head, downgrade to base and upgrade again, on a brand-new database of the same kind as
the test database; and the models match the migrations (autogenerate finds nothing to add)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from tests.helpers import is_postgres, scratch_database

from tenfour import migrate
from tenfour.db import Base, import_all_models, make_engine

SKELETON_TABLES = {"users", "clinic_memberships", "auth_sessions", "rate_limit_hits", "clinics", "chairs",
                   "clinic_policy_values", "patients", "patient_consents", "audit_events"}


@pytest.fixture
def scratch(database_url: str) -> Iterator[tuple[str, Engine]]:
    with scratch_database(database_url) as url:
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if is_postgres(str(engine.url)):
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return set(connection.execute(text(sql)).scalars())


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_upgrade_downgrade_and_upgrade_again(scratch) -> None:  # type: ignore[no-untyped-def]
    url, engine = scratch
    migrate.upgrade(url)
    assert tables(engine) >= SKELETON_TABLES
    assert {t for t in triggers(engine) if t.startswith("audit_events")}, "the append-only triggers exist"
    migrate.downgrade(url, "base")
    assert tables(engine) <= {"alembic_version"}, f"left behind: {tables(engine) - {'alembic_version'}}"
    assert not {t for t in triggers(engine) if t.startswith("audit_events")}
    migrate.upgrade(url)
    assert tables(engine) >= SKELETON_TABLES
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == migrate.current_heads()[0]


def test_every_revision_steps_down_and_up_again(scratch) -> None:  # type: ignore[no-untyped-def]
    url, engine = scratch
    for revision in revisions():
        migrate.upgrade(url, revision)
        after_up = tables(engine)
        migrate.downgrade(url, "-1")
        migrate.upgrade(url, revision)
        assert tables(engine) == after_up, f"{revision}: a down-and-up changed the tables"


def test_the_models_match_the_migrations(scratch) -> None:  # type: ignore[no-untyped-def]
    url, engine = scratch
    migrate.upgrade(url)
    import_all_models()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_name": migrate.include_name})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "models and migrations differ; write a migration:\n" + "\n".join(map(str, differences))


def test_one_head_and_named_by_the_house_rule() -> None:
    assert len(migrate.current_heads()) == 1, "merge the branches into one head"
    names = sorted(p.name for p in migrate.migrations_dir().joinpath("versions").glob("*.py"))
    assert names, "no migrations found"
    bad = [n for n in names if not re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+\.py", n)]
    assert bad == [], "versions are named YYYY-MM-DD-HHMM_slug.py"
