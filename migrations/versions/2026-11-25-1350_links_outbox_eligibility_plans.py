"""Single-use links, the email outbox, eligibility decisions, and treatment plans (signed = immutable).

Revision ID: 114b2445cd86
Revises: 808f48dd3798
Create Date: 2026-11-25 13:50:46.905112+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '114b2445cd86'
down_revision: str | None = '808f48dd3798'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_access_links_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_access_links_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_access_links_token_hash'))
    )
    with op.batch_alter_table('access_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_links_patient_id'), ['patient_id'], unique=False)

    op.create_table('eligibility_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('rules_version', sa.String(length=20), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('thresholds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('override_outcome', sa.String(length=10), nullable=True),
    sa.Column('override_reason', sa.String(length=2000), nullable=True),
    sa.Column('overridden_by_id', sa.Integer(), nullable=True),
    sa.Column('overridden_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_eligibility_decisions_clinic_id_clinics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_eligibility_decisions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['overridden_by_id'], ['users.id'], name=op.f('fk_eligibility_decisions_overridden_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_eligibility_decisions_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_decisions'))
    )
    with op.batch_alter_table('eligibility_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_eligibility_decisions_patient_created', ['patient_id', 'created_at'], unique=False)

    op.create_table('email_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_email_outbox_patient_id_patients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_outbox'))
    )
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_email_outbox_pending', ['sent_at', 'attempts'], unique=False)

    op.create_table('treatment_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('protocol', sa.String(length=20), nullable=False),
    sa.Column('infusions_planned', sa.Integer(), nullable=False),
    sa.Column('dose_ug_per_kg', sa.Integer(), nullable=False),
    sa.Column('infusion_duration_min', sa.Integer(), nullable=False),
    sa.Column('max_infusions_per_week', sa.Integer(), nullable=False),
    sa.Column('pregnancy_check_required', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.String(length=4000), nullable=True),
    sa.Column('eligibility_decision_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_treatment_plans_clinic_id_clinics'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_treatment_plans_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['eligibility_decision_id'], ['eligibility_decisions.id'], name=op.f('fk_treatment_plans_eligibility_decision_id_eligibility_decisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_treatment_plans_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_treatment_plans_signed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['treatment_plans.id'], name=op.f('fk_treatment_plans_supersedes_id_treatment_plans'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treatment_plans')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_treatment_plans_supersedes_id'))
    )
    with op.batch_alter_table('treatment_plans', schema=None) as batch_op:
        batch_op.create_index('ix_treatment_plans_patient_created', ['patient_id', 'created_at'], unique=False)



    # A signed plan is never edited, only superseded by a new version: the database refuses the UPDATE.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION treatment_plans_signed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF OLD.signed_at IS NOT NULL THEN "
            "RAISE EXCEPTION 'a signed treatment plan cannot be changed; supersede it'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER treatment_plans_signed_no_update BEFORE UPDATE ON treatment_plans "
            "FOR EACH ROW EXECUTE FUNCTION treatment_plans_signed_immutable()"
        )
    else:
        op.execute(
            "CREATE TRIGGER treatment_plans_signed_no_update BEFORE UPDATE ON treatment_plans "
            "WHEN OLD.signed_at IS NOT NULL "
            "BEGIN SELECT RAISE(ABORT, 'a signed treatment plan cannot be changed; supersede it'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS treatment_plans_signed_no_update ON treatment_plans")
        op.execute("DROP FUNCTION IF EXISTS treatment_plans_signed_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS treatment_plans_signed_no_update")
    with op.batch_alter_table('treatment_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_treatment_plans_patient_created')

    op.drop_table('treatment_plans')
    with op.batch_alter_table('email_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_email_outbox_pending')

    op.drop_table('email_outbox')
    with op.batch_alter_table('eligibility_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_eligibility_decisions_patient_created')

    op.drop_table('eligibility_decisions')
    with op.batch_alter_table('access_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_links_patient_id'))

    op.drop_table('access_links')

