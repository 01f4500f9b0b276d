"""Initial schema: change requests, votes, Partner Center operations, Slack messages, audit trail, watch list.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("customer_name", sa.String(255), nullable=True),
        sa.Column("subscription_id", sa.String(64), nullable=True),
        sa.Column("subscription_name", sa.String(255), nullable=True),
        sa.Column("schedule_id", sa.String(64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("decided_at", nullable=True),
        sa.Column("decided_by", sa.JSON(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("migration_id", sa.String(64), nullable=True),
        sa.Column("new_subscription_id", sa.String(64), nullable=True),
        sa.Column("new_order_id", sa.String(64), nullable=True),
        sa.Column("subscription_end_date", sa.Date(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_description", sa.Text(), nullable=True),
        _ts("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    for column in ("state", "customer_id", "subscription_id", "expires_at", "migration_id"):
        op.create_index(op.f(f"ix_change_requests_{column}"), "change_requests", [column])

    op.create_table(
        "approval_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("approver", sa.String(64), nullable=False),
        _ts("at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["change_requests.id"], name=op.f("fk_approval_votes_request_id_change_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_votes")),
        sa.UniqueConstraint("request_id", "approver", name=op.f("uq_approval_votes_request_id_approver")),
    )
    op.create_index(op.f("ix_approval_votes_request_id"), "approval_votes", ["request_id"])

    op.create_table(
        "pc_operations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("ms_request_id", sa.String(64), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("external_reference_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("migration_id", sa.String(64), nullable=True),
        sa.Column("schedule_id", sa.String(64), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_description", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("claimed_until", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["change_requests.id"], name=op.f("fk_pc_operations_request_id_change_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pc_operations")),
        sa.UniqueConstraint("ms_request_id", name=op.f("uq_pc_operations_ms_request_id")),
        sa.UniqueConstraint("request_id", "kind", "target", name=op.f("uq_pc_operations_request_id_kind_target")),
    )
    for column in ("request_id", "external_reference_id", "status", "migration_id"):
        op.create_index(op.f(f"ix_pc_operations_{column}"), "pc_operations", [column])

    op.create_table(
        "slack_messages",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        _ts("posted_at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["change_requests.id"], name=op.f("fk_slack_messages_request_id_change_requests")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_slack_messages")),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=True),
        _ts("at"),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("ms_request_id", sa.String(64), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_request_id"), "audit_events", ["request_id"])
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index("ix_audit_events_customer_at", "audit_events", ["customer_id", "at"])

    op.create_table(
        "watched_customers",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        _ts("added_at"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_watched_customers")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    # The audit trail is append-only in the database too, whatever code talks to it.
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table in (
        "leases",
        "watched_customers",
        "audit_events",
        "slack_messages",
        "pc_operations",
        "approval_votes",
        "change_requests",
    ):
        op.drop_table(table)
