"""infusion_sessions

Revision ID: 3c84571b2101
Revises: d1a23f548c32
Create Date: 2026-11-25 13:52:58.936613+00:00
"""
from collections.abc import Sequence

revision: str = '3c84571b2101'
down_revision: str | None = 'd1a23f548c32'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
