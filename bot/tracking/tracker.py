"""Status tracking (SPEC §5 steps 6-7): follows submitted migrations and schedules to their end and writes
what happened into each request's thread through the durable outbox, and announces migrations made outside the
bot for watched customers.

Each step commits the request's state change (conditional, audited) together with the thread messages it
causes, so a crash never yields a message without its state or a state without its message. Messages are
keyed (event id, final state, …) and the outbox posts each key at most once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import SCHEDULE_CANCELLED, Clock, RequestView, utc_now
from bot.domain import SYSTEM_ACTOR as SYSTEM_ACTOR  # re-exported: one home (bot.domain)
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import (
    Migration,
    MigrationSchedule,
    MigrationStatus,
    ScheduleStatus,
    SubscriptionStatus,
)
from bot.services.settlement import finish_schedule, settle_tracked
from bot.texts import announcements, thread
from bot.texts.thread import completed_text, event_text
from bot.tracking.outbox import Outbox
from bot.tracking.reconcile import Reconciler
from storage import repositories as repo
from storage import tracking as store
from storage.models import WatchedCustomer

log = logging.getLogger("ncebot.tracking")

MIGRATION = "migration"
SCHEDULE = "schedule"
MAX_BACKOFF = timedelta(hours=1)
BACKOFF_SHARE = 6  # an in-flight migration is checked again after a sixth of its age (young: every poll)

def _value(value: Any) -> str:
    return str(getattr(value, "value", value)) if value is not None else ""


def failure_next_step(legacy_status: str | None) -> str:
    """What the reference (§11) says to do after a Failed migration, by the legacy subscription's status."""
    status = (legacy_status or "").lower()
    if status == SubscriptionStatus.ACTIVE.value:
        return thread.AFTER_FAILURE_ACTIVE
    if status == SubscriptionStatus.SUSPENDED.value:
        return thread.AFTER_FAILURE_SUSPENDED
    return thread.AFTER_FAILURE_UNKNOWN


def schedule_failure_next_step(legacy_status: str | None) -> str:
    """After a schedule failed without starting a migration: nothing was migrated; what now."""
    status = (legacy_status or "").lower()
    if status == SubscriptionStatus.ACTIVE.value:
        return thread.AFTER_SCHEDULE_FAILURE_ACTIVE
    return thread.after_schedule_failure_inactive(status) if status else thread.AFTER_SCHEDULE_FAILURE_UNKNOWN


def failed_text(requester: str | None, migration: Migration, legacy_status: str | None) -> str:
    return thread.migration_failed(requester, migration, failure_next_step(legacy_status))


_SCHEDULE_FIELDS = ("targetDate", "migrateOnRenewal", "quantity", "termDuration", "billingCycle")


def schedule_terms(data: dict[str, Any] | None) -> dict[str, Any]:
    """The fields whose change outside the bot is reported, normalised for comparison."""
    data = data or {}
    lowered = {str(k).lower(): v for k, v in data.items()}
    out: dict[str, Any] = {}
    for name in _SCHEDULE_FIELDS:
        value = lowered.get(name.lower())
        if value is None:
            continue
        if name == "targetDate":
            value = str(value)[:10]
        elif name == "termDuration":
            value = str(value).upper()
        elif name == "billingCycle":
            value = str(value).lower()
        elif name == "quantity":
            value = int(value)
        elif name == "migrateOnRenewal":
            value = bool(value)
            if not value:
                continue
        out[name] = value
    return out


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """``moved to 2025-03-01 (was 2025-02-01); quantity 10 → 12`` for two :func:`schedule_terms`; "" if equal."""
    parts: list[str] = []
    for name in _SCHEDULE_FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new or (name == "billingCycle" and (old is None or new is None)):
            continue
        part = thread.term_change(name, old, new)
        if part is not None:
            parts.append(part)
    return thread.term_changes(parts)


class Tracker:
    """The polling logic; the service runs it on the scheduler (lease holder only)."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        partner_center: PartnerCenterClient,
        outbox: Outbox,
        clock: Clock,
        interval: timedelta,
        notify_channel: str | None,
        watched_customers: Callable[[], list[str]],
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._pc = partner_center
        self._outbox = outbox
        self._clock = clock
        self.interval = interval
        self.notify_channel = notify_channel
        self._watched = watched_customers
        self.on_commit = on_commit
        self.reconciler = Reconciler(self, session_factory, partner_center)

    def now(self) -> datetime:
        return utc_now(self._clock)

    # ============================================================================== migrations of requests
    def poll_migrations(self) -> int:
        """One reconciliation of in-flight migrations: one list call per customer with work due (see
        :mod:`bot.tracking.reconcile`). Returns how many migrations were checked."""
        return self.reconciler.migrations()

    def next_check(self, tracked: store.TrackedView, now: datetime) -> datetime | None:
        """Per-item backoff from the start: checked at every poll while young, then less often as it ages
        (a sixth of its age, at most hourly). None: at the next poll."""
        age = now - (tracked.processing_since or tracked.first_seen_at)
        delay = min(max(self.interval, age / BACKOFF_SHARE), MAX_BACKOFF)
        return None if delay <= self.interval else now + delay

    def check_migration(self, view: RequestView, migration_id: str, *, many: bool, listed: Migration | None = None,
                        force: bool = False) -> bool:
        """Bring one migration of a request up to date from ``listed`` (its row in the customer's list) or a GET.
        Events are fetched and posted only when its status changed. True when it changed (settle the request);
        ``force``: even if its backoff says it is not due (a webhook named it)."""
        now = self.now()
        with self._sessions.begin() as session:
            tracked = store.ensure_tracked(
                session, kind=MIGRATION, item_id=migration_id, request_id=view.id, customer_id=view.customer_id,
                now=now,
            )
        if tracked.done or (not force and tracked.next_check_at is not None and tracked.next_check_at > now):
            return False
        migration = listed if listed is not None else self._pc.get_migration(view.customer_id, migration_id)
        status = _value(migration.status)
        if tracked.status is not None and status.lower() == tracked.status.lower() and not migration.is_final:
            with self._sessions.begin() as session:
                store.update_tracked(session, tracked.id, last_checked_at=now, next_check_at=self.next_check(
                    tracked, now), slow_checks=tracked.slow_checks + 1)
            return False
        events = self._pc.get_migration_events(view.customer_id, migration_id=migration_id)
        events = sorted(events, key=lambda e: (e.created_time or datetime.min.replace(tzinfo=UTC)))
        legacy_status: str | None = None
        if migration.status == MigrationStatus.FAILED:
            legacy_status = self._legacy_status(view.customer_id, migration.current_subscription_id)
        now = self.now()
        requester = None if many else view.requester
        with self._sessions.begin() as session:
            for event in events:
                key = f"event:{migration_id.lower()}:{event.id or _value(event.event_name)}"
                self._outbox.thread(view.id, key, event_text(migration_id, event, with_id=many), session=session,
                                    message=view.message)
            values: dict[str, Any] = {"status": status, "last_checked_at": now}
            if migration.status == MigrationStatus.COMPLETED:
                self._outbox.thread(view.id, f"final:{migration_id.lower()}", completed_text(requester, migration),
                                    session=session, message=view.message)
                values.update(
                    done=True, next_check_at=None,
                    detail={
                        "new_subscription_id": migration.new_commerce_subscription_id,
                        "new_order_id": migration.new_commerce_order_id,
                        "subscription_end_date": migration.subscription_end_date.date().isoformat()
                        if migration.subscription_end_date else None,
                    },
                )
            elif migration.status == MigrationStatus.FAILED:
                self._outbox.thread(view.id, f"final:{migration_id.lower()}",
                                    failed_text(requester, migration, legacy_status), session=session,
                                    message=view.message)
                values.update(
                    done=True, next_check_at=None,
                    detail={
                        "error_code": str(migration.error_code) if migration.error_code is not None else "Failed",
                        "error_description": migration.error_description or thread.PC_REPORTED_FAILED,
                        "legacy_status": legacy_status,
                    },
                )
            else:
                since = tracked.processing_since or migration.started_time or tracked.first_seen_at
                values["processing_since"] = since
                values["next_check_at"] = self.next_check(replace(tracked, processing_since=since), now)
            store.update_tracked(session, tracked.id, **values)
        return True

    def _legacy_status(self, customer_id: str, subscription_id: str | None) -> str | None:
        """The legacy subscription's status after a failure (decides what to do next), None when unknown."""
        if not subscription_id:
            return None
        try:
            return _value(self._pc.get_subscription(customer_id, subscription_id).status) or None
        except PartnerCenterError as exc:
            log.warning("subscription %s: status unknown after a failure: %s", subscription_id, exc)
            return None

    def settle(self, view: RequestView, ids: list[str], *, many: bool) -> None:
        """Move the request to processing / completed / failed from what its migrations did (conditional); the
        rule lives with the rest of a request's lifecycle (``bot.services.settlement``)."""
        with self._sessions.begin() as session:
            settle_tracked(session, self._outbox, view, ids, many=many, now=self.now())

    # ============================================================================== schedules of requests
    def poll_schedules(self) -> int:
        """One reconciliation of active schedules: one list call per customer with one (see reconcile)."""
        return self.reconciler.schedules()

    def check_schedule(self, view: RequestView, schedule_id: str, listed: MigrationSchedule | None = None) -> None:
        """Bring a schedule request up to date from ``listed`` (its row in the customer's list) or a GET."""
        now = self.now()
        with self._sessions.begin() as session:
            tracked = store.ensure_tracked(
                session, kind=SCHEDULE, item_id=schedule_id, request_id=view.id, customer_id=view.customer_id,
                now=now,
            )
        if tracked.done:
            return
        schedule = listed if listed is not None else self._pc.get_schedule(view.customer_id, schedule_id)
        status = _value(schedule.status)
        legacy_status: str | None = None
        if not schedule.new_commerce_migration_id and (
            schedule.status == ScheduleStatus.FAILED or schedule.error_code is not None
        ):
            legacy_status = self._legacy_status(view.customer_id, schedule.current_subscription_id or
                                                view.subscription_id)
        now = self.now()
        with self._sessions.begin() as session:
            # "sending" too: a cancel whose answer was lost (crash, timeout) was still made by ncebot.
            ops = store.schedule_operations(session, schedule_id, statuses=("sent", "sending"))
            cancel_op = next((op for op in ops if op.kind == "cancel_schedule"), None)
            detail = dict(tracked.detail or {})
            baseline = detail.get("baseline")
            if baseline is None:
                created = next(
                    (op.response for op in ops if op.kind == "create_schedule" and op.status == "sent" and op.response),
                    None,
                )
                baseline = schedule_terms(created if created else schedule.to_api())
            message = view.message
            # Changes made through ncebot (an approved reschedule request): said once each, in this thread.
            reported = {int(i) for i in detail.get("updates", [])}
            for op in ops:
                if op.kind != "update_schedule" or op.status != "sent" or not op.response or op.id in reported:
                    continue
                terms = schedule_terms(op.response)
                changed = describe_changes(baseline, terms) or thread.NO_TERM_CHANGED
                self._outbox.thread(
                    view.id, f"schedule-updated:{schedule_id.lower()}:{op.id}",
                    thread.schedule_updated(view.requester, schedule_id, op.request_id,
                                            self._decided_by(session, op.request_id), changed),
                    session=session, message=message,
                )
                baseline = terms
                reported.add(op.id)
            detail["baseline"] = baseline
            detail["updates"] = sorted(reported)
            update: dict[str, Any] = {"status": status, "last_checked_at": now, "detail": detail}

            if schedule.new_commerce_migration_id:
                mid = schedule.new_commerce_migration_id
                repo.update_request_fields(session, view.id, now, migration_id=mid)
                repo.append_audit(
                    session, request_id=view.id, customer_id=view.customer_id, actor=SYSTEM_ACTOR,
                    action="schedule_ran", at=now, detail={"schedule_id": schedule_id, "migration_id": mid},
                )
                self._outbox.thread(
                    view.id, f"schedule-ran:{schedule_id.lower()}",
                    thread.schedule_ran(schedule_id, mid),
                    session=session, message=message,
                )
                update["done"] = True
            elif schedule.status == ScheduleStatus.FAILED or schedule.error_code is not None:
                code = schedule.error_code if schedule.error_code is not None else "ScheduleFailed"
                description = schedule.error_description or thread.SCHEDULE_REPORTED_FAILED
                self._outbox.thread(view.id, f"schedule-failed:{schedule_id.lower()}",
                                    thread.schedule_failed(view.requester, schedule_id, code, description,
                                                           schedule_failure_next_step(legacy_status)),
                                    session=session, message=message)
                finish_schedule(session, self._outbox, view, now, code=str(code), description=description,
                                schedule_id=schedule_id)
                update["done"] = True
            elif schedule.status == ScheduleStatus.CANCELLED:
                if cancel_op is not None:
                    by = self._decided_by(session, cancel_op.request_id)
                    text = thread.schedule_cancelled_by_request(view.requester, schedule_id, cancel_op.request_id, by)
                    code, description = SCHEDULE_CANCELLED, thread.cancelled_by_request(cancel_op.request_id, by)
                else:
                    text = thread.schedule_cancelled_outside(view.requester, schedule_id)
                    code, description = SCHEDULE_CANCELLED, thread.CANCELLED_OUTSIDE
                self._outbox.thread(view.id, f"schedule-cancelled:{schedule_id.lower()}", text, session=session,
                                    message=message)
                finish_schedule(session, self._outbox, view, now, code=code, description=description,
                                schedule_id=schedule_id)
                update["done"] = True
            elif not any(op.kind == "update_schedule" and op.status == "sending" for op in ops):
                # (While a reschedule through ncebot is in flight, a difference is most likely that one.)
                current = schedule_terms(schedule.to_api())
                described = describe_changes(baseline, current)
                if described:
                    seen = repr((sorted(baseline.items()), sorted(current.items())))
                    digest = hashlib.sha1(seen.encode()).hexdigest()[:12]
                    self._outbox.thread(
                        view.id, f"schedule-changed:{schedule_id.lower()}:{digest}",
                        thread.schedule_changed_outside(view.requester, schedule_id, described),
                        session=session, message=message,
                    )
            store.update_tracked(session, tracked.id, **update)

    @staticmethod
    def _decided_by(session: Session, request_id: str) -> str:
        """`` (asked by <@a>, approved by <@b>)`` for the request that changed a schedule through ncebot."""
        row = repo.get_request(session, request_id)
        if row is None:
            return ""
        other = repo.to_view(row)
        return thread.decided_by(other.requester, other.decided_by)

    # ============================================================================== watched customers
    def poll_watched(self, only: str | None = None) -> int:
        """Announce migrations and schedules of watched customers that the bot did not make, once per status.
        ``only``: just this customer (when a webhook named it), if watched."""
        customers = self._watched()
        if only is not None:
            customers = [c for c in customers if c.lower() == only.lower()]
        channel = self.notify_channel
        if not customers or not channel:
            return 0
        with self._sessions() as session:
            known_migrations, known_schedules = store.known_item_ids(session)
            known_refs = store.known_external_reference_ids(session)
            added = {c: at for c, at in session.execute(select(WatchedCustomer.customer_id, WatchedCustomer.added_at))}
        announced = 0
        for customer_id in customers:
            try:
                migrations = self._pc.query_migrations(customer_id=customer_id)
                schedules = self._pc.list_schedules(customer_id=customer_id)
            except PartnerCenterError as exc:
                log.warning("watched customer %s: Partner Center unavailable: %s", customer_id, exc)
                continue
            since = added.get(customer_id)
            with self._sessions.begin() as session:
                for migration in migrations:
                    if not migration.id or migration.id.lower() in known_migrations:
                        continue
                    if (migration.external_reference_id or "").lower() in known_refs:
                        continue
                    if since and migration.completed_time and migration.completed_time < since:
                        continue  # history from before the watch began
                    status = _value(migration.status) or "unknown"
                    if self._outbox.announce(channel, f"migration:{migration.id.lower()}:{status.lower()}",
                                             self._migration_announcement(customer_id, migration, status),
                                             session=session):
                        announced += 1
                for schedule in schedules:
                    if not schedule.id or schedule.id.lower() in known_schedules:
                        continue
                    if (schedule.external_reference_id or "").lower() in known_refs:
                        continue
                    status = _value(schedule.status) or "unknown"
                    if (since and status.lower() != "created" and schedule.last_modified_time
                            and schedule.last_modified_time < since):
                        continue
                    when = "renewal" if schedule.migrate_on_renewal else thread.day(schedule.target_date)
                    if self._outbox.announce(channel, f"schedule:{schedule.id.lower()}:{status.lower()}:{when}",
                                             self._schedule_announcement(customer_id, schedule, status),
                                             session=session):
                        announced += 1
        if announced and self.on_commit is not None:
            self.on_commit()
        return announced

    @staticmethod
    def _migration_announcement(customer_id: str, migration: Migration, status: str) -> str:
        if migration.status == MigrationStatus.COMPLETED:
            tail = announcements.completed_tail(migration)
        elif migration.status == MigrationStatus.FAILED:
            tail = announcements.failed_tail(migration)
        else:
            tail = announcements.running_tail(migration)
        return announcements.migration_made_outside(customer_id, migration, status, tail)

    _schedule_announcement = staticmethod(announcements.schedule_made_outside)  # the sentence is the texts'
