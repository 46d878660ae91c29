"""Research exports prepared by a background job (issue 10, report rendering on the queue): ``export_files``, one row
per file asked for, with its status, the clinics it covers, its counts and (until it expires) the gzip-compressed CSV.

Revision ID: export_files
Revises: course_outcomes
Create Date: 2026-11-26 03:00:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'export_files'
down_revision: str | None = 'course_outcomes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('export_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('clinic_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('content_bytes', sa.Integer(), nullable=True),
    sa.Column('patients', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('withheld_no_consent', sa.Integer(), nullable=True),
    sa.Column('withheld_small_cells', sa.Integer(), nullable=True),
    sa.Column('suppressed_patients', sa.Integer(), nullable=True),
    sa.Column('min_cell_size', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_export_files_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_files'))
    )
    with op.batch_alter_table('export_files', schema=None) as batch_op:
        batch_op.create_index('ix_export_files_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('export_files', schema=None) as batch_op:
        batch_op.drop_index('ix_export_files_created_at')
    op.drop_table('export_files')
