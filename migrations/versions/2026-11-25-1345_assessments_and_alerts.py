"""Instruments and assessments (immutable, corrections as new versions); alerts; clinic crisis lines.

Revision ID: 808f48dd3798
Revises: 6f6caaf9a054
Create Date: 2026-11-25 13:45:35.608565+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '808f48dd3798'
down_revision: str | None = '6f6caaf9a054'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_type', sa.String(length=30), nullable=True),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=30), nullable=True),
    sa.Column('resolution_note', sa.String(length=2000), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_alerts_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_alerts_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_alerts_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_alerts_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_clinic_open', ['clinic_id', 'resolved_at', 'severity'], unique=False)
        batch_op.create_index('ix_alerts_patient_created', ['patient_id', 'created_at'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.String(length=30), nullable=False),
    sa.Column('instrument_version', sa.String(length=20), nullable=False),
    sa.Column('context', sa.String(length=30), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('band', sa.String(length=30), nullable=True),
    sa.Column('risk_level', sa.String(length=20), nullable=True),
    sa.Column('flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('entered_by', sa.String(length=10), nullable=False),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('administered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('correction_reason', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_assessments_clinic_id_clinics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['users.id'], name=op.f('fk_assessments_entered_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_assessments_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['assessments.id'], name=op.f('fk_assessments_supersedes_id_assessments'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_assessments_supersedes_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_assessments_patient_instrument_at', ['patient_id', 'instrument_id', 'administered_at'], unique=False)

    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crisis_lines', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('on_call_emails', sa.String(length=1000), nullable=True))



    # Assessments are immutable: a correction is a new row. The database refuses UPDATE as well.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION assessments_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'assessments are immutable; store a correction instead'; END $$"
        )
        op.execute(
            "CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments "
            "FOR EACH ROW EXECUTE FUNCTION assessments_immutable()"
        )
    else:
        op.execute(
            "CREATE TRIGGER assessments_no_update BEFORE UPDATE ON assessments "
            "BEGIN SELECT RAISE(ABORT, 'assessments are immutable; store a correction instead'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS assessments_no_update ON assessments")
        op.execute("DROP FUNCTION IF EXISTS assessments_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS assessments_no_update")
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.drop_column('on_call_emails')
        batch_op.drop_column('crisis_lines')

    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_patient_instrument_at')
        batch_op.drop_index(batch_op.f('ix_assessments_clinic_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_patient_created')
        batch_op.drop_index('ix_alerts_clinic_open')

    op.drop_table('alerts')

