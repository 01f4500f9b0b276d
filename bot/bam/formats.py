"""The CSV headers of Microsoft's NCE batch migration tool (BAM), verbatim, in BAM's column order.

Source: microsoft/Partner-Center-DotNet-Samples ``nce-bulk-migration-tool`` (``Models.cs``: CsvHelper writes the
property names in declaration order), unchanged since March 2023; see docs/reference partner-center-part2.md §3.
"""

from __future__ import annotations

from typing import Final


def _header(text: str) -> tuple[str, ...]:
    """A header row as BAM writes it (the reference quotes each one as one comma-joined line)."""
    return tuple(text.split(","))

#: ``subscriptions.csv`` (BAM step 2: export; step 3 reads it back to migrate now).
SUBSCRIPTIONS: Final[tuple[str, ...]] = _header(
    "PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,LegacySubscriptionName,"
    "LegacyProductName,ExpirationDate,AutoRenewEnabled,MigrationEligible,NcePsa,CurrentTerm,CurrentBillingPlan,"
    "CurrentSeatCount,StartNewTermInNce,Term,BillingPlan,SeatCount,CustomTermEndDate,AddOn,BaseSubscriptionId,"
    "MigrationIneligibilityReason"
)

#: ``subscriptionsforschedule.csv`` (step 6: export; step 7 reads it back to schedule migrations).
SUBSCRIPTIONS_FOR_SCHEDULE: Final[tuple[str, ...]] = _header(
    "PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,LegacySubscriptionName,"
    "LegacyProductName,ExpirationDate,AutoRenewEnabled,AddOn,BaseSubscriptionId,MigrationEligible,NcePsa,CurrentTerm,"
    "CurrentBillingPlan,CurrentSeatCount,StartNewTermInNce,Term,BillingPlan,SeatCount,CustomTermEndDate,TargetDate,"
    "MigrateOnRenewal,MigrationIneligibilityReason"
)

#: ``schedulemigrations.csv`` (step 8: export of schedules; step 9 reads it back and cancels ``Status=Cancel``
#: rows; ``output/cancelschedulemigrations`` has the same header).
SCHEDULE_MIGRATIONS: Final[tuple[str, ...]] = _header(
    "Id,CurrentSubscriptionId,Status,CustomerTenantId,CatalogItemId,SubscriptionEndDate,Quantity,TermDuration,"
    "BillingCycle,PurchaseFullTerm,CustomTermEndDate,TargetDate,MigrateOnRenewal,CreatedTime,LastModifiedTime,"
    "ExternalReferenceId,NewCommerceMigrationId,ErrorDescription,ErrorCode"
)

#: ``output/migrations/<file>_<batchId>.csv`` (step 3's results; also ``output/migrationstatus``).
OUTPUT_MIGRATIONS: Final[tuple[str, ...]] = _header(
    "PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,LegacySubscriptionName,"
    "LegacyProductName,ExpirationDate,AddOn,BaseSubscriptionId,MigrationStatus,StartedNewTermInNce,NCETermDuration,"
    "NCEBillingPlan,NCESeatCount,CustomTermEndDate,ErrorCode,ErrorReason,NCESubscriptionId,BatchId,MigrationId"
)

#: ``output/schedulemigrations/<file>_<batchId>.csv`` (step 7's results).
OUTPUT_SCHEDULE_MIGRATIONS: Final[tuple[str, ...]] = _header(
    "PartnerTenantId,IndirectResellerMpnId,CustomerName,CustomerTenantId,LegacySubscriptionId,LegacySubscriptionName,"
    "LegacyProductName,ExpirationDate,AddOn,StartedNewTermInNce,NCETermDuration,NCEBillingPlan,NCESeatCount,"
    "CustomTermEndDate,TargetDate,MigrateOnRenewal,MigrationScheduleStatus,MigrationScheduleId,BatchId,ErrorCode,"
    "ErrorReason"
)

#: ``MigrationStatus`` of a results row whose migration was never sent (a stopped campaign; SPEC §8.4).
NOT_SENT: Final = "NotSent"
