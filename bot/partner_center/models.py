"""Typed shapes of the Partner Center NCE migration API.

Field names on the wire are the API's camelCase; Python code uses snake_case. Every model accepts unknown
fields (Partner Center adds fields without notice) and every "enum" accepts unknown values and any letter
case, because the API has been seen to answer both ``"Monthly"`` and ``"monthly"``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: str | None) -> bool:
    return bool(value) and bool(_GUID.match(value or ""))


def _utc(value: datetime | None) -> datetime | None:
    # The API mixes naive ("2022-10-30T00:00:00") and offset timestamps; naive ones are UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


UtcDateTime = Annotated[datetime, AfterValidator(_utc)]


def numeric_code(value: Any) -> Any:
    # The docs type error codes as strings, real answers send integers ("5" and 5 are the same reason).
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


ErrorCode = Annotated[int | str, BeforeValidator(numeric_code)]

E = TypeVar("E", bound=StrEnum)


def _tolerant(enum: type[E]) -> Any:
    """Validator mapping a string to ``enum`` case-insensitively, keeping unknown values as plain strings."""

    lookup = {member.value.lower(): member for member in enum}

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            return lookup.get(value.lower(), value)
        return value

    return BeforeValidator(convert)


class MigrationStatus(StrEnum):
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    FAILED = "Failed"


class ScheduleStatus(StrEnum):
    CREATED = "Created"
    CANCELLED = "Cancelled"
    # Not documented; what the sandbox reports once a schedule has run or failed.
    COMPLETED = "Completed"
    FAILED = "Failed"


class BillingCycle(StrEnum):
    UNKNOWN = "unknown"
    MONTHLY = "monthly"
    ANNUAL = "annual"
    TRIENNIAL = "triennial"
    BIENNIAL = "biennial"
    ONE_TIME = "oneTime"
    NONE = "none"


class TermDuration(StrEnum):
    P1M = "P1M"
    P1Y = "P1Y"
    P3Y = "P3Y"


class SubscriptionStatus(StrEnum):
    NONE = "none"
    ACTIVE = "active"
    PENDING = "pending"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    DISABLED = "disabled"
    DELETED = "deleted"


class MigrationEventName(StrEnum):
    MIGRATION_STARTED = "MigrationStarted"
    NCE_SUBSCRIPTION_CREATED = "NewCommerceSubscriptionCreated"
    NCE_SUBSCRIPTION_PROVISIONED = "NewCommerceSubscriptionProvisioned"
    MIGRATION_COMPLETED = "MigrationCompleted"
    MIGRATION_FAILED = "MigrationFailed"


MigrationStatusValue = Annotated[MigrationStatus | str, _tolerant(MigrationStatus)]
ScheduleStatusValue = Annotated[ScheduleStatus | str, _tolerant(ScheduleStatus)]
BillingCycleValue = Annotated[BillingCycle | str, _tolerant(BillingCycle)]
TermDurationValue = Annotated[TermDuration | str, _tolerant(TermDuration)]
SubscriptionStatusValue = Annotated[SubscriptionStatus | str, _tolerant(SubscriptionStatus)]
EventNameValue = Annotated[MigrationEventName | str, _tolerant(MigrationEventName)]


class PartnerCenterModel(BaseModel):
    """Base: camelCase aliases, unknown fields kept, population by either name."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        use_enum_values=False,
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON body Partner Center expects: camelCase names, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


A = TypeVar("A", bound=PartnerCenterModel)


def _flatten_addons(items: list[A] | None, kind: type[A], nested_keys: tuple[str, ...]) -> list[A] | None:
    """One flat list: add-ons of add-ons (nested under any of ``nested_keys``) move up beside their parent.

    Partner Center wants nested add-ons flat in the top-level list, never nested. The same add-on listed twice
    with the same settings is sent once; listed twice with different settings it is refused here (the API
    would answer 900248).
    """
    if items is None:
        return None
    flat: list[A] = []
    seen: dict[str, dict[str, Any]] = {}
    pending: list[Any] = list(items)
    while pending:
        item = pending.pop(0)
        addon = item if isinstance(item, kind) else kind.model_validate(item)
        extra = addon.__pydantic_extra__ or {}
        children: list[Any] = []
        for key in nested_keys:
            nested = extra.pop(key, None)
            if isinstance(nested, list):
                children.extend(nested)
            elif nested is not None:
                raise ValueError(f"{key} of an add-on must be a list")
        wire = addon.to_api()
        shown = str(wire.pop("currentSubscriptionId", ""))
        if shown.lower() in seen:
            if seen[shown.lower()] != wire:
                raise ValueError(f"add-on {shown} is listed twice with different settings")
        else:
            seen[shown.lower()] = wire
            flat.append(addon)
        # Depth-first: children right after their parent, in the order given.
        pending[0:0] = children
    return flat


# --- validate / create -----------------------------------------------------------------------------------


class SubscriptionTerms(PartnerCenterModel):
    """The subscription and the NCE terms it moves to: what every validate, migration and schedule body, and each
    of their add-ons, carries (one definition: the four bodies differ only in what they add)."""

    current_subscription_id: str
    term_duration: TermDurationValue | None = None
    billing_cycle: BillingCycleValue | None = None
    purchase_full_term: bool | None = None
    quantity: int | None = None
    custom_term_end_date: UtcDateTime | None = None


class AddOnMigration(SubscriptionTerms):
    """One add-on in the flat ``addOnMigrations`` list of a migration or validation request."""


class MigrationRequest(SubscriptionTerms):
    """Body of validate and create migration. Add-ons, nested or not, go in one flat list."""

    external_reference_id: str | None = None
    add_on_migrations: list[AddOnMigration] | None = None

    @model_validator(mode="after")
    def _flat_addons(self) -> MigrationRequest:
        self.add_on_migrations = _flatten_addons(
            self.add_on_migrations, AddOnMigration, ("addOnMigrations", "add_on_migrations")
        )
        return self


class EligibilityError(PartnerCenterModel):
    code: ErrorCode
    description: str = ""


class MigrationValidation(PartnerCenterModel):
    """Answer of validate: eligibility, reasons and the target NCE catalog item."""

    current_subscription_id: str | None = None
    is_eligible: bool = False
    term_duration: TermDurationValue | None = None
    billing_cycle: BillingCycleValue | None = None
    catalog_item_id: str | None = None
    custom_term_end_date: UtcDateTime | None = None
    errors: list[EligibilityError] = Field(default_factory=list)
    add_on_migrations: list[MigrationValidation] = Field(default_factory=list)

    def flat_add_ons(self) -> dict[str, MigrationValidation]:
        """Every add-on's answer, nested ones included, by lower-case subscription id."""
        flat: dict[str, MigrationValidation] = {}
        stack = list(self.add_on_migrations)
        while stack:
            item = stack.pop()
            if item.current_subscription_id:
                flat[item.current_subscription_id.lower()] = item
            stack.extend(item.add_on_migrations)
        return flat

    @property
    def all_errors(self) -> list[tuple[str | None, EligibilityError]]:
        """Reasons of the base and of every add-on, each with the subscription it concerns."""
        found = [(self.current_subscription_id, err) for err in self.errors]
        for addon in self.add_on_migrations:
            found.extend(addon.all_errors)
        return found


class Migration(PartnerCenterModel):
    """A migration (create response, get by id, query items)."""

    id: str | None = None
    started_time: UtcDateTime | None = None
    completed_time: UtcDateTime | None = None
    current_subscription_id: str | None = None
    status: MigrationStatusValue | None = None
    customer_tenant_id: str | None = None
    catalog_item_id: str | None = None
    new_commerce_subscription_id: str | None = None
    new_commerce_order_id: str | None = None
    subscription_end_date: UtcDateTime | None = None
    quantity: int | None = None
    term_duration: TermDurationValue | None = None
    billing_cycle: BillingCycleValue | None = None
    purchase_full_term: bool | None = None
    custom_term_end_date: UtcDateTime | None = None
    external_reference_id: str | None = None
    microsoft_led: bool | None = None
    error_code: ErrorCode | None = None
    error_description: str | None = None
    add_on_migrations: list[Migration] = Field(default_factory=list)

    @property
    def is_final(self) -> bool:
        return self.status in (MigrationStatus.COMPLETED, MigrationStatus.FAILED)


class MigrationEvent(PartnerCenterModel):
    id: str | None = None
    new_commerce_migration_id: str | None = None
    current_subscription_id: str | None = None
    customer_tenant_id: str | None = None
    created_time: UtcDateTime | None = None
    event_name: EventNameValue | None = None


# --- schedules -------------------------------------------------------------------------------------------


class AddOnMigrationSchedule(SubscriptionTerms):
    """One add-on in the flat ``addOnMigrationSchedules`` list of a schedule request."""


class MigrationScheduleRequest(SubscriptionTerms):
    """Body of create and update schedule: exactly one of ``target_date`` / ``migrate_on_renewal``.

    For update, ``id`` and the unchanged ``current_subscription_id`` are sent too (as BAM does).
    """

    id: str | None = None
    target_date: UtcDateTime | None = None
    migrate_on_renewal: bool | None = None
    external_reference_id: str | None = None
    add_on_migration_schedules: list[AddOnMigrationSchedule] | None = None

    @staticmethod
    def timing(target_date: datetime | None, on_renewal: bool) -> dict[str, Any]:
        """Exactly one of the two: a date, or ``migrateOnRenewal`` (then no date is sent)."""
        return {"target_date": None if on_renewal else target_date, "migrate_on_renewal": True if on_renewal else None}

    @model_validator(mode="after")
    def _flat_addons(self) -> MigrationScheduleRequest:
        keys = ("addOnMigrationSchedules", "add_on_migration_schedules", "addOnMigrations", "add_on_migrations")
        extra = self.__pydantic_extra__ or {}
        # The docs' schedule example names the list addOnMigrations; the API model is addOnMigrationSchedules.
        misnamed = [item for key in keys[2:] for item in (extra.pop(key, None) or [])]
        if misnamed:
            self.add_on_migration_schedules = [*(self.add_on_migration_schedules or []), *misnamed]
        self.add_on_migration_schedules = _flatten_addons(self.add_on_migration_schedules, AddOnMigrationSchedule, keys)
        return self


class MigrationSchedule(PartnerCenterModel):
    id: str | None = None
    current_subscription_id: str | None = None
    subscription_end_date: UtcDateTime | None = None
    status: ScheduleStatusValue | None = None
    customer_tenant_id: str | None = None
    catalog_item_id: str | None = None
    quantity: int | None = None
    term_duration: TermDurationValue | None = None
    billing_cycle: BillingCycleValue | None = None
    purchase_full_term: bool | None = None
    custom_term_end_date: UtcDateTime | None = None
    target_date: UtcDateTime | None = None
    migrate_on_renewal: bool | None = None
    created_time: UtcDateTime | None = None
    last_modified_time: UtcDateTime | None = None
    external_reference_id: str | None = None
    new_commerce_migration_id: str | None = None
    error_code: ErrorCode | None = None
    error_description: str | None = None
    microsoft_led: bool | None = None
    add_on_migration_schedules: list[MigrationSchedule] = Field(default_factory=list)


# --- customers and subscriptions -------------------------------------------------------------------------


class CompanyProfile(PartnerCenterModel):
    tenant_id: str | None = None
    domain: str | None = None
    company_name: str | None = None


class Customer(PartnerCenterModel):
    id: str
    company_profile: CompanyProfile | None = None
    relationship_to_partner: str | None = None

    @property
    def display_name(self) -> str:
        profile = self.company_profile
        return (profile.company_name or profile.domain or self.id) if profile else self.id


class ProductType(PartnerCenterModel):
    id: str | None = None
    display_name: str | None = None


class RefundOption(PartnerCenterModel):
    """``refundOptions[]`` of an NCE subscription; the docs name the date ``expiresAt`` and ``expiresAfter``."""

    type: str | None = None
    expires_at: UtcDateTime | None = None
    expires_after: UtcDateTime | None = None

    @property
    def expires(self) -> datetime | None:
        return self.expires_at or self.expires_after


class CustomTermEndDate(PartnerCenterModel):
    """One item of ``GET …/subscriptions/customTermEndDates``."""

    allowed_custom_term_end_date_type: str | None = None
    allowed_custom_term_end_date: UtcDateTime
    coterm_subscription_ids: list[str] = Field(default_factory=list)


class Subscription(PartnerCenterModel):
    id: str
    offer_id: str | None = None
    offer_name: str | None = None
    friendly_name: str | None = None
    quantity: int | None = None
    unit_type: str | None = None
    status: SubscriptionStatusValue | None = None
    term_duration: TermDurationValue | None = None
    billing_cycle: BillingCycleValue | None = None
    commitment_end_date: UtcDateTime | None = None
    commitment_end_date_time: UtcDateTime | None = None
    effective_start_date: UtcDateTime | None = None
    creation_date: UtcDateTime | None = None
    auto_renew_enabled: bool | None = None
    is_trial: bool | None = None
    parent_subscription_id: str | None = None
    has_purchasable_addons: bool | None = None
    promotion_id: str | None = None
    partner_id: str | None = None
    product_type: ProductType | None = None
    order_id: str | None = None
    migrated_from_subscription_id: str | None = None
    cancellation_allowed_until_date: UtcDateTime | None = None
    refund_options: list[RefundOption] | None = None

    @property
    def change_window_end(self) -> datetime | None:
        """Until when the subscription may be cancelled or reduced: ``cancellationAllowedUntilDate``, else the
        latest refund option's expiry (SPEC §10)."""
        if self.cancellation_allowed_until_date is not None:
            return self.cancellation_allowed_until_date
        ends = [o.expires for o in self.refund_options or [] if o.expires is not None]
        return max(ends) if ends else None

    @property
    def is_nce(self) -> bool:
        """NCE: offerId ``Product:Sku:Availability`` and product type OnlineServicesNCE (BAM's rule)."""
        display = (self.product_type.display_name or "") if self.product_type else ""
        return ":" in (self.offer_id or "") and display.lower() == "onlineservicesnce"

    @property
    def is_legacy(self) -> bool:
        """Legacy license-based: the offerId is a plain GUID."""
        return is_guid(self.offer_id)

    @property
    def is_addon(self) -> bool:
        return bool(self.parent_subscription_id)

    @property
    def name(self) -> str:
        return self.friendly_name or self.offer_name or self.id

    @property
    def term_end(self) -> date | None:
        moment = self.commitment_end_date_time or self.commitment_end_date
        return moment.date() if moment else None


T = TypeVar("T")


class ResourceCollection(PartnerCenterModel):
    """``{totalCount, items, links, attributes, continuationToken}`` envelope of customers/subscriptions."""

    total_count: int | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    continuation_token: str | None = None
