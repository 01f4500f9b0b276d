"""In-memory Partner Center state and its business rules.

Everything is evaluated lazily against :class:`SandboxClock`: ``refresh()`` (called before every request) runs due
schedules and moves migrations through their events, so no background threads are needed and advancing the clock
is enough to make time pass.

Split by resource (each module one layer of :class:`SandboxState`): :mod:`sandbox.model` (records and value
helpers), :mod:`sandbox.catalogue` (seed data, customers, subscriptions), :mod:`sandbox.eligibility` (request
parsing, eligibility, validate), :mod:`sandbox.migrations`, :mod:`sandbox.schedules` and :mod:`sandbox.faults`
(faults on demand and rate limits). The names below stay importable from here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import deadlines
from sandbox.clock import SandboxClock
from sandbox.errors import bad_request
from sandbox.faults import FaultInjection, Faults, RateLimit, RateLimiter
from sandbox.model import (
    BILLING_OUT,
    CREATE_ERRORS,
    DEFAULT_DATA,
    DESCRIPTIONS,
    GUID_RE,
    PC_AUDIENCE,
    TERM_BILLING,
    TERM_MONTHS,
    Customer,
    Item,
    Migration,
    Offer,
    Schedule,
    Subscription,
    TokenInfo,
    add_months,
    ci,
    decode_token,
    encode_token,
    is_guid,
    is_month_end,
    iso,
    parse_datetime,
    require_guid,
)
from sandbox.schedules import Schedules

__all__ = [
    "BILLING_OUT",
    "CREATE_ERRORS",
    "DEFAULT_DATA",
    "DESCRIPTIONS",
    "GUID_RE",
    "PC_AUDIENCE",
    "TERM_BILLING",
    "TERM_MONTHS",
    "Customer",
    "Faults",
    "Item",
    "Migration",
    "Offer",
    "RateLimit",
    "RateLimiter",
    "SandboxState",
    "Schedule",
    "Subscription",
    "TokenInfo",
    "add_months",
    "ci",
    "decode_token",
    "encode_token",
    "is_guid",
    "is_month_end",
    "iso",
    "parse_datetime",
    "require_guid",
]


class SandboxState(Schedules, FaultInjection):
    """The whole sandbox: seed data, migrations, schedules, tokens, limits and faults. Thread-safe via ``lock``."""

    def __init__(
        self,
        data: str | Path | Mapping[str, Any] | None = None,
        time_scale: float = 1.0,
        settings: dict[str, Any] | None = None,
        clock: SandboxClock | None = None,
    ) -> None:
        """``data``: a seed file (YAML or JSON), or the seed itself in that shape (``sandbox.large_seed.build()``)."""
        self.lock = threading.RLock()
        self._seed = data if isinstance(data, Mapping) else None
        self.data_path = Path(data) if isinstance(data, str | Path) and data else DEFAULT_DATA
        self.clock = clock or SandboxClock(time_scale)
        self._overrides = settings or {}
        self.emit_hook: Callable[[str, str, str, str], None] | None = None  # set by sandbox.webhooks
        self.load()

    # ----------------------------------------------------------------------------------- lifecycle

    def refresh(self) -> None:
        """Bring everything up to the clock: run due schedules, then finish due migrations (in time order)."""
        with self.lock:
            now = self.now()
            for schedule in sorted(self.schedules.values(), key=lambda s: s.due()):
                if schedule.status == "Created" and schedule.due() <= now:
                    self._execute_schedule(schedule)
            deadlines.microsoft_led_due(self, now)
            done_after = timedelta(seconds=self.lifecycle["completed"])
            # Skip the scan while nothing can be due (refresh runs before every request; 50k migrations in flight
            # would make each request sort them all). Any new migration or lifecycle change invalidates it.
            key = (id(self.migrations), len(self.migrations), done_after)
            if self._due is not None and self._due[0] == key and (self._due[1] is None or now < self._due[1]):
                return
            for m in sorted(self.migrations.values(), key=lambda m: m.started):
                if m.status == "Processing" and m.started + done_after <= now:
                    self._finish(m, m.started + done_after)
            due = [m.started + done_after for m in self.migrations.values() if m.status == "Processing"]
            self._due = (key, min(due) if due else None)

    # ----------------------------------------------------------------------------------- admin

    def external_migration(self, customer_id: str, subscription_id: str, microsoft_led: bool = True) -> dict[str, Any]:
        """A migration made outside any client (Partner Center portal, or Microsoft-led at term end)."""
        with self.lock:
            self.refresh()
            customer = self.customer(customer_id)
            base = self.subscription(customer, subscription_id)
            if base.migrating or base.status != "active" or base.is_nce:
                raise bad_request(f"Subscription {base.id} is not an active legacy subscription.")
            return self.microsoft_led_migration(customer, base, self.now(), microsoft_led=microsoft_led).to_json()

    def summary(self) -> dict[str, Any]:
        with self.lock:
            self.refresh()
            return {
                "now": iso(self.now()),
                "timeScale": self.clock.time_scale,
                "counts": {
                    "migrations": len(self.migrations),
                    "schedules": len(self.schedules),
                    "requests": dict(self.counts),
                },
                "migrations": [
                    {
                        "id": m.id,
                        "customerTenantId": m.customer_id,
                        "currentSubscriptionId": m.items[0].sub_id,
                        "status": m.status,
                        "requestId": m.request_id,
                        "externalReferenceId": m.external_reference_id,
                        "microsoftLed": m.microsoft_led,
                        "source": m.source,
                    }
                    for m in self.migrations.values()
                ],
                "subscriptionPatches": list(self.subscription_patches),
                "schedules": [
                    {
                        "id": s.id,
                        "customerTenantId": s.customer_id,
                        "currentSubscriptionId": s.items[0].sub_id,
                        "status": s.status,
                        "requestId": s.request_id,
                        "newCommerceMigrationId": s.migration_id,
                    }
                    for s in self.schedules.values()
                ],
            }

    def advance(self, seconds: float) -> datetime:
        """Move the sandbox clock forward and apply everything that became due."""
        moment = self.clock.advance(seconds)
        self.refresh()
        return moment
