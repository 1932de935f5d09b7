"""Inspection (issue 15): outlets' opening hours (the out-of-hours flag), the employee a staff
account belongs to (one person's clerk and supervisor accounts: the self-approval flag), the day
counters that keep the reports' figures when the audit log's oldest entries are pruned, and the
flags that a supervisor or auditor acknowledged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_hours", sa.String(11), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employee_ref", sa.String(50), nullable=True))
    op.create_table(
        "report_days",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outlet", sa.String(50), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("outlet", "day", name="uq_report_days_outlet_day"),
    )
    op.create_table(
        "flag_acks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("flag_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("outlet", sa.String(50), nullable=False),
        sa.Column("acknowledged_by", sa.String(100), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("flag_acks")
    op.drop_table("report_days")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("employee_ref")
    with op.batch_alter_table("outlets", schema=None) as batch_op:
        batch_op.drop_column("opening_hours")
