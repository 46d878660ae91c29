"""Shift-aware scheduling (issue 7): clinic closures and nurse staffing per weekday, patients' one-off duty changes
and custom rosters, scheduling requests (induction series, boosters, single sessions) with the sessions booked for
them, and "schedule waiting requests" runs (the preview until it is committed or discarded).

Revision ID: d68ef6702ce9
Revises: e55002b38471
Create Date: 2026-11-25 16:17:52.367019+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'd68ef6702ce9'
down_revision: str | None = 'e55002b38471'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('clinic_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinic_closures_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_clinic_closures_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_closures')),
    sa.UniqueConstraint('clinic_id', 'day', name='uq_clinic_closures_clinic_day')
    )
    with op.batch_alter_table('clinic_closures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinic_closures_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('clinic_nurse_staffing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('nurses', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinic_nurse_staffing_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_clinic_nurse_staffing_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_nurse_staffing')),
    sa.UniqueConstraint('clinic_id', 'weekday', name='uq_clinic_nurse_staffing_clinic_weekday')
    )
    with op.batch_alter_table('clinic_nurse_staffing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinic_nurse_staffing_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('scheduling_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('horizon_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('time_limit_s', sa.Double(), nullable=False),
    sa.Column('solver_status', sa.String(length=20), nullable=False),
    sa.Column('objective', sa.Integer(), nullable=True),
    sa.Column('best_bound', sa.Double(), nullable=True),
    sa.Column('gap', sa.Double(), nullable=True),
    sa.Column('solve_seconds', sa.Double(), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_scheduling_runs_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_scheduling_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_scheduling_runs_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_runs'))
    )
    with op.batch_alter_table('scheduling_runs', schema=None) as batch_op:
        batch_op.create_index('ix_scheduling_runs_clinic_created', ['clinic_id', 'created_at'], unique=False)

    op.create_table('patient_custom_rosters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('on_off_h', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_custom_rosters_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_custom_rosters')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_patient_custom_rosters_patient_id'))
    )
    op.create_table('patient_duty_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_patient_duty_changes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_duty_changes_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_duty_changes'))
    )
    with op.batch_alter_table('patient_duty_changes', schema=None) as batch_op:
        batch_op.create_index('ix_patient_duty_changes_patient_start', ['patient_id', 'start'], unique=False)

    op.create_table('scheduling_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('booster_request_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('earliest_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latest_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('preferred_time', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['booster_request_id'], ['booster_requests.id'], name=op.f('fk_scheduling_requests_booster_request_id_booster_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_scheduling_requests_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_scheduling_requests_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_scheduling_requests_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['treatment_plans.id'], name=op.f('fk_scheduling_requests_plan_id_treatment_plans'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_requests')),
    sa.UniqueConstraint('booster_request_id', name=op.f('uq_scheduling_requests_booster_request_id'))
    )
    with op.batch_alter_table('scheduling_requests', schema=None) as batch_op:
        batch_op.create_index('ix_scheduling_requests_clinic_status', ['clinic_id', 'status', 'earliest_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduling_requests_patient_id'), ['patient_id'], unique=False)

    op.create_table('scheduling_request_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('infusion_session_id', sa.Integer(), nullable=False),
    sa.Column('session_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['infusion_session_id'], ['infusion_sessions.id'], name=op.f('fk_scheduling_request_sessions_infusion_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['scheduling_requests.id'], name=op.f('fk_scheduling_request_sessions_request_id_scheduling_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduling_request_sessions')),
    sa.UniqueConstraint('infusion_session_id', name=op.f('uq_scheduling_request_sessions_infusion_session_id')),
    sa.UniqueConstraint('request_id', 'session_index', name='uq_scheduling_request_sessions_index')
    )


def downgrade() -> None:
    op.drop_table('scheduling_request_sessions')
    with op.batch_alter_table('scheduling_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduling_requests_patient_id'))
        batch_op.drop_index('ix_scheduling_requests_clinic_status')

    op.drop_table('scheduling_requests')
    with op.batch_alter_table('patient_duty_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_duty_changes_patient_start')

    op.drop_table('patient_duty_changes')
    op.drop_table('patient_custom_rosters')
    with op.batch_alter_table('scheduling_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduling_runs_clinic_created')

    op.drop_table('scheduling_runs')
    with op.batch_alter_table('clinic_nurse_staffing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinic_nurse_staffing_clinic_id'))

    op.drop_table('clinic_nurse_staffing')
    with op.batch_alter_table('clinic_closures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinic_closures_clinic_id'))

    op.drop_table('clinic_closures')
