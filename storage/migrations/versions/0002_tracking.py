"""Status tracker: the durable Slack outbox and the tracked migrations/schedules (issue #5).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
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
    op.create_table(
        "tracking_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_outbox")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_tracking_outbox_scope_key")),
    )
    op.create_index(op.f("ix_tracking_outbox_request_id"), "tracking_outbox", ["request_id"])
    op.create_index(op.f("ix_tracking_outbox_status"), "tracking_outbox", ["status"])

    op.create_table(
        "tracking_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("processing_since", sa.DateTime(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(), nullable=True),
        sa.Column("slow_checks", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_items")),
        sa.UniqueConstraint("kind", "item_id", name=op.f("uq_tracking_items_kind_item_id")),
    )
    op.create_index(op.f("ix_tracking_items_request_id"), "tracking_items", ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tracking_items_request_id"), table_name="tracking_items")
    op.drop_table("tracking_items")
    op.drop_index(op.f("ix_tracking_outbox_status"), table_name="tracking_outbox")
    op.drop_index(op.f("ix_tracking_outbox_request_id"), table_name="tracking_outbox")
    op.drop_table("tracking_outbox")
