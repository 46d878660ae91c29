"""Privacy (issue 9): the deleted-patients tombstone, and the TOTP secret encrypted at rest.

- ``deleted_patients``: one row per deleted patient record, holding only its former id (the pseudonymous number the
  audit trail still names), the clinic, why and when. The audit trail outlives the record; this says what happened.
- ``users.totp_secret`` widens to hold a Fernet token (``accounts.secretbox``); rows written before are encrypted here
  with the deployment's secret key, and decrypted again on downgrade.

Revision ID: privacy_retention
Revises: jobs_queue
Create Date: 2026-11-25 20:41:00+00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'privacy_retention'
down_revision: str | None = 'jobs_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table("users", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _rewrite_totp_secrets(encrypting: bool) -> None:
    """Encrypt (or decrypt) the stored secrets. The key is read only when there is a row to change."""
    from tenfour.accounts import secretbox

    bind = op.get_bind()
    rows = bind.execute(sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))).all()
    for user_id, stored in rows:
        if encrypting and not secretbox.is_encrypted(stored):
            new = secretbox.encrypt(stored)
        elif not encrypting and secretbox.is_encrypted(stored):
            new = secretbox.decrypt(stored)  # None (another key): the person enrols again after an admin reset
        else:
            continue
        bind.execute(sa.update(_users).where(_users.c.id == user_id).values(totp_secret=new))


def upgrade() -> None:
    op.create_table(
        'deleted_patients',
        sa.Column('patient_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_deleted_patients')),
    )
    op.create_index(op.f('ix_deleted_patients_clinic_id'), 'deleted_patients', ['clinic_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch:
        batch.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                           existing_nullable=True)
    _rewrite_totp_secrets(encrypting=True)


def downgrade() -> None:
    _rewrite_totp_secrets(encrypting=False)
    with op.batch_alter_table('users', schema=None) as batch:
        batch.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                           existing_nullable=True)
    op.drop_index(op.f('ix_deleted_patients_clinic_id'), table_name='deleted_patients')
    op.drop_table('deleted_patients')
