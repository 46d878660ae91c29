"""checkins_and_relapse

Revision ID: e55002b38471
Revises: 3c84571b2101
Create Date: 2026-11-25 14:36:36.924289+00:00
"""
from collections.abc import Sequence

revision: str = 'e55002b38471'
down_revision: str | None = '3c84571b2101'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
