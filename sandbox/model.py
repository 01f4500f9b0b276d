"""Partner Center resources as the sandbox keeps them: constants, value helpers and the records (offers,
subscriptions, customers, migration items, migrations, schedules, tokens). No rules here: the rules live in
:mod:`sandbox.eligibility`, :mod:`sandbox.migrations` and :mod:`sandbox.schedules`; :mod:`sandbox.state` puts
them together."""

from __future__ import annotations

import base64
import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import deadlines
from sandbox.errors import bad_request

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


def relative(value: Any, anchor: datetime) -> datetime:
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
class TokenInfo:
    expires: float  # real epoch seconds
    audience: str


