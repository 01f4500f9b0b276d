"""Migration schedules: create (one active per subscription), read, list, update, cancel, and running a due
schedule as the create request it stands for."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sandbox.errors import ApiError, bad_request
from sandbox.migrations import Migrations
from sandbox.model import Schedule, Subscription, iso, parse_datetime, require_guid


class Schedules(Migrations):
    """Schedule routes on top of migrations."""

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

    def create_schedule(
        self, customer_id: str, body: Any, request_id: str | None, *, schedule_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """``schedule_id``: keep this id (``POST /_sandbox/schedules``: schedules a BAM file names), not a new one."""
        if schedule_id is not None:
            schedule_id = require_guid(schedule_id, "id")
            if schedule_id in self.schedules:
                raise bad_request(f"A migration schedule with id {schedule_id} already exists.")
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
            id=schedule_id or str(uuid.uuid4()),
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
