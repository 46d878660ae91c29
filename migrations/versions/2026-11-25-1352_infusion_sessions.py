"""Infusion sessions at the chairside: sessions and their lifecycle, pre-checks, doses, vitals, pump events,
adverse events and discharges.

Revision ID: 3c84571b2101
Revises: d1a23f548c32
Create Date: 2026-11-25 13:52:58.936613+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '3c84571b2101'
down_revision: str | None = 'd1a23f548c32'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('infusion_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('infusion_duration_min', sa.Integer(), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('infusion_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('infusion_ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_early', sa.Boolean(), nullable=False),
    sa.Column('abort_reason', sa.String(length=500), nullable=True),
    sa.Column('rescheduled_from_id', sa.Integer(), nullable=True),
    sa.Column('cadss_assessment_id', sa.Integer(), nullable=True),
    sa.Column('duty_override_by_id', sa.Integer(), nullable=True),
    sa.Column('duty_override_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duty_override_reason', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_infusion_sessions_booked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cadss_assessment_id'], ['assessments.id'], name=op.f('fk_infusion_sessions_cadss_assessment_id_assessments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['chair_id'], ['chairs.id'], name=op.f('fk_infusion_sessions_chair_id_chairs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_infusion_sessions_clinic_id_clinics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['duty_override_by_id'], ['users.id'], name=op.f('fk_infusion_sessions_duty_override_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_infusion_sessions_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['treatment_plans.id'], name=op.f('fk_infusion_sessions_plan_id_treatment_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rescheduled_from_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_sessions_rescheduled_from_id_infusion_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_sessions')),
    sa.UniqueConstraint('rescheduled_from_id', name=op.f('uq_infusion_sessions_rescheduled_from_id'))
    )
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_infusion_sessions_chair_start', ['chair_id', 'scheduled_start'], unique=False)
        batch_op.create_index('ix_infusion_sessions_clinic_start', ['clinic_id', 'scheduled_start'], unique=False)
        batch_op.create_index('ix_infusion_sessions_patient_start', ['patient_id', 'scheduled_start'], unique=False)

    op.create_table('infusion_adverse_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('onset_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action_taken', sa.String(length=1000), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_infusion_adverse_events_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_infusion_adverse_events_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_adverse_events_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_adverse_events'))
    )
    with op.batch_alter_table('infusion_adverse_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_adverse_events_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_doses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('weight_g', sa.Integer(), nullable=False),
    sa.Column('height_mm', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=True),
    sa.Column('weight_basis', sa.String(length=10), nullable=False),
    sa.Column('dosing_weight_g', sa.Integer(), nullable=False),
    sa.Column('dose_ug_per_kg', sa.Integer(), nullable=False),
    sa.Column('plan_dose_ug_per_kg', sa.Integer(), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('plan_duration_min', sa.Integer(), nullable=False),
    sa.Column('concentration_ug_per_ml', sa.Integer(), nullable=False),
    sa.Column('dose_ug', sa.Integer(), nullable=False),
    sa.Column('volume_ul', sa.Integer(), nullable=False),
    sa.Column('rate_ul_per_h', sa.Integer(), nullable=False),
    sa.Column('formula', sa.String(length=1000), nullable=False),
    sa.Column('warnings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('differs_from_plan', sa.Boolean(), nullable=False),
    sa.Column('change_reason', sa.String(length=1000), nullable=True),
    sa.Column('calculated_by_id', sa.Integer(), nullable=True),
    sa.Column('calculated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['calculated_by_id'], ['users.id'], name=op.f('fk_infusion_doses_calculated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_doses_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_infusion_doses_verified_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_doses'))
    )
    with op.batch_alter_table('infusion_doses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_doses_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_infusion_transitions_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_transitions_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_transitions'))
    )
    with op.batch_alter_table('infusion_transitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_transitions_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_vitals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('systolic_bp', sa.Integer(), nullable=False),
    sa.Column('diastolic_bp', sa.Integer(), nullable=False),
    sa.Column('heart_rate', sa.Integer(), nullable=False),
    sa.Column('spo2', sa.Integer(), nullable=False),
    sa.Column('respiratory_rate', sa.Integer(), nullable=True),
    sa.Column('sedation', sa.String(length=20), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('action_note', sa.String(length=1000), nullable=True),
    sa.Column('actions_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('actions_recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actions_recorded_by_id'], ['users.id'], name=op.f('fk_infusion_vitals_actions_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_infusion_vitals_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_infusion_vitals_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_vitals_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_vitals'))
    )
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.create_index('ix_infusion_vitals_session_taken', ['session_id', 'taken_at'], unique=False)

    op.create_table('infusion_discharges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('discharged_by_id', sa.Integer(), nullable=True),
    sa.Column('alert_and_oriented', sa.Boolean(), nullable=False),
    sa.Column('escort_present', sa.Boolean(), nullable=False),
    sa.Column('escort_name', sa.String(length=120), nullable=True),
    sa.Column('last_vitals_id', sa.Integer(), nullable=True),
    sa.Column('observation_min', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('return_to_duty_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('return_to_driving_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('no_duty_window_h', sa.Integer(), nullable=False),
    sa.Column('instructions', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['discharged_by_id'], ['users.id'], name=op.f('fk_infusion_discharges_discharged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['last_vitals_id'], ['infusion_vitals.id'], name=op.f('fk_infusion_discharges_last_vitals_id_infusion_vitals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_discharges_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_discharges')),
    sa.UniqueConstraint('session_id', name=op.f('uq_infusion_discharges_session_id'))
    )
    op.create_table('infusion_prechecks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('weight_g', sa.Integer(), nullable=False),
    sa.Column('weight_measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('height_mm', sa.Integer(), nullable=True),
    sa.Column('vitals_id', sa.Integer(), nullable=True),
    sa.Column('fasting_min', sa.Integer(), nullable=True),
    sa.Column('escort_confirmed', sa.Boolean(), nullable=False),
    sa.Column('escort_name', sa.String(length=120), nullable=True),
    sa.Column('pregnancy_result', sa.String(length=20), nullable=True),
    sa.Column('next_shift_source', sa.String(length=10), nullable=False),
    sa.Column('next_shift_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_infusion_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('findings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('passed_by_override', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_infusion_prechecks_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_prechecks_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vitals_id'], ['infusion_vitals.id'], name=op.f('fk_infusion_prechecks_vitals_id_infusion_vitals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_prechecks'))
    )
    with op.batch_alter_table('infusion_prechecks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_prechecks_session_id'), ['session_id'], unique=False)

    op.create_table('infusion_pump_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('rate_ul_per_h', sa.Integer(), nullable=True),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('vitals_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_infusion_pump_events_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['infusion_sessions.id'], name=op.f('fk_infusion_pump_events_session_id_infusion_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vitals_id'], ['infusion_vitals.id'], name=op.f('fk_infusion_pump_events_vitals_id_infusion_vitals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infusion_pump_events'))
    )
    with op.batch_alter_table('infusion_pump_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infusion_pump_events_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('infusion_pump_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_pump_events_session_id'))

    op.drop_table('infusion_pump_events')
    with op.batch_alter_table('infusion_prechecks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_prechecks_session_id'))

    op.drop_table('infusion_prechecks')
    op.drop_table('infusion_discharges')
    with op.batch_alter_table('infusion_vitals', schema=None) as batch_op:
        batch_op.drop_index('ix_infusion_vitals_session_taken')

    op.drop_table('infusion_vitals')
    with op.batch_alter_table('infusion_transitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_transitions_session_id'))

    op.drop_table('infusion_transitions')
    with op.batch_alter_table('infusion_doses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_doses_session_id'))

    op.drop_table('infusion_doses')
    with op.batch_alter_table('infusion_adverse_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infusion_adverse_events_session_id'))

    op.drop_table('infusion_adverse_events')
    with op.batch_alter_table('infusion_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_infusion_sessions_patient_start')
        batch_op.drop_index('ix_infusion_sessions_clinic_start')
        batch_op.drop_index('ix_infusion_sessions_chair_start')

    op.drop_table('infusion_sessions')
