"""Challenges revealed at the last moment (issue 10): when the outstanding challenge was issued
(its recording must begin within ``REALNAME_CHALLENGE_TTL_S``) and how many challenges each
session was given. Challenges stored before this revision had no schedule: they are cleared
with their nonces, so an open session asks for a new (prompt-locked) one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("challenge_issued_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("challenges_issued", sa.Integer(), server_default="0", nullable=False)
        )
    # An unscheduled challenge of an open session can no longer be answered (the service judges
    # every capture by its schedule): spend it; one was issued per session before.
    op.execute("UPDATE sessions SET challenges_issued = 1 WHERE challenge IS NOT NULL")
    op.execute(
        "UPDATE sessions SET challenge = NULL, nonce_hash = NULL "
        "WHERE state IN ('awaiting_card', 'awaiting_capture')"
    )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("challenges_issued")
        batch_op.drop_column("challenge_issued_at")
