"""Migrations: idempotent creates, the migration records, list queries, events and the lifecycle step that
finishes a migration (Completed with new NCE subscriptions, or Failed and reverted); migrations made outside
any client (Microsoft-led or the partner's portal)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sandbox.eligibility import Eligibility
from sandbox.errors import ApiError, bad_request
from sandbox.model import Customer, Item, Migration, Schedule, Subscription, add_months, is_guid, iso


class Migrations(Eligibility):
    """Migration routes on top of eligibility."""

    # ----------------------------------------------------------------------------------- idempotency

    def idempotent(self, kind: str, request_id: str | None, fn: Any) -> tuple[int, dict[str, Any], bool]:
        """Run ``fn() -> (status, body)`` once per (kind, MS-RequestId); replays answer the first result.

        Returns (status, body, fresh)."""
        key = (kind, request_id.lower()) if request_id else None
        if key and key in self.idempotency:
            status, body = self.idempotency[key]
            return status, body, False
        try:
            status, body = fn()
        except ApiError as exc:
            status, body = exc.status, exc.body()
        if key:
            self.idempotency[key] = (status, body)
        return status, body, True

    # ----------------------------------------------------------------------------------- migrations

    def create_migration(self, customer_id: str, body: Any, request_id: str | None) -> tuple[int, dict[str, Any]]:
        customer = self.customer(customer_id)
        now = self.now()
        items = self._check_create(customer, body, "addonmigrations", now)
        ext = (body or {}).get("externalreferenceid")
        if ext is not None and not isinstance(ext, str):
            raise bad_request("externalReferenceId must be a string.")
        migration = self._start_migration(customer, items, now, request_id=request_id, external_reference_id=ext)
        return 201, migration.to_json()

    def _start_migration(
        self,
        customer: Customer,
        items: list[Item],
        started: datetime,
        *,
        request_id: str | None = None,
        external_reference_id: str | None = None,
        microsoft_led: bool = False,
        schedule_id: str | None = None,
        source: str = "api",
    ) -> Migration:
        migration = Migration(
            id=str(uuid.uuid4()),
            customer_id=customer.id,
            items=items,
            started=started,
            external_reference_id=external_reference_id,
            microsoft_led=microsoft_led,
            request_id=request_id,
            schedule_id=schedule_id,
            source=source,
        )
        for item in items:
            sub = customer.subs[item.sub_id]
            if item.end_date is None:
                item.end_date = sub.term_end
            sub.status = "suspended"
            sub.migrating = migration.id
        self.migrations[migration.id] = migration
        self._emit("new-commerce-migration-created", customer.id, "migration", migration.id)
        return migration

    def get_migration(self, customer_id: str, migration_id: str) -> dict[str, Any]:
        customer = self.customer(customer_id)
        migration = self.migrations.get(migration_id.lower())
        if migration is None or migration.customer_id != customer.id:
            raise ApiError(400, 900224, f"New commerce migration {migration_id} was not found.")
        return migration.to_json()

    def _filters(self, query: dict[str, str]) -> dict[str, Any]:
        cust = query.get("customertenantid")
        sub = query.get("currentsubscriptionid")
        ext = query.get("externalreferenceid")
        if not (cust or sub or ext):
            raise bad_request(
                "At least one of CustomerTenantId, CurrentSubscriptionId or ExternalReferenceId is required."
            )
        for name, value in (("CustomerTenantId", cust), ("CurrentSubscriptionId", sub)):
            if value and not is_guid(value):
                raise bad_request(f"{name} {value!r} is not a GUID.")
        led_raw = query.get("ismicrosoftled")
        led: bool | None = None
        if led_raw is not None:
            if led_raw.lower() not in ("true", "false"):
                raise bad_request("IsMicrosoftLed must be true or false.")
            led = led_raw.lower() == "true"
        size_raw = query.get("pagesize", str(self.list_page_size))
        try:
            size = int(size_raw)
        except ValueError as exc:
            raise bad_request("PageSize must be an integer between 1 and 300.") from exc
        if not 1 <= size <= 300:
            raise bad_request("PageSize must be an integer between 1 and 300.")
        return {
            "customer": cust.lower() if cust else None,
            "sub": sub.lower() if sub else None,
            "ext": ext.lower() if ext else None,
            "led": led,
            "size": size,
        }

    def _query(
        self, kind: str, records: list[Migration] | list[Schedule], query: dict[str, str], token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the migrations or schedules matching the query filters, and the next page's token."""
        f = self._filters(query)
        rows = [
            r.to_json()
            for r in records
            if (f["customer"] is None or f["customer"] == r.customer_id)
            and (f["sub"] is None or f["sub"] in [i.sub_id for i in r.items])
            and (f["ext"] is None or (r.external_reference_id or "").lower() == f["ext"])
            and (f["led"] is None or f["led"] == r.microsoft_led)
        ]
        return self._page(kind, rows, f["size"], token)


    def query_migrations(self, query: dict[str, str], token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self._query("migrations", list(self.migrations.values()), query, token)

    def events(self, customer_id: str, query: dict[str, str]) -> list[dict[str, Any]]:
        customer = self.customer(customer_id)
        mid = query.get("migration_id") or query.get("migrationid") or query.get("newcommercemigrationid")
        sid = query.get("current_subscription_id") or query.get("currentsubscriptionid")
        if not (mid or sid):
            raise bad_request("At least one of migration_id or current_subscription_id is required.")
        for name, value in (("migration_id", mid), ("current_subscription_id", sid)):
            if value and not is_guid(value):
                raise bad_request(f"{name} {value!r} is not a GUID.")
        now = self.now()
        out: list[dict[str, Any]] = []
        named = self.migrations.get(mid.lower()) if mid else None
        for m in ([named] if named else []) if mid else self.migrations.values():
            if m.customer_id != customer.id:
                continue
            if mid and m.id != mid.lower():
                continue
            if sid and m.items[0].sub_id != sid.lower():
                continue
            out.extend(e for e in self.migration_events(m) if e["_at"] <= now)
        out.sort(key=lambda e: e["_at"])
        return [{k: v for k, v in e.items() if k != "_at"} for e in out]

    def migration_events(self, m: Migration) -> list[dict[str, Any]]:
        plan: list[tuple[float, str]] = [(0.0, "MigrationStarted")]
        if self._outcome(m) is not None:
            plan.append((self.lifecycle["completed"], "MigrationFailed"))
        else:
            plan += [
                (self.lifecycle["created"], "NewCommerceSubscriptionCreated"),
                (self.lifecycle["provisioned"], "NewCommerceSubscriptionProvisioned"),
                (self.lifecycle["completed"], "MigrationCompleted"),
            ]
        events = []
        for delay, name in plan:
            at = m.started + timedelta(seconds=delay)
            events.append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{m.id}/{name}")),
                    "newCommerceMigrationId": m.id,
                    "currentSubscriptionId": m.items[0].sub_id,
                    "customerTenantId": m.customer_id,
                    "createdTime": iso(at),
                    "eventName": name,
                    "_at": at,
                }
            )
        return events

    def _outcome(self, m: Migration) -> dict[str, Any] | None:
        customer = self.customers[m.customer_id]
        for item in m.items:
            outcome = customer.subs[item.sub_id].outcome
            if outcome and str(outcome.get("status", "")).lower() == "failed":
                return outcome
        return None

    def _finish(self, m: Migration, at: datetime) -> None:
        customer = self.customers[m.customer_id]
        outcome = self._outcome(m)
        m.completed = at
        if outcome is not None:
            m.status = "Failed"
            m.error_code = int(outcome.get("error_code", 900225))
            m.error_description = str(
                outcome.get("error_description", "An unexpected error occurred while processing the migration.")
            )
            for item in m.items:
                sub = customer.subs[item.sub_id]
                sub.migrating = None
                if outcome.get("revert", True):
                    sub.status = "active"
        else:
            m.status = "Completed"
            m.order_id = uuid.uuid4().hex[:12]
            for item in m.items:
                legacy = customer.subs[item.sub_id]
                legacy.migrating = None
                offer = self.offers.get(legacy.offer_id.lower())
                new = Subscription(
                    id=str(uuid.uuid4()),
                    customer_id=customer.id,
                    offer_id=item.catalog_item_id or "CFQ7TTC0LF8Q:0001:CFQ7TTC0KQDF",
                    offer_name=offer.name if offer else legacy.offer_name,
                    friendly_name=legacy.friendly_name,
                    quantity=item.quantity,
                    status="active",
                    term_duration=item.term,
                    billing_cycle=item.billing,
                    created=at,
                    term_end=item.end_date or legacy.term_end,
                    partner_id=legacy.partner_id,
                    order_id=m.order_id,
                    migrated_from=legacy.id,
                )
                item.new_sub_id = new.id
                customer.subs[new.id] = new
        self._emit(f"new-commerce-migration-{m.status.lower()}", m.customer_id, "migration", m.id)
        if m.schedule_id and m.schedule_id in self.schedules and m.status == "Failed":
            schedule = self.schedules[m.schedule_id]
            schedule.status = "Failed"
            schedule.error_code = m.error_code
            schedule.error_description = m.error_description
            schedule.modified = at
            self._emit("new-commerce-migration-schedule-failed", m.customer_id, "schedule", schedule.id)


    def microsoft_led_migration(
        self, customer: Customer, base: Subscription, at: datetime, *, microsoft_led: bool = True
    ) -> Migration:
        """Start a migration made outside any client: Microsoft-led (1-year term, same seats and billing plan,
        triennial billing becomes annual) or a partner's portal migration (same term)."""
        subs = [base, *self.descendants(customer, base.id, active=True)]
        items = []
        for sub in subs:
            item = self.make_item(sub, {"term": "P1Y"} if microsoft_led else {})
            if item.billing == "triennial":
                item.billing = "annual"
            item.end_date = add_months(at, 12) if microsoft_led else sub.term_end
            items.append(item)
        return self._start_migration(customer, items, at, microsoft_led=microsoft_led, source="external")
