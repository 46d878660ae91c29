"""Staff two-factor sign-in and re-authentication (issue 9): a TOTP secret per user (pending until confirmed),
the last accepted time step (no code works twice), hashed single-use recovery codes, and the time a session last
proved its password (``authenticated_at``), used to require a fresh sign-in before sensitive actions.

Revision ID: 7c2f1e9a4b10
Revises: eb616dd67736
Create Date: 2026-11-25 18:10:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c2f1e9a4b10'
down_revision: str | None = 'eb616dd67736'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('recovery_code_hashes', sa.Text(), nullable=True))
    with op.batch_alter_table('auth_sessions') as batch:
        batch.add_column(sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE auth_sessions SET authenticated_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions') as batch:
        batch.drop_column('authenticated_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('recovery_code_hashes')
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_enabled_at')
        batch.drop_column('totp_secret')
