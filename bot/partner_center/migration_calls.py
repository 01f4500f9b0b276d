"""Partner Center calls of the NCE migration API: validate, create, read and query migrations, their events, and
migration schedules (create, read, list, update, cancel)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.operations import OperationKind
from bot.partner_center.limiter import CREATE, VALIDATE
from bot.partner_center.models import (
    Migration,
    MigrationEvent,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationValidation,
)
from bot.partner_center.transport import CallCore, parse_item
from bot.partner_center.transport import quote_segment as _q


class MigrationCalls(CallCore):
    """Validate, create, read and query NCE migrations, and read their events."""

    def validate_migration(
        self,
        customer_id: str,
        body: MigrationRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationValidation:
        response = self._call(
            "validate_migration",
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/validate",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
            # GUIDs in any letter case name the same customer: one window per customer.
            limit=(VALIDATE, customer_id.strip().lower()),
        )
        return self._model(MigrationValidation, response)

    def create_migration(
        self,
        customer_id: str,
        body: MigrationRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Migration:
        response = self._call(
            OperationKind.CREATE_MIGRATION,
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
            limit=(CREATE, self._partner_key),
        )
        return self._model(Migration, response)

    def note_creates_elsewhere(self, ages: Iterable[float]) -> int:
        """Creates another process made ``age`` seconds ago count against this client's create window (the limit
        is per partner, whoever sends): called by a new lease holder with the creates its predecessor made."""
        return self._limiter.record_elsewhere(CREATE, self._partner_key, ages) if self._limiter is not None else 0

    def get_migration(self, customer_id: str, migration_id: str) -> Migration:
        response = self._call(
            "get_migration", "GET", f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/{_q(migration_id)}"
        )
        return self._model(Migration, response)

    def query_migrations(
        self,
        *,
        customer_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        microsoft_led: bool | None = None,
        page_size: int | None = None,
    ) -> list[Migration]:
        params = self._filters(customer_id, current_subscription_id, external_reference_id, microsoft_led, page_size)
        items = self._paged("query_migrations", "/v1/migrations/newcommerce", params)
        return [parse_item(Migration, item) for item in items]

    def get_migration_events(
        self,
        customer_id: str,
        *,
        migration_id: str | None = None,
        current_subscription_id: str | None = None,
    ) -> list[MigrationEvent]:
        if not migration_id and not current_subscription_id:
            raise ValueError("get_migration_events needs migration_id or current_subscription_id")
        # snake_case query names, as in the REST reference and the SDK (the docs table's PascalCase is wrong).
        params: dict[str, str] = {}
        if migration_id:
            params["migration_id"] = migration_id
        if current_subscription_id:
            params["current_subscription_id"] = current_subscription_id
        response = self._call(
            "get_migration_events",
            "GET",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/events",
            params=params,
        )
        return [parse_item(MigrationEvent, item) for item in self._page(response).items]


class ScheduleCalls(CallCore):
    """Migration schedules: create, read, list, update, cancel."""

    def create_schedule(
        self,
        customer_id: str,
        body: MigrationScheduleRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        self._check_schedule(body)
        response = self._call(
            OperationKind.CREATE_SCHEDULE,
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules",
            body=body.to_api(),
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    def get_schedule(self, customer_id: str, schedule_id: str) -> MigrationSchedule:
        response = self._call(
            "get_schedule",
            "GET",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}",
        )
        return self._model(MigrationSchedule, response)

    def list_schedules(
        self,
        *,
        customer_id: str | None = None,
        current_subscription_id: str | None = None,
        external_reference_id: str | None = None,
        microsoft_led: bool | None = None,
        page_size: int | None = None,
    ) -> list[MigrationSchedule]:
        params = self._filters(customer_id, current_subscription_id, external_reference_id, microsoft_led, page_size)
        items = self._paged("list_schedules", "/v1/migrations/newcommerce/schedules", params)
        return [parse_item(MigrationSchedule, item) for item in items]

    def update_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        body: MigrationScheduleRequest,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        self._check_schedule(body)
        if body.id is not None and body.id.lower() != schedule_id.lower():
            raise ValueError("body.id differs from schedule_id")
        # The API wants the whole object including its id (BAM does the same).
        payload = body.model_copy(update={"id": schedule_id}).to_api()
        response = self._call(
            OperationKind.UPDATE_SCHEDULE,
            "PUT",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}",
            body=payload,
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    def cancel_schedule(
        self,
        customer_id: str,
        schedule_id: str,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> MigrationSchedule:
        response = self._call(
            OperationKind.CANCEL_SCHEDULE,
            "POST",
            f"/v1/customers/{_q(customer_id)}/migrations/newcommerce/schedules/{_q(schedule_id)}/cancel",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        return self._model(MigrationSchedule, response)

    @staticmethod
    def _check_schedule(body: MigrationScheduleRequest) -> None:
        has_date = body.target_date is not None
        on_renewal = body.migrate_on_renewal is True
        if has_date == on_renewal:
            raise ValueError("a schedule needs exactly one of target_date or migrate_on_renewal=True")
