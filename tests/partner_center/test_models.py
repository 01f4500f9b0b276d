"""Models: tolerant of unknown fields, unknown enum values and letter case; codes as numbers; add-ons flat."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from bot.partner_center.models import (
    AddOnMigration,
    BillingCycle,
    Migration,
    MigrationEvent,
    MigrationEventName,
    MigrationRequest,
    MigrationSchedule,
    MigrationScheduleRequest,
    MigrationStatus,
    MigrationValidation,
    ScheduleStatus,
    Subscription,
    SubscriptionStatus,
    TermDuration,
)


@pytest.mark.parametrize(
    ("model", "field", "raw", "expected"),
    [
        (Migration, "status", "PROCESSING", MigrationStatus.PROCESSING),
        (Migration, "status", "completed", MigrationStatus.COMPLETED),
        (Migration, "billingCycle", "MONTHLY", BillingCycle.MONTHLY),
        (Migration, "billingCycle", "OneTime", BillingCycle.ONE_TIME),
        (Migration, "termDuration", "p3y", TermDuration.P3Y),
        (MigrationSchedule, "status", "cancelled", ScheduleStatus.CANCELLED),
        (MigrationSchedule, "status", "CREATED", ScheduleStatus.CREATED),
        (Subscription, "status", "Active", SubscriptionStatus.ACTIVE),
        (Subscription, "billingCycle", "Annual", BillingCycle.ANNUAL),
        (MigrationEvent, "eventName", "migrationcompleted", MigrationEventName.MIGRATION_COMPLETED),
    ],
)
def test_known_values_in_any_case_become_the_enum(
    model: type[BaseModel], field: str, raw: str, expected: object
) -> None:
    base = {"id": "x"}
    value = getattr(model.model_validate({**base, field: raw}), to_snake(field))
    assert value is expected


def test_unknown_values_and_fields_are_kept_not_refused() -> None:
    migration = Migration.model_validate(
        {"id": "m", "status": "Queued", "billingCycle": "quadrennial", "termDuration": "P5Y", "newThing": {"a": 1}}
    )
    assert (migration.status, migration.billing_cycle, migration.term_duration) == ("Queued", "quadrennial", "P5Y")
    assert not isinstance(migration.status, MigrationStatus) and not migration.is_final
    assert migration.model_extra == {"newThing": {"a": 1}}

    schedule = MigrationSchedule.model_validate({"id": "s", "status": "Processed", "addOnMigrationSchedules": [
        {"id": "a", "status": "Failed", "extra": True}]})
    assert schedule.status == "Processed"
    assert schedule.add_on_migration_schedules[0].status is ScheduleStatus.FAILED

    sub = Subscription.model_validate({"id": "s", "status": "transferring", "productType": {"id": "x", "new": 1}})
    assert sub.status == "transferring" and sub.product_type is not None
    event = MigrationEvent.model_validate({"eventName": "MigrationRolledBack"})
    assert event.event_name == "MigrationRolledBack"


def test_numeric_string_codes_become_numbers() -> None:
    answer = MigrationValidation.model_validate(
        {
            "isEligible": False,
            "errors": [{"code": "5", "description": "no NCE offer"}, {"code": "Custom", "description": "?"}],
            "addOnMigrations": [{"currentSubscriptionId": "a", "isEligible": False, "errors": [{"code": 12}]}],
        }
    )
    assert [e.code for e in answer.errors] == [5, "Custom"]
    assert [(sid, e.code) for sid, e in answer.all_errors] == [(None, 5), (None, "Custom"), ("a", 12)]
    assert Migration.model_validate({"errorCode": "900225"}).error_code == 900225
    assert MigrationSchedule.model_validate({"errorCode": "900262"}).error_code == 900262


def test_nested_add_ons_are_sent_as_one_flat_list() -> None:
    request = MigrationRequest.model_validate(
        {
            "currentSubscriptionId": "base",
            "addOnMigrations": [
                {
                    "currentSubscriptionId": "A1",
                    "quantity": 2,
                    "addOnMigrations": [{"currentSubscriptionId": "A11", "addOnMigrations": [
                        {"currentSubscriptionId": "A111"}]}],
                },
                {"currentSubscriptionId": "A2"},
                {"currentSubscriptionId": "a1", "quantity": 2},  # the same add-on again, same settings: sent once
            ],
        }
    )
    assert request.to_api() == {
        "currentSubscriptionId": "base",
        "addOnMigrations": [
            {"currentSubscriptionId": "A1", "quantity": 2},
            {"currentSubscriptionId": "A11"},
            {"currentSubscriptionId": "A111"},
            {"currentSubscriptionId": "A2"},
        ],
    }
    # Built in Python with an add-on carrying its own add-ons: flattened too.
    built = MigrationRequest(
        current_subscription_id="base",
        add_on_migrations=[
            AddOnMigration(current_subscription_id="A1", add_on_migrations=[{"currentSubscriptionId": "B"}])
        ],
    )
    assert built.to_api()["addOnMigrations"] == [{"currentSubscriptionId": "A1"}, {"currentSubscriptionId": "B"}]
    # A stored body read back is unchanged.
    assert MigrationRequest.model_validate(request.to_api()).to_api() == request.to_api()

    with pytest.raises(ValidationError, match="A1 is listed twice with different settings"):
        MigrationRequest.model_validate(
            {
                "currentSubscriptionId": "base",
                "addOnMigrations": [{"currentSubscriptionId": "A1", "quantity": 1}, {"currentSubscriptionId": "A1"}],
            }
        )


def test_schedule_add_ons_use_the_schedule_name_and_are_flat() -> None:
    request = MigrationScheduleRequest.model_validate(
        {
            "currentSubscriptionId": "base",
            "migrateOnRenewal": True,
            "addOnMigrationSchedules": [{"currentSubscriptionId": "A1", "addOnMigrationSchedules": [
                {"currentSubscriptionId": "A11"}]}],
            # The docs' example calls the list addOnMigrations: it joins the one the API reads.
            "addOnMigrations": [{"currentSubscriptionId": "A2", "addOnMigrations": [{"currentSubscriptionId": "A21"}]}],
        }
    )
    wire = request.to_api()
    assert "addOnMigrations" not in wire
    assert wire["addOnMigrationSchedules"] == [
        {"currentSubscriptionId": "A1"},
        {"currentSubscriptionId": "A11"},
        {"currentSubscriptionId": "A2"},
        {"currentSubscriptionId": "A21"},
    ]
