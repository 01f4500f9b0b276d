"""The 7-day window in the thread (SPEC §10): once a migration request completed, read its new NCE
subscriptions, state until when they may be cancelled or reduced, and remind 48 h and 12 h before.

Runs on the lease holder (``bot.tracking.service`` jobs). Durable and once-only: a request is scanned once
(``deadline_scans`` row, written in the same transaction as its windows and its thread message), each reminder is a
conditional update plus a keyed outbox row. Slack-free: ``render`` (from ``bot.slack.deadline_blocks``) turns a
notice into text and blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import Clock, InvalidInput, RequestKind, RequestState, utc_now
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Migration, MigrationStatus
from bot.texts import refusals
from storage import deadlines as store
from storage import repositories as repo
from storage.deadlines import WindowView
from storage.models import ChangeRequest

if TYPE_CHECKING:
    from bot.outbox import Outbox  # the durable outbox's writer (Slack-free)

log = logging.getLogger("ncebot.deadlines")

REMINDERS: tuple[tuple[Literal["48h", "12h"], timedelta], ...] = (
    ("12h", timedelta(hours=12)),
    ("48h", timedelta(hours=48)),
)
MIGRATING_KINDS = (RequestKind.MIGRATE, RequestKind.BULK, RequestKind.SCHEDULE)
LOOK_BACK = timedelta(days=8)


@dataclass(frozen=True)
class WindowNotice:
    """What to say in a request's thread: the window opened, or one of the reminders."""

    kind: Literal["opened", "48h", "12h"]
    request_id: str
    customer_id: str
    windows: tuple[WindowView, ...]
    campaign: bool  # a bulk request: one summary, not one message per subscription


Render = Callable[[WindowNotice], tuple[str, list[dict[str, Any]] | None]]


def new_subscription_ids(migration: Migration) -> list[str]:
    """The NCE subscriptions a completed migration created: the base's and every add-on's."""
    ids = [migration.new_commerce_subscription_id]
    ids += [addon.new_commerce_subscription_id for addon in migration.add_on_migrations]
    return [i for i in ids if i]


class WindowWatcher:
    def __init__(self, session_factory: sessionmaker[Session], partner_center: PartnerCenterClient, outbox: Outbox,
                 clock: Clock, render: Render) -> None:
        self._sessions = session_factory
        self._pc = partner_center
        self._outbox = outbox
        self._clock = clock
        self._render = render

    def _now(self) -> datetime:
        return utc_now(self._clock)

    # --- the window opens --------------------------------------------------------------------------------------
    def scan(self) -> int:
        """Completed (or partly completed) migration requests not looked at yet: read, record, post. Returns the
        number of requests recorded."""
        with self._sessions() as session:
            done = store.scanned_request_ids(session)
            rows = session.scalars(select(ChangeRequest).where(
                ChangeRequest.state.in_([RequestState.COMPLETED.value, RequestState.FAILED.value]),
                ChangeRequest.kind.in_([k.value for k in MIGRATING_KINDS]),
                # a window lasts 7 days: older requests have nothing left to say (and cost no Partner Center calls)
                ChangeRequest.updated_at >= self._now() - LOOK_BACK,
            ).order_by(ChangeRequest.updated_at)).all()
            todo: list[tuple[str, str, str, list[tuple[str, str]]]] = []
            for row in rows:
                if row.id in done:
                    continue
                migrations = {(o.customer_id, o.migration_id) for o in repo.operations_for(session, row.id)
                              if o.migration_id}
                if row.migration_id:
                    migrations.add((row.customer_id, row.migration_id))
                todo.append((row.id, row.kind, row.customer_id, sorted(migrations)))
        recorded = 0
        for request_id, kind, customer_id, pairs in todo:
            try:
                windows = self._read_windows(pairs)
            except PartnerCenterError as exc:
                log.warning("deadlines: request %s: could not read its subscriptions (%s); next time", request_id,
                            exc)
                continue
            recorded += self._record(request_id, kind, customer_id, windows)
        return recorded

    def _read_windows(self, migrations: list[tuple[str, str]]) -> list[dict[str, Any]]:
        now = self._now()
        found: list[dict[str, Any]] = []
        for customer_id, migration_id in migrations:
            migration = self._pc.get_migration(customer_id, migration_id)
            if migration.status != MigrationStatus.COMPLETED:
                continue
            for sub_id in new_subscription_ids(migration):
                sub = self._pc.get_subscription(customer_id, sub_id)
                closes = sub.change_window_end
                if closes is None or closes <= now:
                    continue  # no window, or it closed before ncebot looked: nothing left to do
                found.append({"customer_id": customer_id, "subscription_id": sub.id, "name": sub.name,
                              "quantity": sub.quantity, "closes_at": closes})
        return found

    def _record(self, request_id: str, kind: str, customer_id: str, windows: list[dict[str, Any]]) -> int:
        now = self._now()
        with self._sessions.begin() as session:
            if not store.record_scan(session, request_id, len(windows), now):
                return 0
            for w in windows:
                store.add_window(session, request_id=request_id, customer_id=w["customer_id"].lower(),
                                 subscription_id=w["subscription_id"], name=w["name"], quantity=w["quantity"],
                                 closes_at=w["closes_at"], now=now)
            session.flush()
            views = tuple(v for v in store.open_windows(session, now) if v.request_id == request_id)
            if views:
                notice = WindowNotice("opened", request_id, customer_id, views, kind == RequestKind.BULK.value)
                text, blocks = self._render(notice)
                self._outbox.thread(request_id, "deadline:opened", text, session=session, blocks=blocks)
        return 1

    # --- reminders -----------------------------------------------------------------------------------------
    def remind(self) -> int:
        """48 h and 12 h before a window closes, one message per request and reminder (a campaign's windows that
        close together share it). When both are due (ncebot was down), only the 12 h one is sent."""
        now = self._now()
        sent = 0
        with self._sessions.begin() as session:
            due: dict[tuple[str, Literal["48h", "12h"]], list[WindowView]] = {}
            for w in store.open_windows(session, now):
                for which, before in REMINDERS:
                    marker = w.reminded_12h_at if which == "12h" else w.reminded_48h_at
                    if marker is None and w.closes_at - before <= now:
                        due.setdefault((w.request_id, which), []).append(w)
                        break
                    if which == "12h" and w.reminded_12h_at is not None:
                        break  # after the 12 h reminder nothing more
            for (request_id, reminder), windows in sorted(due.items()):
                claimed = []
                for w in windows:
                    if store.mark_reminded(session, w.id, reminder, now):
                        if reminder == "12h":
                            store.mark_reminded(session, w.id, "48h", now)  # never a late 48 h one afterwards
                        claimed.append(w)
                if not claimed:
                    continue
                row = repo.get_request(session, request_id)
                campaign = row is not None and row.kind == RequestKind.BULK.value
                notice = WindowNotice(reminder, request_id, claimed[0].customer_id, tuple(claimed), campaign)
                text, blocks = self._render(notice)
                first = min(int(w.closes_at.timestamp()) for w in claimed)
                self._outbox.thread(request_id, f"deadline:{reminder}:{first}", text, session=session,
                                    blocks=blocks)
                sent += 1
        return sent

    def run(self) -> None:
        self.scan()
        self.remind()

    # --- buttons -------------------------------------------------------------------------------------------
    def window_of(self, customer_id: str, subscription_id: str) -> WindowView | None:
        with self._sessions() as session:
            return store.window_for(session, customer_id, subscription_id)

    def check_open(self, customer_id: str, subscription_id: str, *, cancel: bool) -> WindowView | None:
        """The recorded window (None when ncebot recorded none: the workflow asks Partner Center); after its end,
        InvalidInput with the reason."""
        found = self.window_of(customer_id, subscription_id)
        if found is not None and found.closes_at <= self._now():
            raise InvalidInput(refusals.window_closed(subscription_id, found.closes_at, cancel=cancel),
                               field="subscription")
        return found
