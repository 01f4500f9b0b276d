"""Status tracker storage: the durable Slack outbox, the tracked Partner Center items and the poller lease.

Models live on ``storage.models.Base`` (migration ``0002_tracking``). Like ``storage.repositories``, every
function takes an open ``Session`` and never commits; state changes are conditional updates (replica-safe on
SQLite and PostgreSQL).

Outbox row ``status``: ``pending`` (to send; ``not_before`` may delay it), ``sending`` (marked just before
``chat.postMessage``; a row left in it after a crash is looked up in Slack before any re-post), ``sent``
(``ts`` recorded) or ``failed`` (gave up after repeated non-retryable errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, insert, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base, ChangeRequest, PartnerCenterOperation, SlackMessage, UtcDateTime
from storage.repositories import insert_once, rowcount

OUTBOX_THREAD = "thread"  # a reply in a request's thread
OUTBOX_ANNOUNCE = "announce"  # a top-level message in a channel (watched customers)
OUTBOX_UPDATE = "update"  # edit the request's parent message to its current state (chat.update)
# Campaigns (issue #11): a thread reply rendered when it is sent and then edited in place (``text`` names its role,
# e.g. "progress"), its edits, and a file posted in the thread (rendered when sent: the results at that moment).
OUTBOX_LIVE = "live"
OUTBOX_LIVE_EDIT = "live_edit"
OUTBOX_FILE = "file"
#: Kinds that go into a request's thread (their scope is the request, their lane the request's).
REQUEST_KINDS = (OUTBOX_THREAD, OUTBOX_UPDATE, OUTBOX_LIVE, OUTBOX_LIVE_EDIT, OUTBOX_FILE)


class OutboxMessage(Base):
    """One Slack post to make, at most once per (scope, key)."""

    __tablename__ = "tracking_outbox"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(128))  # "thread:<request id>" | "announce:<channel>" | "update:<id>"
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[Any] | None] = mapped_column(JSON)  # Block Kit, when the post has buttons (0004)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrackedItem(Base):
    """A migration or schedule the tracker follows for a request (its polling memory and backoff)."""

    __tablename__ = "tracking_items"
    __table_args__ = (UniqueConstraint("kind", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # migration | schedule
    item_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    done: Mapped[int] = mapped_column(Integer, default=0)  # 1 once final (completed, failed, cancelled)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    slow_checks: Mapped[int] = mapped_column(Integer, default=0)  # checks since backoff began
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- outbox ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    id: int
    scope: str
    key: str
    kind: str
    request_id: str | None
    channel: str | None
    thread_ts: str | None
    text: str
    status: str
    attempts: int
    not_before: datetime | None
    ts: str | None
    created_at: datetime
    blocks: list[Any] | None = None

    @property
    def full_key(self) -> str:
        """What goes into the Slack message metadata to find the post again after a crash."""
        return f"{self.scope}|{self.key}"


def _outbox_row(row: OutboxMessage) -> OutboxRow:
    return OutboxRow(
        id=row.id,
        scope=row.scope,
        key=row.key,
        kind=row.kind,
        request_id=row.request_id,
        channel=row.channel,
        thread_ts=row.thread_ts,
        text=row.text,
        status=row.status,
        attempts=row.attempts,
        not_before=row.not_before,
        ts=row.ts,
        created_at=row.created_at,
        blocks=row.blocks,
    )


def outbox_scope(kind: str, target: str) -> str:
    return f"{OUTBOX_LIVE if kind == OUTBOX_LIVE_EDIT else kind}:{target}"  # a live reply and its edits: one scope


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    text: str,
    now: datetime,
    request_id: str | None = None,
    channel: str | None = None,
    thread_ts: str | None = None,
    blocks: list[Any] | None = None,
) -> bool:
    """Add a post unless (scope, key) exists already; True when added. Scope: the request, or the channel."""
    target = request_id if kind in REQUEST_KINDS else channel
    if not target:
        raise ValueError(f"outbox {kind} needs {'a request id' if kind != OUTBOX_ANNOUNCE else 'a channel'}")
    scope = outbox_scope(kind, target)
    key = key[:255]
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.scope == scope, OutboxMessage.key == key))
    if exists is not None:
        return False
    return insert_once(
        session,
        insert(OutboxMessage).values(
            scope=scope,
            key=key,
            kind=kind,
            request_id=request_id,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        ),
    )


def outbox_rows(session: Session, statuses: tuple[str, ...], *, scope: str | None = None) -> list[OutboxRow]:
    query = select(OutboxMessage).where(OutboxMessage.status.in_(statuses))
    if scope is not None:
        query = query.where(OutboxMessage.scope == scope)
    return [_outbox_row(r) for r in session.scalars(query.order_by(OutboxMessage.id))]


def outbox_row(session: Session, row_id: int) -> OutboxRow | None:
    row = session.get(OutboxMessage, row_id, populate_existing=True)
    return _outbox_row(row) if row else None


def mark_sending(session: Session, row_id: int, now: datetime, *, channel: str, thread_ts: str | None) -> bool:
    """``pending`` → ``sending`` (conditional), fixing where it goes; True if this caller won the row."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
        .values(
            status="sending",
            channel=channel,
            thread_ts=thread_ts,
            attempts=OutboxMessage.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def mark_sent(session: Session, row_id: int, now: datetime, ts: str | None) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status.in_(("sending", "pending")))
        .values(status="sent", ts=ts, error=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_pending(
    session: Session,
    row_id: int,
    now: datetime,
    *,
    not_before: datetime | None,
    error: str | None = None,
    count_attempt: bool = False,
) -> None:
    """Back to ``pending`` (Slack throttled or failed; or a crashed send that is not in Slack)."""
    values: dict[str, Any] = {"status": "pending", "not_before": not_before, "error": error, "updated_at": now}
    if count_attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status.in_(("sending", "pending")))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, row_id: int, now: datetime, error: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status="failed", error=error[:1000], updated_at=now)
        .execution_options(synchronize_session=False)
    )


def thread_target(session: Session, request_id: str) -> tuple[str, str] | None:
    """(channel, thread ts) of a request's parent message, or None when it was never posted."""
    row = session.get(SlackMessage, request_id)
    if row is None:
        return None
    return row.channel, row.thread_ts or row.ts


# --- tracked items --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackedView:
    id: int
    kind: str
    item_id: str
    request_id: str
    customer_id: str
    status: str | None
    done: bool
    first_seen_at: datetime
    processing_since: datetime | None
    next_check_at: datetime | None
    slow_checks: int
    detail: dict[str, Any] | None


def _tracked(row: TrackedItem) -> TrackedView:
    return TrackedView(
        id=row.id,
        kind=row.kind,
        item_id=row.item_id,
        request_id=row.request_id,
        customer_id=row.customer_id,
        status=row.status,
        done=bool(row.done),
        first_seen_at=row.first_seen_at,
        processing_since=row.processing_since,
        next_check_at=row.next_check_at,
        slow_checks=row.slow_checks,
        detail=row.detail,
    )


def ensure_tracked(
    session: Session, *, kind: str, item_id: str, request_id: str, customer_id: str, now: datetime
) -> TrackedView:
    """The tracked row for (kind, item id), created on first sight."""
    item_id = item_id.lower()
    row = session.scalars(select(TrackedItem).where(TrackedItem.kind == kind, TrackedItem.item_id == item_id)).first()
    if row is None:
        insert_once(  # or another replica just did
            session,
            insert(TrackedItem).values(
                kind=kind,
                item_id=item_id,
                request_id=request_id,
                customer_id=customer_id,
                done=0,
                first_seen_at=now,
                slow_checks=0,
            ),
        )
        row = session.scalars(
            select(TrackedItem).where(TrackedItem.kind == kind, TrackedItem.item_id == item_id)
        ).one()
    return _tracked(row)


def update_tracked(session: Session, tracked_id: int, **values: Any) -> None:
    if "done" in values:
        values["done"] = 1 if values["done"] else 0
    session.execute(
        update(TrackedItem)
        .where(TrackedItem.id == tracked_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def tracked_for_request(session: Session, request_id: str, kind: str | None = None) -> list[TrackedView]:
    query = select(TrackedItem).where(TrackedItem.request_id == request_id)
    if kind is not None:
        query = query.where(TrackedItem.kind == kind)
    return [_tracked(r) for r in session.scalars(query.order_by(TrackedItem.id))]


def known_item_ids(session: Session) -> tuple[set[str], set[str]]:
    """(migration ids, schedule ids) the bot knows as its own: on requests, operations and tracked items."""
    migrations: set[str] = set()
    schedules: set[str] = set()
    for table in (ChangeRequest, PartnerCenterOperation):
        for mid, sid in session.execute(select(table.migration_id, table.schedule_id)):
            if mid:
                migrations.add(mid.lower())
            if sid:
                schedules.add(sid.lower())
    for kind, item in session.execute(select(TrackedItem.kind, TrackedItem.item_id)):
        (migrations if kind == "migration" else schedules).add(item.lower())
    return migrations, schedules


def known_external_reference_ids(session: Session) -> set[str]:
    return {
        ext.lower()
        for ext in session.scalars(select(PartnerCenterOperation.external_reference_id))
        if ext
    }


def schedule_operations(
    session: Session, schedule_id: str, statuses: tuple[str, ...] = ("sent",)
) -> list[PartnerCenterOperation]:
    """Every operation about ``schedule_id`` (create, update, cancel) in ``statuses``, oldest first."""
    sid = schedule_id.lower()
    query = select(PartnerCenterOperation).where(
        PartnerCenterOperation.status.in_(statuses),
        or_(PartnerCenterOperation.schedule_id == schedule_id, PartnerCenterOperation.target == schedule_id,
            PartnerCenterOperation.schedule_id == sid, PartnerCenterOperation.target == sid),
    )
    return list(session.scalars(query.order_by(PartnerCenterOperation.updated_at, PartnerCenterOperation.id)))


# --- reconciliation (issue #12): in-flight work read per customer, items found by id ----------------------------


def inflight_customers(session: Session, states: tuple[str, ...]) -> list[str]:
    """Customers with a request in ``states`` (one GROUP BY, nothing else loaded)."""
    # Campaigns (a plan) are followed by bot.campaigns.tracking, one list call per customer of their operations.
    query = (select(ChangeRequest.customer_id).where(ChangeRequest.state.in_(states), ChangeRequest.plan.is_(None))
             .group_by(ChangeRequest.customer_id).order_by(ChangeRequest.customer_id))
    return list(session.scalars(query))


def inflight_requests(session: Session, customer_id: str, states: tuple[str, ...]) -> list[ChangeRequest]:
    """One customer's requests in ``states``, oldest first."""
    query = select(ChangeRequest).where(ChangeRequest.customer_id == customer_id, ChangeRequest.state.in_(states),
                                        ChangeRequest.plan.is_(None))
    return list(session.scalars(query.order_by(ChangeRequest.created_at, ChangeRequest.id)))


def sent_migration_ids(session: Session, request_ids: list[str]) -> dict[str, list[str]]:
    """``{request id: [migration ids of its sent operations]}`` in submission order, one query."""
    out: dict[str, list[str]] = {}
    if not request_ids:
        return out
    query = (select(PartnerCenterOperation.request_id, PartnerCenterOperation.migration_id)
             .where(PartnerCenterOperation.request_id.in_(request_ids), PartnerCenterOperation.status == "sent",
                    PartnerCenterOperation.migration_id.is_not(None))
             .order_by(PartnerCenterOperation.id))
    for request_id, migration_id in session.execute(query):
        ids = out.setdefault(request_id, [])
        if migration_id and migration_id not in ids:
            ids.append(migration_id)
    return out


def tracked_items(session: Session, kind: str, item_ids: list[str]) -> dict[str, TrackedView]:
    """The tracked rows among ``item_ids`` (lower-case ids), by id."""
    if not item_ids:
        return {}
    query = select(TrackedItem).where(TrackedItem.kind == kind, TrackedItem.item_id.in_(item_ids))
    return {row.item_id: _tracked(row) for row in session.scalars(query)}


def requests_for_item(session: Session, kind: str, item_id: str) -> list[str]:
    """Ids of the requests that own a migration or schedule (by request, operation or tracked row)."""
    ids = {item_id, item_id.lower()}
    column = ChangeRequest.migration_id if kind == "migration" else ChangeRequest.schedule_id
    op_column = PartnerCenterOperation.migration_id if kind == "migration" else PartnerCenterOperation.schedule_id
    found: list[str] = list(session.scalars(select(ChangeRequest.id).where(column.in_(ids))))
    found += session.scalars(select(PartnerCenterOperation.request_id).where(op_column.in_(ids)))
    found += session.scalars(select(TrackedItem.request_id).where(TrackedItem.kind == kind,
                                                                 TrackedItem.item_id == item_id.lower()))
    return list(dict.fromkeys(found))


def live_ts(session: Session, request_id: str, role: str) -> str | None:
    """The ts of a request's live reply ``role`` once it was posted (its edits wait for it)."""
    return session.scalar(select(OutboxMessage.ts).where(
        OutboxMessage.scope == outbox_scope(OUTBOX_LIVE, request_id), OutboxMessage.key == f"live:{role}",
        OutboxMessage.status == "sent"))
