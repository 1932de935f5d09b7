"""A citizen look-up keeps the ID's index under every index key (issue 16, index keys rotated):
``id_index`` under the newest, ``old_id_indexes`` under the older ones, so that its numbers are
found whether the identity was re-indexed yet or not.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_lookups") as batch_op:
        batch_op.add_column(
            sa.Column("old_id_indexes", sa.String(400), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("citizen_lookups") as batch_op:
        batch_op.drop_column("old_id_indexes")
