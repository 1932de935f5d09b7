"""Hardening (issue 9): sign-in failures and account locks; when a running capture started;
usernames in their canonical lower-case form.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("capture_started_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Sign-in looks usernames up in their canonical (lower-case) form: bring stored ones to it
    # where that names no one else (a clash keeps its name and must be renamed by hand).
    op.execute(
        "UPDATE users SET username = lower(username) WHERE username <> lower(username) "
        "AND NOT EXISTS (SELECT 1 FROM users AS other WHERE other.username = lower(users.username))"
    )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("capture_started_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
