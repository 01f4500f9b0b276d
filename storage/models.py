"""SQLAlchemy 2 typed models of ncebot's state.

The schema is created by the Alembic migrations in ``storage/migrations`` (never ``create_all`` outside
tests that say so). Timestamps are stored as naive UTC and come back as aware UTC (``UtcDateTime``), so
SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored as naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ChangeRequest(Base):
    """One change request (SPEC §5): what, for whom, by whom, its state and its decision."""

    __tablename__ = "change_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: unique across replicas
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(255))
    subscription_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subscription_name: Mapped[str | None] = mapped_column(String(255))
    schedule_id: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    items: Mapped[list[Any] | None] = mapped_column(JSON)  # bulk: the eligible subscriptions
    requester: Mapped[str] = mapped_column(String(64))
    required_approvals: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[list[Any] | None] = mapped_column(JSON)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    migration_id: Mapped[str | None] = mapped_column(String(64), index=True)
    new_subscription_id: Mapped[str | None] = mapped_column(String(64))
    new_order_id: Mapped[str | None] = mapped_column(String(64))
    subscription_end_date: Mapped[date | None] = mapped_column(Date)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Campaigns (0005): the whole plan (``bot.campaigns.model.PLAN``), Pause/Stop, and where it came from.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    control: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))

    votes: Mapped[list[ApprovalVote]] = relationship(
        back_populates="request", order_by="ApprovalVote.id", lazy="selectin"
    )
    message: Mapped[SlackMessage | None] = relationship(back_populates="request", lazy="selectin")
    operations: Mapped[list[PartnerCenterOperation]] = relationship(
        back_populates="request", order_by="PartnerCenterOperation.id", lazy="selectin"
    )


class ApprovalVote(Base):
    """One approver's approval; each approver counts once per request."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("request_id", "approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("change_requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    request: Mapped[ChangeRequest] = relationship(back_populates="votes")


class PartnerCenterOperation(Base):
    """A state-changing Partner Center call, persisted BEFORE it is made (exactly-once submission).

    ``status``: ``sending`` (persisted, call in flight or interrupted), ``sent`` (accepted), ``refused`` (4xx).
    ``target`` is the subscription (or schedule) the call is about; one operation per request, kind, target.
    """

    __tablename__ = "pc_operations"
    __table_args__ = (UniqueConstraint("request_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("change_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    ms_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    external_reference_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    migration_id: Mapped[str | None] = mapped_column(String(64), index=True)
    schedule_id: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_description: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The process instance (``ProcessInstance.id``) holding the claim: once that instance is known dead, the
    # claim may be taken over at once instead of after ``claimed_until`` (issue 9).
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Campaigns (0005): the migration's last status seen in Partner Center, and the plan row it came from.
    pc_status: Mapped[str | None] = mapped_column(String(32), index=True)
    position: Mapped[int | None] = mapped_column(Integer)

    request: Mapped[ChangeRequest] = relationship(back_populates="operations")


class SlackMessage(Base):
    """Where a request's approval message lives (persisted: a lost ts means dead buttons)."""

    __tablename__ = "slack_messages"

    request_id: Mapped[str] = mapped_column(ForeignKey("change_requests.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)

    request: Mapped[ChangeRequest] = relationship(back_populates="message")


class AuditEvent(Base):
    """Append-only audit trail. Updates and deletes are refused by the ORM and by database triggers."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ms_request_id: Mapped[str | None] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(64))


class WatchedCustomer(Base):
    """Customers whose migrations (made outside the bot too) are announced."""

    __tablename__ = "watched_customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Lease(Base):
    """A named, time-limited lock shared by replicas (e.g. "only one replica polls")."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProcessInstance(Base):
    """A running ncebot process, kept alive by its heartbeat (``bot.liveness``): ``alive_until`` is pushed
    forward every few seconds; once it is in the past the process is known dead and its claims (operations,
    leases) can be taken over at once."""

    __tablename__ = "process_instances"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alive_until: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class SeenSlackSignature(Base):
    """A verified Slack request's ``X-Slack-Signature``, kept until its timestamp leaves the accepted window:
    the same signature again is a replay (``bot.slack.verification``)."""

    __tablename__ = "seen_slack_signatures"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class AuditTrailIsAppendOnly(Exception):
    """Raised when code tries to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(mapper: Mapper[Any], connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly("audit events are append-only: update refused")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(mapper: Mapper[Any], connection: Any, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly("audit events are append-only: delete refused")
