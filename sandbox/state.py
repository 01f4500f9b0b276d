"""In-memory Partner Center state and its business rules.

Everything is evaluated lazily against :class:`SandboxClock`: ``refresh()`` (called before every request) runs due
schedules and moves migrations through their events, so no background threads are needed and advancing the clock
is enough to make time pass.
"""

from __future__ import annotations

import base64
import calendar
import json
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from sandbox import deadlines
from sandbox.clock import SandboxClock
from sandbox.errors import ApiError, bad_request, no_relationship, subscription_not_found

DEFAULT_DATA = Path(__file__).parent / "data" / "default.yaml"
PC_AUDIENCE = "https://api.partnercenter.microsoft.com"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: NCE term -> billing plans (global rule; a product may narrow it).
TERM_BILLING: dict[str, list[str]] = {
    "P1M": ["monthly"],
    "P1Y": ["monthly", "annual"],
    "P3Y": ["monthly", "annual", "triennial"],
}
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}
BILLING_OUT = {"monthly": "Monthly", "annual": "Annual", "triennial": "Triennial"}

#: eligibility code -> (HTTP status, Partner Center error code) when the same problem stops a create.
CREATE_ERRORS: dict[int, tuple[int, int]] = {
    0: (400, 900215),
    1: (400, 900216),
    2: (400, 900217),
    3: (400, 900218),
    4: (400, 900219),
    5: (400, 900220),
    6: (400, 900222),
    7: (403, 900226),
    8: (400, 900221),
    9: (400, 900247),
    10: (400, 900217),
    11: (400, 900242),
    12: (400, 900292),
}

DESCRIPTIONS: dict[int, str] = {
    0: "Subscription is not active and cannot be migrated to New Commerce.",
    1: "Subscription is currently being processed and cannot be migrated right now. Try again later.",
    2: "Subscription is too close to the end of its term to be migrated to New Commerce.",
    3: "Subscription has active promotions and cannot be migrated to New Commerce.",
    5: "Subscription cannot be migrated to New Commerce because the equivalent offer is not yet available in "
    "New Commerce",
    7: "Subscription has been active for less than one month and cannot be migrated to New Commerce.",
    8: "Subscription cannot be migrated to New Commerce because its trade status does not allow it.",
    9: "The partner ID on record for this subscription is invalid. Update the partner of record before migrating.",
    4: "Subscription has add-ons that prevent its migration.",
    10: "Subscription is within the last 24 hours of its term. Migrations in this window are only allowed with "
    "purchaseFullTerm set to true.",
}


# --------------------------------------------------------------------------------------------------- helpers


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_datetime(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"The field {name} must be an ISO 8601 date-time string.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise bad_request(f"The field {name} is not a valid date-time: {value!r}.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and bool(GUID_RE.match(value))


def require_guid(value: Any, name: str) -> str:
    if not is_guid(value):
        raise bad_request(f"The field {name} must be a GUID; got {value!r}.")
    return str(value).lower()


def ci(obj: Any) -> Any:
    """Lower-case every JSON property name (Partner Center accepts PascalCase and camelCase alike)."""
    if isinstance(obj, dict):
        return {str(k).lower(): ci(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [ci(v) for v in obj]
    return obj


def _relative(value: Any, anchor: datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    match = re.fullmatch(r"([+-])(\d+(?:\.\d+)?)([dhms])", text)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}[match.group(3)]
        return anchor + timedelta(seconds=sign * float(match.group(2)) * unit)
    return parse_datetime(text, "date")


def encode_token(kind: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, kind: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["k"] != kind or not isinstance(data["o"], int) or data["o"] < 0:
            raise ValueError(token)
        return int(data["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("The continuation token is invalid.") from exc


# --------------------------------------------------------------------------------------------------- model


@dataclass
class Offer:
    id: str
    name: str
    nce: str | None
    terms: dict[str, list[str]] | None = None


@dataclass
class Subscription:
    id: str
    customer_id: str
    offer_id: str
    offer_name: str
    friendly_name: str
    quantity: int
    status: str
    term_duration: str
    billing_cycle: str
    created: datetime
    term_end: datetime
    parent: str | None = None
    is_trial: bool = False
    promotion_id: str | None = None
    partner_id: str | None = None
    invalid_partner_id: bool = False
    trade_blocked: bool = False
    processing: bool = False
    outcome: dict[str, Any] | None = None
    order_id: str | None = None
    migrated_from: str | None = None
    auto_renew: bool = True
    migrating: str | None = None  # id of the migration in progress

    @property
    def is_nce(self) -> bool:
        return ":" in self.offer_id

    def to_json(self) -> dict[str, Any]:
        nce = self.is_nce
        body: dict[str, Any] = {
            "id": self.id,
            "entitlementId": self.id if nce else None,
            "offerId": self.offer_id,
            "offerName": self.offer_name,
            "friendlyName": self.friendly_name,
            "quantity": self.quantity,
            "unitType": "Licenses",
            "hasPurchasableAddons": not nce,
            "creationDate": iso(self.created),
            "effectiveStartDate": iso(self.created),
            "commitmentEndDate": iso(self.term_end),
            "commitmentEndDateTime": iso(self.term_end),
            "status": self.status,
            "autoRenewEnabled": self.auto_renew,
            "isTrial": self.is_trial,
            "billingType": "license",
            "billingCycle": self.billing_cycle,
            "termDuration": self.term_duration,
            "isMicrosoftProduct": True,
            "partnerId": self.partner_id or "",
            "contractType": "subscription",
            "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"}
            if nce
            else {"id": "OnlineServices", "displayName": "OnlineServices"},
            "orderId": self.order_id or "",
            "links": {
                "offer": {"uri": f"/offers/{self.offer_id}?country=US", "method": "GET", "headers": []},
                "self": {
                    "uri": f"/customers/{self.customer_id}/subscriptions/{self.id}",
                    "method": "GET",
                    "headers": [],
                },
            },
            "attributes": {
                "etag": f'"{abs(hash((self.id, self.status, self.quantity)))}"',
                "objectType": "Subscription",
            },
        }
        if self.parent:
            body["parentSubscriptionId"] = self.parent
        if self.promotion_id:
            body["promotionId"] = self.promotion_id
        if self.migrated_from:
            body["migratedFromSubscriptionId"] = self.migrated_from
        if nce:
            body.update(deadlines.deadline_fields(self))
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class Customer:
    id: str
    company_name: str
    domain: str
    relationship: str = "reseller"
    subs: dict[str, Subscription] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "companyProfile": {
                "tenantId": self.id,
                "domain": self.domain,
                "companyName": self.company_name,
                "attributes": {"objectType": "CustomerCompanyProfile"},
            },
            "relationshipToPartner": self.relationship,
            "allowDelegatedAccess": True,
            "links": {"self": {"uri": f"/customers/{self.id}", "method": "GET", "headers": []}},
            "attributes": {"objectType": "Customer"},
        }


@dataclass
class Item:
    """One subscription inside a migration or schedule request, after defaults were applied."""

    sub_id: str
    term: str
    billing: str
    quantity: int
    purchase_full_term: bool
    custom_end: datetime | None = None
    catalog_item_id: str | None = None
    end_date: datetime | None = None
    new_sub_id: str | None = None

    def to_json(self, customer_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "currentSubscriptionId": self.sub_id,
            "customerTenantId": customer_id,
            "catalogItemId": self.catalog_item_id,
            "subscriptionEndDate": iso(self.end_date),
            "quantity": self.quantity,
            "termDuration": self.term,
            "billingCycle": BILLING_OUT.get(self.billing, self.billing),
            "purchaseFullTerm": self.purchase_full_term,
        }
        if self.custom_end:
            body["customTermEndDate"] = iso(self.custom_end)
        if self.new_sub_id:
            body["newCommerceSubscriptionId"] = self.new_sub_id
        return body


@dataclass
class Migration:
    id: str
    customer_id: str
    items: list[Item]  # base first, then add-ons (flat)
    started: datetime
    status: str = "Processing"
    completed: datetime | None = None
    order_id: str | None = None
    external_reference_id: str | None = None
    microsoft_led: bool = False
    error_code: int | None = None
    error_description: str | None = None
    request_id: str | None = None
    schedule_id: str | None = None
    source: str = "api"  # api | schedule | external

    def to_json(self) -> dict[str, Any]:
        base = self.items[0]
        body: dict[str, Any] = {
            "id": self.id,
            "startedTime": iso(self.started),
            "completedTime": iso(self.completed),
            "currentSubscriptionId": base.sub_id,
            "status": self.status,
            "customerTenantId": self.customer_id,
            "catalogItemId": base.catalog_item_id,
            "newCommerceSubscriptionId": base.new_sub_id,
            "newCommerceOrderId": self.order_id,
            "subscriptionEndDate": iso(base.end_date),
            "quantity": base.quantity,
            "termDuration": base.term,
            "billingCycle": BILLING_OUT.get(base.billing, base.billing),
            "purchaseFullTerm": base.purchase_full_term,
            "customTermEndDate": iso(base.custom_end),
            "externalReferenceId": self.external_reference_id,
            "microsoftLed": self.microsoft_led,
            "errorCode": self.error_code,
            "errorDescription": self.error_description,
            "addOnMigrations": [item.to_json(self.customer_id) for item in self.items[1:]],
        }
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class Schedule:
    id: str
    customer_id: str
    items: list[Item]
    target_date: datetime | None
    migrate_on_renewal: bool
    created: datetime
    modified: datetime
    subscription_end: datetime
    status: str = "Created"
    external_reference_id: str | None = None
    migration_id: str | None = None
    error_code: int | None = None
    error_description: str | None = None
    microsoft_led: bool = False
    request_id: str | None = None

    def due(self) -> datetime:
        return self.target_date or self.subscription_end

    def to_json(self) -> dict[str, Any]:
        base = self.items[0]

        def entry(item: Item) -> dict[str, Any]:
            out: dict[str, Any] = {
                "currentSubscriptionId": item.sub_id,
                "customerTenantId": self.customer_id,
                "catalogItemId": item.catalog_item_id,
                "quantity": item.quantity,
                "termDuration": item.term,
                "billingCycle": BILLING_OUT.get(item.billing, item.billing),
                "purchaseFullTerm": item.purchase_full_term,
            }
            if item.custom_end:
                out["customTermEndDate"] = iso(item.custom_end)
            return out

        body: dict[str, Any] = {
            "id": self.id,
            "currentSubscriptionId": base.sub_id,
            "subscriptionEndDate": iso(self.subscription_end),
            "status": self.status,
            "customerTenantId": self.customer_id,
            "catalogItemId": base.catalog_item_id,
            "quantity": base.quantity,
            "termDuration": base.term,
            "billingCycle": BILLING_OUT.get(base.billing, base.billing),
            "purchaseFullTerm": base.purchase_full_term,
            "customTermEndDate": iso(base.custom_end),
            "targetDate": iso(self.target_date),
            "migrateOnRenewal": self.migrate_on_renewal,
            "createdTime": iso(self.created),
            "lastModifiedTime": iso(self.modified),
            "externalReferenceId": self.external_reference_id,
            "newCommerceMigrationId": self.migration_id,
            "errorCode": self.error_code,
            "errorDescription": self.error_description,
            "microsoftLed": self.microsoft_led,
            "addOnMigrationSchedules": [entry(item) for item in self.items[1:]],
        }
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class Faults:
    """Faults on demand. Path filters are substrings of the request path (None = every Partner Center route)."""

    latency: float = 0.0  # real seconds added before answering
    latency_path: str | None = None
    error_rate: float = 0.0  # share of requests answered with error_status
    error_status: int = 503
    error_seed: int | None = None
    error_path: str | None = None
    fail_next: int = 0  # the next N requests answer error_status
    throttle_next: int = 0  # the next N requests answer 429
    retry_after: int = 5  # real seconds, for throttle_next
    throttle_path: str | None = None
    commit_then_timeout: float = 0.0  # create commits, then the answer is delayed this many real seconds
    commit_then_timeout_next: int | None = None  # only the next N creates (None = every create)
    webhook_bad_signature: int = 0  # the next N webhook deliveries carry a signature of other bytes
    webhook_wrong_cert_host: int = 0  # … name a certificate URL on another host (localhost)
    webhook_drop: int = 0  # … are not sent at all

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise bad_request(f"Unknown fault settings: {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        checked = {name: self._check(name, value) for name, value in values.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    @staticmethod
    def _check(name: str, value: Any) -> Any:
        """Refuse a setting of the wrong type or range (a bad value must not break every later request)."""
        if name.endswith("_path"):
            if value is not None and not isinstance(value, str):
                raise bad_request(f"Fault setting {name} must be a path substring or null.")
            return value or None
        if name == "error_seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise bad_request("Fault setting error_seed must be an integer or null.")
            return value
        if name == "commit_then_timeout_next" and value is None:
            return None
        if name in ("latency", "error_rate", "commit_then_timeout"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad_request(f"Fault setting {name} must be a number >= 0.")
            if name == "error_rate" and value > 1:
                raise bad_request("Fault setting error_rate is a share of requests: a number from 0 to 1.")
            return float(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad_request(f"Fault setting {name} must be an integer >= 0.")
        if name == "error_status" and not (400 <= value <= 599 and value != 429):
            raise bad_request("Fault setting error_status must be an HTTP error status 400-599 (429: throttle_next).")
        return value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RateLimit:
    limit: int
    window_seconds: float


class RateLimiter:
    """Sliding windows measured on the sandbox clock (elapsed sandbox seconds)."""

    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = {}

    def hit(self, key: str, rule: RateLimit, now: float) -> float | None:
        """Count one call; answer None, or the sandbox seconds until a slot frees up when over the limit."""
        window = self.hits.setdefault(key, deque())
        while window and window[0] <= now - rule.window_seconds:
            window.popleft()
        if len(window) >= rule.limit:
            return window[0] + rule.window_seconds - now
        window.append(now)
        return None


@dataclass
class TokenInfo:
    expires: float  # real epoch seconds
    audience: str


# --------------------------------------------------------------------------------------------------- state


class SandboxState:
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
        self._seed: Mapping[str, Any] | None = data if isinstance(data, Mapping) else None
        self.data_path = Path(data) if isinstance(data, str | Path) and data else DEFAULT_DATA
        self.clock = clock or SandboxClock(time_scale)
        self._overrides = settings or {}
        # (event name, customer id, "migration" | "schedule", id): set by sandbox.webhooks to send deliveries.
        self.emit_hook: Callable[[str, str, str, str], None] | None = None
        self.load()

    # ----------------------------------------------------------------------------------- loading

    def load(self) -> None:
        """(Re)load the seed data. Migrations, schedules, limits, idempotency records and faults start over (faults
        from the settings); access and refresh tokens already issued stay valid."""
        with self.lock:
            raw = self._seed if self._seed is not None else (
                yaml.safe_load(self.data_path.read_text(encoding="utf-8")) or {}
            )
            partner = raw.get("partner") or {}
            settings: dict[str, Any] = {**(raw.get("settings") or {}), **self._overrides}
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
        created = _relative(s.get("created", "-400d"), anchor)
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
            term_end=_relative(s.get("term_end", "+180d"), anchor),
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
    def collection(items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
        return {
            "totalCount": len(items),
            "items": items,
            "links": {"self": {"uri": uri, "method": "GET", "headers": []}},
            "attributes": {"objectType": "Collection"},
        }

    # ----------------------------------------------------------------------------------- parsing

    def parse_item(self, body: Any, where: str = "body") -> dict[str, Any]:
        """Validate one (lower-cased) migration entry; returns the given fields, normalised."""
        if not isinstance(body, dict):
            raise bad_request(f"The {where} must be a JSON object.")
        out: dict[str, Any] = {"sub_id": require_guid(body.get("currentsubscriptionid"), "currentSubscriptionId")}
        term = body.get("termduration")
        if term is not None:
            if not isinstance(term, str) or term.upper() not in TERM_MONTHS:
                raise bad_request(f"termDuration {term!r} is not one of P1M, P1Y, P3Y.")
            out["term"] = term.upper()
        billing = body.get("billingcycle")
        if billing is not None:
            if not isinstance(billing, str) or billing.lower() not in BILLING_OUT:
                raise bad_request(f"billingCycle {billing!r} is not one of Monthly, Annual, Triennial.")
            out["billing"] = billing.lower()
        pft = body.get("purchasefullterm")
        if pft is not None:
            if not isinstance(pft, bool):
                raise bad_request("purchaseFullTerm must be true or false.")
            out["pft"] = pft
        quantity = body.get("quantity")
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise bad_request(f"quantity must be a positive integer; got {quantity!r}.")
            out["quantity"] = quantity
        if body.get("customtermenddate") is not None:
            out["custom_end"] = parse_datetime(body["customtermenddate"], "customTermEndDate")
        return out

    def make_item(self, sub: Subscription, given: dict[str, Any]) -> Item:
        offer = self.offers.get(sub.offer_id.lower())
        return Item(
            sub_id=sub.id,
            term=given.get("term", sub.term_duration),
            billing=given.get("billing", sub.billing_cycle),
            quantity=given.get("quantity", sub.quantity),
            purchase_full_term=given.get("pft", False),
            custom_end=given.get("custom_end"),
            catalog_item_id=offer.nce if offer else None,
        )

    # ----------------------------------------------------------------------------------- eligibility

    def eligibility(
        self, customer: Customer, sub: Subscription, item: Item, now: datetime, term_checks: bool = True
    ) -> list[tuple[int, str, int]]:
        """Problems as (eligibility code, description, Partner Center error code for create)."""
        errors: list[tuple[int, str, int]] = []

        def add(code: int, description: str | None = None, create_code: int | None = None) -> None:
            errors.append((code, description or DESCRIPTIONS[code], create_code or CREATE_ERRORS[code][1]))

        offer = self.offers.get(sub.offer_id.lower())
        if sub.is_nce:
            add(5, "Subscription is already a New Commerce subscription.")
            return errors
        if sub.migrating or sub.processing:
            add(1)
        elif sub.status != "active":
            add(0)
        if sub.is_trial:
            add(5, "Trial subscriptions cannot be migrated to New Commerce; convert the trial to paid first.")
        if sub.promotion_id:
            add(3)
        if offer is None or not offer.nce:
            add(5)
        if now - sub.created < timedelta(days=30):
            add(7)
        if sub.trade_blocked:
            add(8)
        if sub.invalid_partner_id:
            add(9)
        if term_checks:
            remaining = sub.term_end - now
            if remaining < timedelta(hours=1):
                add(2)
            elif remaining < timedelta(hours=24) and not item.purchase_full_term:
                add(10)
        allowed = TERM_BILLING.get(item.term, [])
        if offer and offer.terms is not None:
            allowed = [b for b in allowed if b in offer.terms.get(item.term, [])]
        if item.billing not in allowed:
            add(
                6,
                f"The combination of term duration {item.term} and billing cycle "
                f"{BILLING_OUT.get(item.billing, item.billing)} is not supported for this New Commerce offer.",
            )
        first_term_end = add_months(now, TERM_MONTHS[item.term]) if item.purchase_full_term else sub.term_end
        item.end_date = first_term_end
        if item.custom_end is not None:
            end = item.custom_end
            anchors = {
                s.term_end.date()
                for s in customer.subs.values()
                if s.is_nce and s.status == "active" and not s.is_trial
            }
            if not (is_month_end(end.date()) or end.date() in anchors):
                add(
                    12,
                    f"The customTermEndDate {end.date()} must align with the end date of an existing active non-trial "
                    "OnlineServicesNCE subscription of this customer or with the end of a calendar month.",
                )
            elif end <= now:
                add(11, f"The customTermEndDate {end.date()} is invalid: it lies in the past.", 900242)
            elif end.date() > first_term_end.date():
                add(
                    11,
                    f"The customTermEndDate {end.date()} is not within the first term, which ends "
                    f"{first_term_end.date()}.",
                    900291,
                )
            else:
                item.end_date = end
        return errors

    def _bundle(
        self, customer: Customer, base: Subscription, addons: list[dict[str, Any]] | None, strict: bool
    ) -> tuple[list[tuple[Subscription, dict[str, Any]]], list[str]]:
        """Resolve the add-ons of a request. Returns (add-on entries, missing active add-on ids)."""
        active = self.descendants(customer, base.id, active=True)
        if addons is None:
            return [(sub, {}) for sub in active], []
        seen: set[str] = set()
        dupes: set[str] = set()
        for entry in addons:
            (dupes if entry["sub_id"] in seen else seen).add(entry["sub_id"])
        if dupes:
            raise ApiError(
                400, 900248, f"addOnMigrations contains duplicate subscription ids: {', '.join(sorted(dupes))}."
            )
        below = {s.id for s in self.descendants(customer, base.id)}
        out: list[tuple[Subscription, dict[str, Any]]] = []
        for entry in addons:
            sub = customer.subs.get(entry["sub_id"])
            if sub is None or sub.id not in below or sub.status != "active":
                raise ApiError(
                    400,
                    900262,
                    f"Add-on subscription {entry['sub_id']} in addOnMigrations does not exist, is not an add-on of "
                    f"{base.id} or is not active.",
                )
            out.append((sub, entry))
        missing = [s.id for s in active if s.id not in seen]
        if missing and strict:
            raise ApiError(
                400,
                900219,
                f"Subscription {base.id} has active add-ons that must be migrated with it; add them to "
                f"addOnMigrations: {', '.join(missing)}.",
            )
        return out, missing

    def _parse_request(self, body: Any, addon_key: str) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        top = self.parse_item(body)
        raw_addons = body.get(addon_key)
        if raw_addons is None and addon_key == "addonmigrationschedules":
            raw_addons = body.get("addonmigrations")  # the docs example uses this name for schedules too
        if raw_addons is None:
            return top, None
        if not isinstance(raw_addons, list):
            raise bad_request(f"{addon_key} must be a JSON array.")
        return top, [self.parse_item(a, "add-on entry") for a in raw_addons]

    def _check_create(
        self, customer: Customer, body: Any, addon_key: str, now: datetime, term_checks: bool = True
    ) -> list[Item]:
        """Everything create and schedule share: parse, resolve bundle, eligibility → 4xx on any problem."""
        top, addons = self._parse_request(body, addon_key)
        base = self.subscription(customer, top["sub_id"])
        entries, _ = self._bundle(customer, base, addons, strict=True)
        recent = self.recent_addons(customer, base, now)
        if recent and not base.is_nce:
            raise ApiError(
                400,
                900219,
                f"An add-on of subscription {base.id} was purchased within the last 30 days ({', '.join(recent)}); "
                "the subscription and its add-ons cannot be migrated until 30 days after that purchase.",
                [{"code": 4, "description": DESCRIPTIONS.get(4, "add-ons present")}],
            )
        items = [self.make_item(base, top)] + [self.make_item(sub, given) for sub, given in entries]
        subs = [base] + [sub for sub, _ in entries]
        for sub, item in zip(subs, items, strict=True):
            problems = self.eligibility(customer, sub, item, now, term_checks)
            if problems:
                code, description, create_code = problems[0]
                status = CREATE_ERRORS[code][0]
                if sub is not base:
                    status, create_code = 400, 900221
                    description = f"Add-on {sub.id} cannot be migrated: {description}"
                raise ApiError(
                    status, create_code, description, [{"code": c, "description": d} for c, d, _ in problems]
                )
        return items

    # ----------------------------------------------------------------------------------- validate

    def validate(self, customer_id: str, body: Any) -> dict[str, Any]:
        customer = self.customer(customer_id)
        top, addons = self._parse_request(body, "addonmigrations")
        base = self.subscription(customer, top["sub_id"])
        now = self.now()
        entries, missing = self._bundle(customer, base, addons, strict=False)
        base_item = self.make_item(base, top)
        base_errors = [(c, d) for c, d, _ in self.eligibility(customer, base, base_item, now)]
        results = []
        for sub, given in entries:
            item = self.make_item(sub, given)
            errs = [(c, d) for c, d, _ in self.eligibility(customer, sub, item, now)]
            results.append(self._validation_json(item, errs))
        bad_addons = [r["currentSubscriptionId"] for r in results if not r["isEligible"]]
        recent = self.recent_addons(customer, base, now)
        if recent:
            base_errors.append(
                (
                    4,
                    f"An add-on was purchased within the last 30 days ({', '.join(recent)}); the "
                    "subscription and its add-ons cannot be migrated until 30 days after that purchase.",
                )
            )
        elif bad_addons:
            base_errors.append(
                (4, f"Subscription has add-ons that are not eligible for migration: {', '.join(bad_addons)}.")
            )
        if missing:
            base_errors.append(
                (4, f"All active add-ons must be migrated with the subscription; missing: {', '.join(missing)}.")
            )
        answer = self._validation_json(base_item, base_errors)
        if results:
            answer["addOnMigrations"] = results
        return answer

    @staticmethod
    def _validation_json(item: Item, errors: list[tuple[int, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "currentSubscriptionId": item.sub_id,
            "isEligible": not errors,
            "termDuration": item.term,
            "billingCycle": BILLING_OUT.get(item.billing, item.billing),
        }
        if item.catalog_item_id:
            body["catalogItemId"] = item.catalog_item_id
        if item.custom_end:
            body["customTermEndDate"] = iso(item.custom_end)
        if errors:
            body["errors"] = [{"code": code, "description": description} for code, description in errors]
        return body

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

    @staticmethod
    def _page(
        kind: str, rows: list[dict[str, Any]], size: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        offset = decode_token(token, kind) if token else 0
        nxt = offset + size
        return rows[offset:nxt], (encode_token(kind, nxt) if nxt < len(rows) else None)

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

    # ----------------------------------------------------------------------------------- schedules

    def _schedule_fields(self, body: Any) -> tuple[datetime | None, bool]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        target_raw = body.get("targetdate")
        renewal = body.get("migrateonrenewal")
        if renewal is not None and not isinstance(renewal, bool):
            raise bad_request("migrateOnRenewal must be true or false.")
        target = parse_datetime(target_raw, "targetDate") if target_raw is not None else None
        if (target is None) == (renewal is not True):
            raise bad_request("Exactly one of targetDate or migrateOnRenewal=true is required.")
        return target, bool(renewal)

    def _check_target(self, sub: Subscription, target: datetime | None, now: datetime) -> None:
        if target is None:
            return
        if target <= now:
            raise bad_request(f"targetDate {iso(target)} must be in the future.")
        if target > sub.term_end:
            raise bad_request(
                f"targetDate {iso(target)} must not be after the subscription's term end {iso(sub.term_end)}."
            )

    def create_schedule(self, customer_id: str, body: Any, request_id: str | None) -> tuple[int, dict[str, Any]]:
        customer = self.customer(customer_id)
        now = self.now()
        target, renewal = self._schedule_fields(body)
        items = self._check_create(customer, body, "addonmigrationschedules", now, term_checks=False)
        base = customer.subs[items[0].sub_id]
        self._check_target(base, target, now)
        for other in self.schedules.values():
            if other.status == "Created" and other.items[0].sub_id == base.id:
                raise ApiError(
                    409,
                    900278,
                    f"Subscription {base.id} already has an active migration schedule ({other.id}). Update or cancel "
                    "that schedule instead.",
                    [{"scheduleId": other.id}],
                )
        ext = body.get("externalreferenceid")
        schedule = Schedule(
            id=str(uuid.uuid4()),
            customer_id=customer.id,
            items=items,
            target_date=target,
            migrate_on_renewal=renewal,
            created=now,
            modified=now,
            subscription_end=base.term_end,
            external_reference_id=ext if isinstance(ext, str) else None,
            request_id=request_id,
        )
        self.schedules[schedule.id] = schedule
        return 201, schedule.to_json()

    def _schedule(self, customer_id: str, schedule_id: str) -> Schedule:
        customer = self.customer(customer_id)
        schedule = self.schedules.get(schedule_id.lower())
        if schedule is None or schedule.customer_id != customer.id:
            raise ApiError(400, 900224, f"New commerce migration schedule {schedule_id} was not found.")
        return schedule

    def get_schedule(self, customer_id: str, schedule_id: str) -> dict[str, Any]:
        return self._schedule(customer_id, schedule_id).to_json()

    def list_schedules(self, query: dict[str, str], token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self._query("schedules", list(self.schedules.values()), query, token)

    def update_schedule(self, customer_id: str, schedule_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        schedule = self._schedule(customer_id, schedule_id)
        customer = self.customers[schedule.customer_id]
        now = self.now()
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        given = body.get("currentsubscriptionid")
        if given is None:
            raise bad_request("currentSubscriptionId is required.")
        if str(given).lower() != schedule.items[0].sub_id:
            raise bad_request("currentSubscriptionId cannot be changed when updating a migration schedule.")
        if schedule.status != "Created":
            ran = " (its target date has passed and it has run)" if schedule.status in ("Completed", "Failed") else ""
            raise bad_request(
                f"The migration schedule is {schedule.status}{ran} and can no longer be updated; a schedule can only "
                "be updated before its target date."
            )
        if schedule.due() <= now:
            raise bad_request("The migration schedule can only be updated before its target date.")
        target, renewal = self._schedule_fields(body)
        if "addonmigrationschedules" not in body and "addonmigrations" not in body and len(schedule.items) > 1:
            body = {
                **body,
                "addonmigrationschedules": [{"currentsubscriptionid": i.sub_id} for i in schedule.items[1:]],
            }
        base = customer.subs[schedule.items[0].sub_id]
        items = self._check_create(customer, body, "addonmigrationschedules", now, term_checks=False)
        self._check_target(base, target, now)
        schedule.items = items
        schedule.target_date = target
        schedule.migrate_on_renewal = renewal
        schedule.modified = now
        ext = body.get("externalreferenceid")
        if isinstance(ext, str):
            schedule.external_reference_id = ext
        return 201, schedule.to_json()

    def cancel_schedule(self, customer_id: str, schedule_id: str) -> dict[str, Any]:
        schedule = self._schedule(customer_id, schedule_id)
        if schedule.status in ("Completed", "Failed"):
            raise bad_request(f"The migration schedule has already run ({schedule.status}) and cannot be cancelled.")
        if schedule.status != "Cancelled":
            schedule.status = "Cancelled"
            schedule.modified = self.now()
        return schedule.to_json()

    def _execute_schedule(self, schedule: Schedule) -> None:
        customer = self.customers[schedule.customer_id]
        at = schedule.due()
        entries: list[dict[str, Any]] = []
        for item in schedule.items:  # re-checked as the create request the schedule stands for
            entry = {
                "currentsubscriptionid": item.sub_id,
                "termduration": item.term,
                "billingcycle": item.billing,
                "quantity": item.quantity,
                "purchasefullterm": item.purchase_full_term,
            }
            if item.custom_end:
                entry["customtermenddate"] = iso(item.custom_end)
            entries.append(entry)
        body = {**entries[0], "addonmigrations": entries[1:]}
        try:
            items = self._check_create(customer, body, "addonmigrations", at, term_checks=False)
        except ApiError as exc:
            schedule.status = "Failed"
            schedule.error_code = exc.code
            schedule.error_description = exc.description
            schedule.modified = at
            self._emit("new-commerce-migration-schedule-failed", schedule.customer_id, "schedule", schedule.id)
            return
        migration = self._start_migration(
            customer,
            items,
            at,
            external_reference_id=schedule.external_reference_id,
            microsoft_led=schedule.microsoft_led,
            schedule_id=schedule.id,
            source="schedule",
        )
        schedule.status = "Completed"
        schedule.migration_id = migration.id
        schedule.modified = at

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

    def _emit(self, event: str, customer_id: str, kind: str, item_id: str) -> None:
        if self.emit_hook is not None:
            self.emit_hook(event, customer_id, kind, item_id)

    # ----------------------------------------------------------------------------------- faults

    def take_fault(self, name: str) -> bool:
        """Consume one count of a "next N" fault (``webhook_drop``…); True when it applies now."""
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def set_faults(self, values: dict[str, Any]) -> None:
        with self.lock:
            self.faults.update(values)
            if "error_seed" in values:
                self._rng = random.Random(values["error_seed"])

    def clear_faults(self) -> None:
        with self.lock:
            self.faults = Faults()
            self._rng = random.Random()

    def injected_error(self, path: str) -> int | None:
        """HTTP status to inject for this request (5xx), or None."""
        with self.lock:
            f = self.faults
            if f.error_path and f.error_path not in path:
                return None
            if f.fail_next > 0:
                f.fail_next -= 1
                return f.error_status
            if f.error_rate > 0 and self._rng.random() < f.error_rate:
                return f.error_status
            return None

    def injected_throttle(self, path: str) -> int | None:
        with self.lock:
            f = self.faults
            if f.throttle_next > 0 and (not f.throttle_path or f.throttle_path in path):
                f.throttle_next -= 1
                return max(1, int(f.retry_after))
            return None

    def take_commit_timeout(self) -> float:
        with self.lock:
            f = self.faults
            if f.commit_then_timeout <= 0:
                return 0.0
            if f.commit_then_timeout_next is not None:
                if f.commit_then_timeout_next <= 0:
                    return 0.0
                f.commit_then_timeout_next -= 1
            return float(f.commit_then_timeout)
