"""The channel announcements of migrations and schedules of watched customers made outside ncebot (SPEC §5 step 7),
posted by the status tracker to the notify channel."""

from __future__ import annotations

from bot.mrkdwn import esc
from bot.partner_center.models import Migration, MigrationSchedule, MigrationStatus
from bot.texts.thread import day, sentence, when


def migration_made_outside(customer_id: str, migration: Migration, status: str) -> str:
    who = "Microsoft-led migration" if migration.microsoft_led else "Migration"
    text = (
        f":eyes: {who} `{migration.id}` made outside ncebot for customer `{customer_id}`, legacy subscription "
        f"`{migration.current_subscription_id or '?'}`: *{esc(status)}*"
    )
    if migration.status == MigrationStatus.COMPLETED:
        text += (f". New NCE subscription `{migration.new_commerce_subscription_id or '?'}`, "
                 f"term ends {day(migration.subscription_end_date)}")
    elif migration.status == MigrationStatus.FAILED:
        text += f": {esc(migration.error_code)}: {esc(migration.error_description or 'no description')}"
    else:
        text += f" (started {when(migration.started_time)})"
    return sentence(text)


def schedule_made_outside(customer_id: str, schedule: MigrationSchedule, status: str) -> str:
    who = "Microsoft-led migration schedule" if schedule.microsoft_led else "Migration schedule"
    runs = "on renewal" if schedule.migrate_on_renewal else f"on {day(schedule.target_date)}"
    text = (
        f":eyes: {who} `{schedule.id}` made outside ncebot for customer `{customer_id}`, legacy subscription "
        f"`{schedule.current_subscription_id or '?'}` ({runs}): *{esc(status)}*"
    )
    if schedule.error_code is not None:
        text += f": {esc(schedule.error_code)}: {esc(schedule.error_description or 'no description')}"
    return sentence(text)
