"""Deadlines (issue #13): 7-day windows and their reminders, scanned requests, daily digest days; outbox rows may
carry Block Kit blocks (the window message has buttons); request kinds up to 32 characters (cancel_subscription).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"  # given as 0002; chained after main's 0003 once merged
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadline_scans",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_deadline_scans")),
    )
    op.create_table(
        "deadline_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("subscription_id", sa.String(64), nullable=False),
        sa.Column("subscription_name", sa.String(255), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("closes_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_48h_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_12h_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_windows")),
        sa.UniqueConstraint(
            "request_id", "subscription_id", name=op.f("uq_deadline_windows_request_id_subscription_id")
        ),
    )
    op.create_index(op.f("ix_deadline_windows_request_id"), "deadline_windows", ["request_id"])
    op.create_index(op.f("ix_deadline_windows_subscription_id"), "deadline_windows", ["subscription_id"])
    op.create_index(op.f("ix_deadline_windows_closes_at"), "deadline_windows", ["closes_at"])
    op.create_table(
        "daily_digests",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_digests")),
    )
    with op.batch_alter_table("tracking_outbox") as batch:
        batch.add_column(sa.Column("blocks", sa.JSON(), nullable=True))
    with op.batch_alter_table("change_requests") as batch:
        batch.alter_column("kind", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("change_requests") as batch:
        batch.alter_column("kind", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False)
    with op.batch_alter_table("tracking_outbox") as batch:
        batch.drop_column("blocks")
    op.drop_table("daily_digests")
    op.drop_index(op.f("ix_deadline_windows_closes_at"), table_name="deadline_windows")
    op.drop_index(op.f("ix_deadline_windows_subscription_id"), table_name="deadline_windows")
    op.drop_index(op.f("ix_deadline_windows_request_id"), table_name="deadline_windows")
    op.drop_table("deadline_windows")
    op.drop_table("deadline_scans")
