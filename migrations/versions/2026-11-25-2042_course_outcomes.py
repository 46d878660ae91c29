"""Outcomes at network scale (issue 8): each course's outcome facts kept for the dashboard (``course_outcomes``) and
each infusion's safety facts (``infusion_outcomes``), and the triggers that count every write to their sources, so a
row that no longer matches them is never used (``outcomes.models``).

The triggers only add 1 to ``changes`` (creating the row if needed); they compute nothing. On PostgreSQL they run
once per statement over its transition table (a COPY or a batch UPDATE of the sweep costs one statement, not one per
row), except a course's own update (a row trigger, only when a column its facts read changes); SQLite has row
triggers only. Existing courses and sessions get a row to be counted at the first view.

Revision ID: course_outcomes
Revises: privacy_retention
Create Date: 2026-11-25 20:42:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'course_outcomes'
down_revision: str | None = 'privacy_retention'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COURSE_COLUMNS = ("clinic_id", "patient_id", "plan_id", "is_current", "started", "timezone", "course_start",
                  "course_end", "infusions_planned", "infusions", "baseline_pcl5")
EVENTS = {"inserted": ("INSERT", "NEW"), "updated": ("UPDATE", "NEW"), "deleted": ("DELETE", "OLD")}
STALE = "computed_changes IS NULL OR computed_changes <> changes"
# (trigger name, table, events, counted table, key, the parent: None when the changed row is the counted one)
COUNTED = (
    ("course_outcomes_checkins", "checkins", EVENTS, "course_outcomes", "course_id", ("checkin_courses", "course_id")),
    ("course_outcomes_courses", "checkin_courses", {"inserted": EVENTS["inserted"]}, "course_outcomes", "course_id",
     None),
    ("infusion_outcomes_sessions", "infusion_sessions", {k: EVENTS[k] for k in ("inserted", "updated")},
     "infusion_outcomes", "session_id", None),
    ("infusion_outcomes_vitals", "infusion_vitals", EVENTS, "infusion_outcomes", "session_id",
     ("infusion_sessions", "session_id")),
    ("infusion_outcomes_adverse", "infusion_adverse_events", EVENTS, "infusion_outcomes", "session_id",
     ("infusion_sessions", "session_id")),
)


def upgrade() -> None:
    op.create_table('course_outcomes',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('changes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('computed_changes', sa.Integer(), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=True),
    sa.Column('started', sa.Boolean(), nullable=True),
    sa.Column('course_start', sa.Date(), nullable=True),
    sa.Column('course_end', sa.Date(), nullable=True),
    sa.Column('infusions_planned', sa.Integer(), nullable=True),
    sa.Column('baseline', sa.Integer(), nullable=True),
    sa.Column('rules_key', sa.String(length=40), nullable=True),
    sa.Column('computed_as_of', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_course', sa.Integer(), nullable=True),
    sa.Column('first_booster', sa.Date(), nullable=True),
    sa.Column('best', sa.Integer(), nullable=True),
    sa.Column('responded', sa.Integer(), nullable=True),
    sa.Column('loss_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('h24_score', sa.Integer(), nullable=True),
    sa.Column('h24_completed', sa.Integer(), nullable=True),
    sa.Column('h24_missed', sa.Integer(), nullable=True),
    sa.Column('h24_pending', sa.Integer(), nullable=True),
    sa.Column('checkins_completed', sa.Integer(), nullable=True),
    sa.Column('checkins_missed', sa.Integer(), nullable=True),
    sa.Column('weekly', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['checkin_courses.id'],
                            name=op.f('fk_course_outcomes_course_id_checkin_courses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_outcomes'))
    )
    with op.batch_alter_table('course_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_course_outcomes_clinic', ['clinic_id'], unique=False)
        batch_op.create_index('ix_course_outcomes_stale', ['course_id'], unique=False,
                              postgresql_where=sa.text(STALE), sqlite_where=sa.text(STALE))
    op.create_table('infusion_outcomes',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('changes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('computed_changes', sa.Integer(), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('infusion_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_early', sa.Boolean(), nullable=True),
    sa.Column('notify', sa.Integer(), nullable=True),
    sa.Column('cadss_total', sa.Integer(), nullable=True),
    sa.Column('adverse', sa.String(length=400), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'],
                            name=op.f('fk_infusion_outcomes_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_infusion_outcomes'))
    )
    with op.batch_alter_table('infusion_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_infusion_outcomes_clinic', ['clinic_id'], unique=False)
        batch_op.create_index('ix_infusion_outcomes_stale', ['session_id'], unique=False,
                              postgresql_where=sa.text(STALE), sqlite_where=sa.text(STALE))
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, events, counted, key, parent in COUNTED:
        for event_name, (event, row) in events.items():
            if postgresql:
                _postgresql_trigger(f"{name}_{event_name}", table, event, row, counted, key, parent)
            else:
                _sqlite_trigger(f"{name}_{event_name}", table, event, row, counted, key, parent)
    _course_updated(postgresql)
    op.execute("INSERT INTO course_outcomes (course_id, changes) SELECT id, 1 FROM checkin_courses")
    op.execute("INSERT INTO infusion_outcomes (session_id, changes) SELECT id, 1 FROM infusion_sessions")


def _postgresql_trigger(name: str, table: str, event: str, row: str, counted: str, key: str,
                        parent: tuple[str, str] | None) -> None:
    # A parent deleted (its children with it) is no longer there: nothing to count.
    source = (f"SELECT p.id, 1 FROM {parent[0]} p WHERE p.id IN (SELECT {parent[1]} FROM changed) ORDER BY p.id"  # noqa: S608
              if parent else "SELECT id, 1 FROM changed ORDER BY id")
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {counted} ({key}, changes) {source} "
        f"ON CONFLICT ({key}) DO UPDATE SET changes = {counted}.changes + 1; RETURN NULL; END $$"
    )
    op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {row} TABLE AS changed "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def _sqlite_trigger(name: str, table: str, event: str, row: str, counted: str, key: str,
                    parent: tuple[str, str] | None) -> None:
    source = (f"SELECT {row}.{parent[1]}, 1 WHERE EXISTS (SELECT 1 FROM {parent[0]} WHERE id = {row}.{parent[1]})"  # noqa: S608
              if parent else f"SELECT {row}.id, 1 WHERE true")
    op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
               f"INSERT INTO {counted} ({key}, changes) {source} "
               f"ON CONFLICT ({key}) DO UPDATE SET changes = changes + 1; END")


def _course_updated(postgresql: bool) -> None:
    """A course's own row: counted when a column its facts read changes (not on every schedule rebuild)."""
    upsert = ("INSERT INTO course_outcomes (course_id, changes) VALUES (NEW.id, 1) ON CONFLICT (course_id) "  # noqa: S608
              f"DO UPDATE SET changes = {'course_outcomes.' if postgresql else ''}changes + 1")
    if postgresql:
        old = ", ".join(f"OLD.{c}" for c in COURSE_COLUMNS)
        new = ", ".join(f"NEW.{c}" for c in COURSE_COLUMNS)
        op.execute(f"CREATE FUNCTION course_outcomes_courses_updated() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {upsert}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER course_outcomes_courses_updated AFTER UPDATE ON checkin_courses FOR EACH ROW "
                   f"WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION course_outcomes_courses_updated()")
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COURSE_COLUMNS)
        op.execute(f"CREATE TRIGGER course_outcomes_courses_updated AFTER UPDATE ON checkin_courses "
                   f"WHEN {changed} BEGIN {upsert}; END")


def _triggers() -> list[tuple[str, str]]:
    names = [(f"{name}_{event}", table) for name, table, events, *_ in COUNTED for event in events]
    return [*names, ("course_outcomes_courses_updated", "checkin_courses")]


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in _triggers():
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('infusion_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_infusion_outcomes_stale')
        batch_op.drop_index('ix_infusion_outcomes_clinic')
    op.drop_table('infusion_outcomes')
    with op.batch_alter_table('course_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_course_outcomes_stale')
        batch_op.drop_index('ix_course_outcomes_clinic')
    op.drop_table('course_outcomes')
