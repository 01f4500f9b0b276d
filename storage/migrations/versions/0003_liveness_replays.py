"""Recovery and replays (issue 9): live process instances, the claim's holder, seen Slack signatures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
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
    op.create_table(
        "process_instances",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("alive_until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_instances")),
    )
    op.create_index(op.f("ix_process_instances_alive_until"), "process_instances", ["alive_until"])
    op.create_table(
        "seen_slack_signatures",
        sa.Column("signature", sa.String(80), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_seen_slack_signatures")),
    )
    op.create_index(op.f("ix_seen_slack_signatures_expires_at"), "seen_slack_signatures", ["expires_at"])
    with op.batch_alter_table("pc_operations") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pc_operations") as batch:
        batch.drop_column("claimed_by")
    op.drop_index(op.f("ix_seen_slack_signatures_expires_at"), table_name="seen_slack_signatures")
    op.drop_table("seen_slack_signatures")
    op.drop_index(op.f("ix_process_instances_alive_until"), table_name="process_instances")
    op.drop_table("process_instances")
