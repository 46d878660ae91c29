"""Check-ins and relapse early warning: courses, scheduled check-ins, warning signs and their endorsements, the latest
relapse evaluation and its state changes, reminder choices and log, booster proposals and requests, sweep runs.

Revision ID: e55002b38471
Revises: 3c84571b2101
Create Date: 2026-11-25 14:36:36.924289+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e55002b38471'
down_revision: str | None = '3c84571b2101'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sweep_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sweep_runs'))
    )
    op.create_table('booster_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('latest_treatment_end', sa.Date(), nullable=False),
    sa.Column('median_durability_days', sa.Double(), nullable=False),
    sa.Column('n_episodes', sa.Integer(), nullable=False),
    sa.Column('n_censored', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_booster_proposals_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_booster_proposals_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_booster_proposals_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booster_proposals'))
    )
    with op.batch_alter_table('booster_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_booster_proposals_clinic_status', ['clinic_id', 'status', 'window_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_booster_proposals_patient_id'), ['patient_id'], unique=False)

    op.create_table('checkin_preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('reminder_hour', sa.Integer(), nullable=True),
    sa.Column('reminders_enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_checkin_preferences_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_checkin_preferences_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_preferences')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_checkin_preferences_patient_id'))
    )
    op.create_table('warning_signs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_warning_signs_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_warning_signs_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_warning_signs_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_warning_signs_removed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_signs'))
    )
    with op.batch_alter_table('warning_signs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_signs_patient_id'), ['patient_id'], unique=False)

    op.create_table('booster_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_booster_requests_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_booster_requests_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['booster_proposals.id'], name=op.f('fk_booster_requests_proposal_id_booster_proposals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_booster_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booster_requests')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_booster_requests_proposal_id'))
    )
    with op.batch_alter_table('booster_requests', schema=None) as batch_op:
        batch_op.create_index('ix_booster_requests_clinic_status', ['clinic_id', 'status', 'window_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_booster_requests_patient_id'), ['patient_id'], unique=False)

    op.create_table('checkin_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('course_start', sa.Date(), nullable=True),
    sa.Column('course_end', sa.Date(), nullable=True),
    sa.Column('started', sa.Boolean(), nullable=False),
    sa.Column('infusions_planned', sa.Integer(), nullable=False),
    sa.Column('infusions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('baseline_pcl5', sa.Integer(), nullable=True),
    sa.Column('baseline_assessment_id', sa.Integer(), nullable=True),
    sa.Column('tracking_since', sa.Date(), nullable=False),
    sa.Column('horizon_end', sa.Date(), nullable=True),
    sa.Column('source_fingerprint', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['baseline_assessment_id'], ['assessments.id'], name=op.f('fk_checkin_courses_baseline_assessment_id_assessments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_checkin_courses_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_checkin_courses_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['treatment_plans.id'], name=op.f('fk_checkin_courses_plan_id_treatment_plans'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_courses')),
    sa.UniqueConstraint('patient_id', 'plan_id', name='uq_checkin_courses_patient_plan')
    )
    with op.batch_alter_table('checkin_courses', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_courses_clinic_current', ['clinic_id', 'is_current'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_courses_patient_id'), ['patient_id'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('infusion_index', sa.Integer(), nullable=True),
    sa.Column('week', sa.Integer(), nullable=True),
    sa.Column('pcl5_form', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('submission_key', sa.String(length=64), nullable=True),
    sa.Column('entered_by', sa.String(length=10), nullable=True),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=10), nullable=True),
    sa.Column('pcl5_assessment_id', sa.Integer(), nullable=True),
    sa.Column('phq9_assessment_id', sa.Integer(), nullable=True),
    sa.Column('cssrs_assessment_id', sa.Integer(), nullable=True),
    sa.Column('pcl5_total', sa.Integer(), nullable=True),
    sa.Column('pcl5_short_total', sa.Integer(), nullable=True),
    sa.Column('phq9_total', sa.Integer(), nullable=True),
    sa.Column('phq9_item9', sa.Integer(), nullable=True),
    sa.Column('cssrs_risk', sa.String(length=10), nullable=True),
    sa.Column('signs_endorsed', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_checkins_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['checkin_courses.id'], name=op.f('fk_checkins_course_id_checkin_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cssrs_assessment_id'], ['assessments.id'], name=op.f('fk_checkins_cssrs_assessment_id_assessments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['users.id'], name=op.f('fk_checkins_entered_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_checkins_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pcl5_assessment_id'], ['assessments.id'], name=op.f('fk_checkins_pcl5_assessment_id_assessments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['phq9_assessment_id'], ['assessments.id'], name=op.f('fk_checkins_phq9_assessment_id_assessments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_checkins_submission_key'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_clinic_status_due', ['clinic_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_checkins_course_status_due', ['course_id', 'status', 'due_on'], unique=False)
        batch_op.create_index('ix_checkins_patient_completed', ['patient_id', 'completed_on'], unique=False)

    op.create_table('relapse_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('responded', sa.Boolean(), nullable=False),
    sa.Column('best_pcl5', sa.Integer(), nullable=True),
    sa.Column('baseline_pcl5', sa.Integer(), nullable=True),
    sa.Column('latest_pcl5', sa.Integer(), nullable=True),
    sa.Column('slope_points_per_week', sa.Double(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_relapse_evaluations_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_relapse_evaluations_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['checkin_courses.id'], name=op.f('fk_relapse_evaluations_course_id_checkin_courses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_relapse_evaluations_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relapse_evaluations')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_relapse_evaluations_patient_id'))
    )
    with op.batch_alter_table('relapse_evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_relapse_evaluations_clinic_state', ['clinic_id', 'state'], unique=False)

    op.create_table('checkin_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_checkin_reminders_checkin_id_checkins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['access_links.id'], name=op.f('fk_checkin_reminders_link_id_access_links'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_id'], ['email_outbox.id'], name=op.f('fk_checkin_reminders_outbox_id_email_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_checkin_reminders_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_reminders'))
    )
    with op.batch_alter_table('checkin_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_reminders_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_reminders_patient_id'), ['patient_id'], unique=False)

    op.create_table('relapse_transitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_relapse_transitions_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_relapse_transitions_checkin_id_checkins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_relapse_transitions_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_relapse_transitions_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relapse_transitions'))
    )
    with op.batch_alter_table('relapse_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_relapse_transitions_patient_at', ['patient_id', 'created_at'], unique=False)

    op.create_table('warning_sign_endorsements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('warning_sign_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_warning_sign_endorsements_checkin_id_checkins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['warning_sign_id'], ['warning_signs.id'], name=op.f('fk_warning_sign_endorsements_warning_sign_id_warning_signs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_sign_endorsements')),
    sa.UniqueConstraint('checkin_id', 'warning_sign_id', name='uq_warning_sign_endorsements_pair')
    )
    with op.batch_alter_table('warning_sign_endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_warning_sign_endorsements_checkin_id'), ['checkin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_warning_sign_endorsements_warning_sign_id'), ['warning_sign_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('warning_sign_endorsements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_sign_endorsements_warning_sign_id'))
        batch_op.drop_index(batch_op.f('ix_warning_sign_endorsements_checkin_id'))

    op.drop_table('warning_sign_endorsements')
    with op.batch_alter_table('relapse_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_relapse_transitions_patient_at')

    op.drop_table('relapse_transitions')
    with op.batch_alter_table('checkin_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_reminders_patient_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_reminders_checkin_id'))

    op.drop_table('checkin_reminders')
    with op.batch_alter_table('relapse_evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_relapse_evaluations_clinic_state')

    op.drop_table('relapse_evaluations')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_patient_completed')
        batch_op.drop_index('ix_checkins_course_status_due')
        batch_op.drop_index('ix_checkins_clinic_status_due')

    op.drop_table('checkins')
    with op.batch_alter_table('checkin_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_courses_patient_id'))
        batch_op.drop_index('ix_checkin_courses_clinic_current')

    op.drop_table('checkin_courses')
    with op.batch_alter_table('booster_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booster_requests_patient_id'))
        batch_op.drop_index('ix_booster_requests_clinic_status')

    op.drop_table('booster_requests')
    with op.batch_alter_table('warning_signs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warning_signs_patient_id'))

    op.drop_table('warning_signs')
    op.drop_table('checkin_preferences')
    with op.batch_alter_table('booster_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booster_proposals_patient_id'))
        batch_op.drop_index('ix_booster_proposals_clinic_status')

    op.drop_table('booster_proposals')
    op.drop_table('sweep_runs')
