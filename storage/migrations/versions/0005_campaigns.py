"""Campaigns (issue #11): a bulk request holds its whole plan (BAM's rows, typed), its Pause/Stop control, and
each Partner Center operation remembers the migration's last known status (so a campaign is tracked and counted
with one GROUP BY instead of one row per migration in the tracker).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change_requests") as batch:
        batch.add_column(sa.Column("plan", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("control", sa.String(16), nullable=True))
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
    with op.batch_alter_table("pc_operations") as batch:
        batch.add_column(sa.Column("pc_status", sa.String(32), nullable=True))
        batch.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch.create_index("ix_pc_operations_pc_status", ["pc_status"])


def downgrade() -> None:
    with op.batch_alter_table("pc_operations") as batch:
        batch.drop_index("ix_pc_operations_pc_status")
        batch.drop_column("position")
        batch.drop_column("pc_status")
    with op.batch_alter_table("change_requests") as batch:
        batch.drop_column("source")
        batch.drop_column("control")
        batch.drop_column("plan")
