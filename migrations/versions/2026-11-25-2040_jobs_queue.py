"""Background jobs on a real queue (issue 10): on PostgreSQL, procrastinate's schema (its tables, functions and
triggers, from the pinned procrastinate package) in the same database; on SQLite nothing (jobs run in-process).

Revision ID: jobs_queue
Revises: 7c2f1e9a4b10
Create Date: 2026-11-25 20:40:00+00:00
"""
from collections.abc import Sequence
from importlib import resources

from alembic import op

revision: str = 'jobs_queue'
down_revision: str | None = '7c2f1e9a4b10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # procrastinate's own schema file, from the version pinned in pyproject.toml. A later procrastinate release
    # ships its changes as SQL files in procrastinate/sql/migrations: apply those in a new revision when upgrading.
    schema = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    op.get_bind().exec_driver_sql(schema.replace("%", "%%"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Everything procrastinate created is named procrastinate_*: tables (with their triggers), functions, types.
    op.execute("""
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN SELECT tablename FROM pg_tables
                        WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
            END LOOP;
            FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                        JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
                EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
            END LOOP;
            FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                        WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                          AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
            END LOOP;
        END $$;
    """)
