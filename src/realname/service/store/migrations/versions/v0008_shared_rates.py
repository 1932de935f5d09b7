"""Throttle budgets shared by every instance (issue 16): one row per budget (its hashed scope and
key, locked by each spender) and one per spend inside its moving window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("touched_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_rate_hits_key_at", "rate_hits", ["key_hash", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_hits_key_at", table_name="rate_hits")
    op.drop_table("rate_hits")
    op.drop_table("rate_keys")
