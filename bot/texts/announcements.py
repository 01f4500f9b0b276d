"""The channel announcements of migrations and schedules of watched customers made outside ncebot (SPEC §5 step 7),
posted by the status tracker to the notify channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.mrkdwn import esc
from bot.texts.thread import day, sentence, when

if TYPE_CHECKING:  # read for their fields only (bot.texts is a layer under Partner Center and the domain)
    from bot.partner_center.models import Migration, MigrationSchedule


# The end of a migration's announcement, by its status (the tracker chooses).
def completed_tail(migration: Migration) -> str:
    return (f". New NCE subscription `{migration.new_commerce_subscription_id or '?'}`, "
            f"term ends {day(migration.subscription_end_date)}")


def failed_tail(migration: Migration) -> str:
    return f": {esc(migration.error_code)}: {esc(migration.error_description or 'no description')}"


def running_tail(migration: Migration) -> str:
    return f" (started {when(migration.started_time)})"


def migration_made_outside(customer_id: str, migration: Migration, status: str, tail: str) -> str:
    """``tail``: :func:`completed_tail`, :func:`failed_tail` or :func:`running_tail` of ``migration``."""
    who = "Microsoft-led migration" if migration.microsoft_led else "Migration"
    return sentence(
        f":eyes: {who} `{migration.id}` made outside ncebot for customer `{customer_id}`, legacy subscription "
        f"`{migration.current_subscription_id or '?'}`: *{esc(status)}*" + tail
    )


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
