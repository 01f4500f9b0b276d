"""The catalogue: seed data loading, customers, subscriptions and their paged lists.

:class:`Catalogue` is the bottom layer of :class:`sandbox.state.SandboxState` (``Catalogue`` <- ``Eligibility``
<- ``Migrations`` <- ``Schedules`` <- ``SandboxState``); it declares the state every layer shares."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from sandbox import deadlines
from sandbox.clock import SandboxClock
from sandbox.errors import bad_request, no_relationship, subscription_not_found
from sandbox.faults import Faults, RateLimit, RateLimiter
from sandbox.model import (
    Customer,
    Migration,
    Offer,
    Schedule,
    Subscription,
    TokenInfo,
    decode_token,
    encode_token,
    is_guid,
    relative,
)


class Catalogue:
    """Seed data and reads of customers and subscriptions. Everything runs under ``lock`` (the routes hold it)."""

    lock: threading.RLock
    clock: SandboxClock
    _seed: Mapping[str, Any] | None
    data_path: Path
    _overrides: dict[str, Any]
    # (event name, customer id, "migration" | "schedule", id): set by sandbox.webhooks to send deliveries.
    emit_hook: Callable[[str, str, str, str], None] | None
    migrations: dict[str, Migration]
    schedules: dict[str, Schedule]

    # ----------------------------------------------------------------------------------- loading

    def load(self) -> None:
        """(Re)load the seed data. Migrations, schedules, limits, idempotency records and faults start over (faults
        from the settings); access and refresh tokens already issued stay valid."""
        with self.lock:
            raw = self._seed if self._seed is not None else (
                yaml.safe_load(self.data_path.read_text(encoding="utf-8")) or {}
            )
            partner = raw.get("partner") or {}
            seeded: dict[str, Any] = raw.get("settings") or {}
            settings: dict[str, Any] = {**seeded, **self._overrides}
            # Faults given at start (``ncebot sandbox`` env, constructor) add to the data file's, key by key.
            settings["faults"] = {**(seeded.get("faults") or {}), **(self._overrides.get("faults") or {})}
            anchor = self.clock.start
            self.tenant_id: str = str(partner.get("tenant_id") or uuid.uuid4()).lower()
            self.partner_name: str = str(partner.get("name") or "Sandbox partner")
            self.partner_id: str = str(partner.get("partner_id") or "1234567")
            self.client_id: str = str(partner.get("client_id") or uuid.uuid4()).lower()
            self.client_secret: str = str(partner.get("client_secret") or "sandbox-secret")
            self.initial_refresh_token: str = str(partner.get("refresh_token") or "sandbox-refresh-token")
            user = partner.get("user") or {}
            self.user_oid: str = str(user.get("oid") or uuid.uuid4())
            self.user_upn: str = str(user.get("upn") or "admin@sandbox.onmicrosoft.com")
            self.user_name: str = str(user.get("name") or "Sandbox admin")

            life = settings.get("lifecycle_seconds") or {}
            self.lifecycle = {
                "created": float(life.get("created", 60)),
                "provisioned": float(life.get("provisioned", 120)),
                "completed": float(life.get("completed", 180)),
            }
            limits = {
                "validate": RateLimit(450, 300),
                "create": RateLimit(100, 300),
                "subscriptions": RateLimit(500, 60),
            }
            for name, rule in (settings.get("rate_limits") or {}).items():
                limits[name] = RateLimit(int(rule["limit"]), float(rule["window_seconds"]))
            self.rate_limits = limits
            self.token_lifetime = int(settings.get("token_lifetime_seconds", 3599))
            # Microsoft documents no paging for a customer's subscriptions; very large tenants are UNCONFIRMED.
            # The sandbox pages them like /customers so that clients prove they follow a continuation token.
            self.subscriptions_page_size = int(settings.get("subscriptions_page_size", 25))
            # Migration and schedule lists without PageSize: 300 per page (small values prove paging is followed).
            self.list_page_size = int(settings.get("list_page_size", 300))
            # Microsoft-led migrations at term end + 1 day (sandbox/deadlines.py); off for fixed-scenario data.
            self.microsoft_led_enabled = bool(settings.get("microsoft_led_migrations", True))
            self.loaded_at = self.clock.now()  # terms that had ended before the data was loaded stay as seeded
            self.subscription_patches: list[dict[str, Any]] = []

            self.offers: dict[str, Offer] = {}
            for offer_id, offer in (raw.get("offers") or {}).items():
                self.offers[str(offer_id).lower()] = Offer(
                    id=str(offer_id).lower(),
                    name=str(offer.get("name", "")),
                    nce=offer.get("nce"),
                    terms={str(k).upper(): [str(b).lower() for b in v] for k, v in (offer.get("terms") or {}).items()}
                    or None,
                )
            self.customers: dict[str, Customer] = {}
            for cust in raw.get("customers") or []:
                cid = str(cust["id"]).lower()
                customer = Customer(
                    id=cid,
                    company_name=str(cust.get("company_name", cid)),
                    domain=str(cust.get("domain", f"{cid[:8]}.onmicrosoft.com")),
                    relationship=str(cust.get("relationship", "reseller")),
                )
                for s in cust.get("subscriptions") or []:
                    sub = self._load_sub(cid, s, anchor)
                    customer.subs[sub.id] = sub
                self.customers[cid] = customer

            self.microsoft_led_queue = deadlines.microsoft_led_queue(self)
            self.migrations: dict[str, Migration] = {}
            self._due: tuple[tuple[int, int, timedelta], datetime | None] | None = None
            self.schedules: dict[str, Schedule] = {}
            self.idempotency: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
            self.limiter = RateLimiter()
            self.faults = Faults()
            self.faults.update(settings.get("faults") or {})
            self._rng = random.Random(self.faults.error_seed)
            self.counts: dict[str, int] = {}
            # Entra ID is another service: tokens it issued survive a reset (POST /_sandbox/tokens/expire ends them).
            if not hasattr(self, "tokens"):
                self.tokens: dict[str, TokenInfo] = {}
                self.refresh_tokens: set[str] = set()
                self.device_codes: dict[str, float] = {}
            self.refresh_tokens.add(self.initial_refresh_token)

    def _load_sub(self, cid: str, s: dict[str, Any], anchor: datetime) -> Subscription:
        offer_id = str(s["offer_id"])
        offer = self.offers.get(offer_id.lower())
        is_nce = ":" in offer_id
        created = relative(s.get("created", "-400d"), anchor)
        return Subscription(
            id=str(s["id"]).lower(),
            customer_id=cid,
            offer_id=offer_id if is_nce else offer_id.lower(),
            offer_name=str(s.get("offer_name") or (offer.name if offer else offer_id)),
            friendly_name=str(s.get("friendly_name") or (offer.name if offer else offer_id)),
            quantity=int(s.get("quantity", 1)),
            status=str(s.get("status", "active")),
            term_duration=str(s.get("term_duration", "P1Y")).upper(),
            billing_cycle=str(s.get("billing_cycle", "monthly")).lower(),
            created=created,
            term_end=relative(s.get("term_end", "+180d"), anchor),
            parent=str(s["parent"]).lower() if s.get("parent") else None,
            is_trial=bool(s.get("is_trial", False)),
            promotion_id=s.get("promotion_id"),
            partner_id=str(s["partner_id"]) if s.get("partner_id") else self.partner_id,
            invalid_partner_id=bool(s.get("invalid_partner_id", False)),
            trade_blocked=str(s.get("trade_status", "")).lower() == "blocked",
            processing=bool(s.get("processing", False)),
            outcome=s.get("migration_outcome"),
            order_id=str(s.get("order_id") or uuid.uuid5(uuid.NAMESPACE_URL, str(s["id"])).hex[:12]),
        )

    # ----------------------------------------------------------------------------------- lookups

    def now(self) -> datetime:
        return self.clock.now()

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def customer(self, customer_id: str) -> Customer:
        if not is_guid(customer_id):
            raise bad_request(f"The customer tenant id {customer_id!r} is not a GUID.")
        customer = self.customers.get(customer_id.lower())
        if customer is None or customer.relationship.lower() == "none":
            raise no_relationship(customer_id)
        return customer

    def subscription(self, customer: Customer, subscription_id: str) -> Subscription:
        if not is_guid(subscription_id):
            raise bad_request(f"The subscription id {subscription_id!r} is not a GUID.")
        sub = customer.subs.get(subscription_id.lower())
        if sub is None:
            raise subscription_not_found(subscription_id)
        return sub

    def descendants(self, customer: Customer, sub_id: str, *, active: bool = False) -> list[Subscription]:
        """All add-ons below a subscription (add-ons of add-ons too), depth first; ``active``: only active ones,
        and nothing below an inactive add-on."""
        out: list[Subscription] = []
        for child in customer.subs.values():
            if child.parent == sub_id and (not active or child.status == "active"):
                out.append(child)
                out.extend(self.descendants(customer, child.id, active=active))
        return out

    def recent_addons(self, customer: Customer, base: Subscription, now: datetime) -> list[str]:
        """Ids of the active add-ons below ``base`` bought less than 30 days before ``now``."""
        return [
            s.id for s in self.descendants(customer, base.id, active=True) if now - s.created < timedelta(days=30)
        ]

    # ----------------------------------------------------------------------------------- lists

    def list_customers(self, size: int, token: str | None) -> dict[str, Any]:
        visible = [c.to_json() for c in self.customers.values() if c.relationship.lower() != "none"]
        return self.seek_page(visible, size, token, "customers", f"/customers?size={size}")

    def list_subscriptions(self, customer: Customer, token: str | None) -> dict[str, Any]:
        items = [s.to_json() for s in customer.subs.values()]
        uri = f"/customers/{customer.id}/subscriptions"
        return self.seek_page(items, self.subscriptions_page_size, token, f"subscriptions:{customer.id}", uri)

    def seek_page(
        self, items: list[dict[str, Any]], size: int, token: str | None, kind: str, uri: str
    ) -> dict[str, Any]:
        """One page of a seek-paged collection: ``continuationToken`` in the body (and ``links.next``) while more
        remain; the next page is the same URI with ``seekOperation=next`` and the token as MS-ContinuationToken."""
        page, cont = self._page(kind, items, size, token)
        body = self.collection(page, uri)
        if cont is not None:
            body["continuationToken"] = cont
            separator = "&" if "?" in uri else "?"
            body["links"]["next"] = {
                "uri": f"{uri}{separator}seekOperation=next",
                "method": "GET",
                "headers": [{"key": "MS-ContinuationToken", "value": cont}],
            }
        return body

    @staticmethod
    def _page(
        kind: str, rows: list[dict[str, Any]], size: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        offset = decode_token(token, kind) if token else 0
        nxt = offset + size
        return rows[offset:nxt], (encode_token(kind, nxt) if nxt < len(rows) else None)

    @staticmethod
    def collection(items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
        return {
            "totalCount": len(items),
            "items": items,
            "links": {"self": {"uri": uri, "method": "GET", "headers": []}},
            "attributes": {"objectType": "Collection"},
        }

    def _emit(self, event: str, customer_id: str, kind: str, item_id: str) -> None:
        if self.emit_hook is not None:
            self.emit_hook(event, customer_id, kind, item_id)
