"""What the services need from Partner Center, as typed Protocols.

Services depend on these, not on :class:`bot.partner_center.client.PartnerCenterClient`, so a test can hand them
any object with the same methods (the real client over an in-process transport, see
``tests/fixtures/pc_inprocess.py``). The groups follow the client's modules; :class:`PartnerCenterApi` is all of
them. ``bot.partner_center.client`` checks, for mypy, that the client satisfies :class:`PartnerCenterApi`.

Each method is the client's, with the same signature: the client's docstrings say what they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from bot.partner_center.models import (
    Customer,
    CustomTermEndDate,
    Migration,
    MigrationEvent,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationValidation,
    Subscription,
    SubscriptionStatus,
)
from bot.partner_center.webhooks import ValidationResult, WebhookRegistration


class MigrationApi(Protocol):
    """NCE migrations: validate, create, read, query, events."""

    def validate_migration(
        self, customer_id: str, body: MigrationRequest, *, request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationValidation: ...

    def create_migration(
        self, customer_id: str, body: MigrationRequest, *, request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Migration: ...

    def get_migration(self, customer_id: str, migration_id: str) -> Migration: ...

    def query_migrations(
        self, *, customer_id: str | None = None, current_subscription_id: str | None = None,
        external_reference_id: str | None = None, microsoft_led: bool | None = None, page_size: int | None = None,
    ) -> list[Migration]: ...

    def get_migration_events(
        self, customer_id: str, *, migration_id: str | None = None, current_subscription_id: str | None = None,
    ) -> list[MigrationEvent]: ...


class ScheduleApi(Protocol):
    """Migration schedules: create, read, list, update, cancel."""

    def create_schedule(
        self, customer_id: str, body: MigrationScheduleRequest, *, request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule: ...

    def get_schedule(self, customer_id: str, schedule_id: str) -> MigrationSchedule: ...

    def list_schedules(
        self, *, customer_id: str | None = None, current_subscription_id: str | None = None,
        external_reference_id: str | None = None, microsoft_led: bool | None = None, page_size: int | None = None,
    ) -> list[MigrationSchedule]: ...

    def update_schedule(
        self, customer_id: str, schedule_id: str, body: MigrationScheduleRequest, *, request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule: ...

    def cancel_schedule(
        self, customer_id: str, schedule_id: str, *, request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule: ...


class CatalogueApi(Protocol):
    """Customers, subscriptions and add-ons (reads)."""

    def list_customers(self, *, page_size: int = 500) -> list[Customer]: ...

    def get_customer(self, customer_id: str) -> Customer: ...

    def list_subscriptions(self, customer_id: str) -> list[Subscription]: ...

    def get_subscription(self, customer_id: str, subscription_id: str) -> Subscription: ...

    # Not called today; /nce validate is to read the subscription and its add-ons only (issue #10, item 4).
    def list_addons(self, customer_id: str, subscription_id: str) -> list[Subscription]: ...


class SubscriptionChangeApi(Protocol):
    """Changes to an NCE subscription after migration (SPEC §10)."""

    def patch_subscription(
        self, customer_id: str, current: Subscription, *, quantity: int | None = None,
        status: SubscriptionStatus | None = None, request_id: str | None = None, correlation_id: str | None = None,
    ) -> Subscription: ...

    def custom_term_end_dates(
        self, customer_id: str, term_duration: str, *, term_start_date: date | None = None,
        target_coterm_subscription_id: str | None = None,
    ) -> list[CustomTermEndDate]: ...


class WebhookApi(Protocol):
    """The partner's webhook registration (SPEC §11)."""

    def get_webhook_registration(self) -> WebhookRegistration | None: ...

    def save_webhook_registration(self, url: str, events: Sequence[str], *, create: bool) -> WebhookRegistration: ...

    def send_webhook_validation(self) -> str: ...

    def webhook_validation_status(self, correlation_id: str) -> ValidationResult: ...


class PartnerCenterApi(MigrationApi, ScheduleApi, CatalogueApi, SubscriptionChangeApi, WebhookApi, Protocol):
    """Every Partner Center call a service makes."""
