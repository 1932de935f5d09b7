"""The citizen's own look-up (一证通查, issue 15): look-ups (the token's hash, the ID's HMAC index
and masked form, the portrait encrypted until the look-up ends, the challenge and attempts) and
the disputes opened from them (one open dispute per number at most).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_lookups",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("id_index", sa.String(64), nullable=False),
        sa.Column("id_number_masked", sa.String(18), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("portrait_enc", sa.LargeBinary(), nullable=True),
        sa.Column("challenge", sa.String(200), nullable=True),
        sa.Column("nonce_hash", sa.String(64), nullable=True),
        sa.Column("challenge_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("challenges_issued", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("citizen_lookups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_lookups_id_index"), ["id_index"], unique=False)
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lookup_id", sa.String(36), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("outlet_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("msisdn_masked", sa.String(11), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("note_enc", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=True),
        sa.Column("answer", sa.String(500), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lookup_id"], ["citizen_lookups.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["outlet_id"], ["outlets.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.ForeignKeyConstraint(["answered_by"], ["users.id"]),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_outlet_id"), ["outlet_id"], unique=False)
        batch_op.create_index(
            "uq_disputes_open_subscription",
            ["subscription_id"],
            unique=True,
            postgresql_where=sa.text("state = 'open'"),
            sqlite_where=sa.text("state = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("uq_disputes_open_subscription")
        batch_op.drop_index(batch_op.f("ix_disputes_outlet_id"))
    op.drop_table("disputes")
    with op.batch_alter_table("citizen_lookups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_lookups_id_index"))
    op.drop_table("citizen_lookups")
