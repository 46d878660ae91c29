"""referrals_and_intake

Revision ID: d1a23f548c32
Revises: 114b2445cd86
Create Date: 2026-11-25 13:51:56.753489+00:00
"""
from collections.abc import Sequence

revision: str = 'd1a23f548c32'
down_revision: str | None = '114b2445cd86'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
