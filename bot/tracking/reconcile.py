"""Reconciliation (issue #12): in-flight work compared with Partner Center at one list call per customer.

Polling used to cost two GETs per in-flight migration (the migration and its events) with every in-flight request
and its operations loaded before the loop. Here the work is read from the database one customer at a time, each
customer with something due costs one paged ``GET /v1/migrations/newcommerce?CustomerTenantId=…`` (schedules:
``GET /v1/migrations/newcommerce/schedules?CustomerTenantId=…``), events are fetched only for migrations whose
status changed, and a request is settled only when one of its items changed. The same entry points serve webhook
deliveries: one named migration or schedule is fetched at once, or a customer reconciled when the URI is unclear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.domain import RequestKind, RequestState, RequestView
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from storage import repositories as repo
from storage import tracking as store

if TYPE_CHECKING:
    from bot.tracking.tracker import Tracker

log = logging.getLogger("ncebot.tracking.reconcile")

IN_FLIGHT = (RequestState.SUBMITTED.value, RequestState.PROCESSING.value)
SCHEDULED = (RequestState.SUBMITTED.value,)
MIGRATION = "migration"
SCHEDULE = "schedule"


class Reconciler:
    def __init__(self, tracker: Tracker, session_factory: sessionmaker[Session],
                 partner_center: PartnerCenterClient) -> None:
        self._tracker = tracker
        self._sessions = session_factory
        self._pc = partner_center
        # Campaign migrations are followed per customer by bot.campaigns.tracking (wired by the tracking service).
        self.campaigns: Callable[[str], int] | None = None

    def _committed(self) -> None:
        hook: Callable[[], None] | None = self._tracker.on_commit
        if hook is not None:
            try:
                hook()
            except Exception:
                log.exception("waking the outbox drainer failed")

    def _guarded(self, what: str, customer_id: str, step: Callable[[str], int]) -> int:
        try:
            return step(customer_id)
        except PartnerCenterError as exc:
            log.warning("customer %s: Partner Center unavailable while tracking %s: %s", customer_id, what, exc)
        except Exception:
            log.exception("customer %s: tracking %s failed", customer_id, what)
        return 0

    # --- migrations -------------------------------------------------------------------------------------------
    def migrations(self, customers: Iterable[str] | None = None) -> int:
        """Reconcile the in-flight migrations of ``customers`` (default: every customer with work)."""
        return self._each_customer("migrations", IN_FLIGHT, self._customer_migrations, customers)

    def _each_customer(self, what: str, states: tuple[str, ...], reconcile: Callable[[str], int],
                       customers: Iterable[str] | None) -> int:
        """``reconcile`` each of ``customers`` (default: every customer with work in ``states``), one at a time."""
        if customers is None:
            with self._sessions() as session:
                customers = store.inflight_customers(session, states)
        return sum(self._guarded(what, customer_id, reconcile) for customer_id in customers)

    def _migration_work(self, customer_id: str) -> list[tuple[RequestView, list[str]]]:
        """The customer's in-flight requests with their migration ids (request first, then its operations')."""
        with self._sessions() as session:
            views = [repo.to_view(r) for r in store.inflight_requests(session, customer_id, IN_FLIGHT)]
            sent = store.sent_migration_ids(
                session, [v.id for v in views if v.kind in (RequestKind.MIGRATE, RequestKind.BULK)])
        work: list[tuple[RequestView, list[str]]] = []
        for view in views:
            ids = list(sent.get(view.id, []))
            if view.migration_id and view.migration_id not in ids:
                ids.insert(0, view.migration_id)
            if ids:
                work.append((view, ids))
        return work

    def _customer_migrations(self, customer_id: str) -> int:
        work = self._migration_work(customer_id)
        if not work:
            return 0
        now = self._tracker.now()
        with self._sessions() as session:
            tracked = store.tracked_items(session, MIGRATION, [i.lower() for _, ids in work for i in ids])

        def due(item_id: str) -> bool:
            row = tracked.get(item_id.lower())
            return row is None or (not row.done and (row.next_check_at is None or row.next_check_at <= now))

        if not any(due(i) for _, ids in work for i in ids):
            return 0  # every item backed off: not even the list call
        listed = {m.id.lower(): m for m in self._pc.query_migrations(customer_id=customer_id) if m.id}
        checked = changed_any = 0
        unchanged: list[store.TrackedView] = []
        for view, ids in work:
            many = len(ids) > 1
            changed = False
            for migration_id in ids:
                if not due(migration_id):
                    continue
                checked += 1
                migration = listed.get(migration_id.lower())
                row = tracked.get(migration_id.lower())
                if (migration is not None and row is not None and row.status is not None and not migration.is_final
                        and str(getattr(migration.status, "value", migration.status)).lower() == row.status.lower()):
                    unchanged.append(row)  # only its backoff moves: batched below
                    continue
                # New, changed, or not in the list (yet: one GET for it rather than guessing).
                changed = self._tracker.check_migration(view, migration_id, many=many, listed=migration) or changed
            finished = all((t := tracked.get(i.lower())) is not None and t.done for i in ids)
            if changed or finished:
                self._tracker.settle(view, ids, many=many)
                changed_any += 1
        if unchanged:  # one transaction for the customer's unchanged items, not two per item
            with self._sessions.begin() as session:
                for row in unchanged:
                    store.update_tracked(session, row.id, last_checked_at=now, slow_checks=row.slow_checks + 1,
                                         next_check_at=self._tracker.next_check(row, now))
        if changed_any:
            self._committed()
        return checked

    def migration_event(self, customer_id: str, migration_id: str) -> None:
        """A webhook named this migration: fetch it now and move its request (or tell the watchers)."""
        views = self._owners(MIGRATION, migration_id, IN_FLIGHT)
        if not views:
            # Perhaps the migration of a schedule ncebot made, which just ran; else one made outside ncebot.
            self.schedules([customer_id])
            views = self._owners(MIGRATION, migration_id, IN_FLIGHT)
        if not views and self.campaigns is not None:
            self.campaigns(customer_id)  # perhaps a campaign's: its customer's list is read once, the campaign moves
        if not views:
            self._tracker.poll_watched(only=customer_id)
            self._committed()
            return
        for view in views:
            ids = next((ids for v, ids in self._migration_work(view.customer_id) if v.id == view.id), [migration_id])
            many = len(ids) > 1
            self._tracker.check_migration(view, migration_id, many=many, force=True)
            self._tracker.settle(view, ids, many=many)
        self._committed()

    def _owners(self, kind: str, item_id: str, states: tuple[str, ...]) -> list[RequestView]:
        with self._sessions() as session:
            rows = [repo.get_request(session, rid) for rid in store.requests_for_item(session, kind, item_id)]
            # A campaign's migrations are the campaign tracker's (bot.campaigns.tracking), never followed here.
            return [repo.to_view(r) for r in rows if r is not None and r.state in states and r.plan is None]

    # --- schedules --------------------------------------------------------------------------------------------
    def schedules(self, customers: Iterable[str] | None = None) -> int:
        """Reconcile the active schedules of ``customers`` (default: every customer with one)."""
        return self._each_customer("schedules", SCHEDULED, self._customer_schedules, customers)

    def _customer_schedules(self, customer_id: str) -> int:
        with self._sessions() as session:
            views = [repo.to_view(r) for r in store.inflight_requests(session, customer_id, SCHEDULED)]
        views = [v for v in views if v.kind is RequestKind.SCHEDULE and v.schedule_id and not v.migration_id]
        if not views:
            return 0
        listed = {s.id.lower(): s for s in self._pc.list_schedules(customer_id=customer_id) if s.id}
        for view in views:
            assert view.schedule_id is not None
            self._tracker.check_schedule(view, view.schedule_id, listed.get(view.schedule_id.lower()))
        self._committed()
        return len(views)

    def schedule_event(self, customer_id: str, schedule_id: str) -> None:
        """A webhook named this schedule (it failed): fetch it now and move its request (or tell the watchers)."""
        views = [v for v in self._owners(SCHEDULE, schedule_id, SCHEDULED) if v.kind is RequestKind.SCHEDULE]
        if not views:
            self._tracker.poll_watched(only=customer_id)
        for view in views:
            self._tracker.check_schedule(view, schedule_id)
        self._committed()

    def customer(self, customer_id: str | None) -> None:
        """Everything about one customer (or all): a webhook whose resource could not be parsed."""
        customers = [customer_id] if customer_id else None
        self.migrations(customers)
        self.schedules(customers)
        if customer_id:
            self._tracker.poll_watched(only=customer_id)
        else:
            self._tracker.poll_watched()
        self._committed()
