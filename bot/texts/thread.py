"""The replies ncebot writes in a request's thread as the request moves (submission, approvals, the status
tracker, settlement, campaigns), and the failure descriptions stored on a request (its message and reports show
them). Partner Center's and people's text is escaped here with :func:`bot.mrkdwn.esc`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.mrkdwn import esc

if TYPE_CHECKING:  # read for their fields only: bot.texts is a layer under Partner Center and the domain
    from bot.partner_center.models import Migration, MigrationEvent

# --- failure descriptions stored on a request (Partner Center gave none, or ncebot ended it) --------------------
PC_REPORTED_FAILED = "Partner Center reported Failed"
SCHEDULE_REPORTED_FAILED = "Partner Center reported the schedule failed"
CANCELLED_OUTSIDE = "cancelled outside ncebot"
CAMPAIGN_STOPPED_BEFORE_SENDING = "stopped before anything was sent"
CAMPAIGN_NONE_COMPLETED = "no migration of the campaign completed"


def cancelled_by_request(request_id: str, decided_by: str) -> str:
    return f"cancelled by request {request_id}{decided_by}"


# --- small formats ----------------------------------------------------------------------------------------------
def when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).date().isoformat() if moment else "?"


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop (Partner Center descriptions often end with one already)."""
    text = text.rstrip()
    while text.endswith(".."):
        text = text[:-1]
    return text if text.endswith((".", "!", "?")) else text + "."


def _who(requester: str | None) -> str:
    return f"<@{requester}> " if requester else ""


# --- submission, approvals --------------------------------------------------------------------------------------
PC_RETRYING = "Partner Center is not answering right now; ncebot will retry with the same MS-RequestId."


def rejected(requester: str, approver: str, reason: str) -> str:
    return f"<@{requester}> rejected by <@{approver}>: {esc(reason)}"


def refused(requester: str, code: object, description: object) -> str:
    """Partner Center refused every operation of the request: nothing was submitted."""
    return f"<@{requester}> Partner Center refused the request: {esc(code)}: {esc(description)}"


def submitted_schedule_created(schedule_id: str | None, migrates_when: str) -> str:
    return f"Submitted to Partner Center: schedule `{schedule_id}` created; the migration runs {migrates_when}."


def submitted_schedule_updated(schedule_id: str, migrates_when: str | None) -> str:
    """``migrates_when``: None when the change did not move the schedule's date."""
    return f"Submitted to Partner Center: schedule `{schedule_id}` updated" + (
        f"; the migration runs {migrates_when}." if migrates_when is not None else ".")


def submitted_schedule_cancelled(schedule_id: str) -> str:
    return f"Submitted to Partner Center: schedule `{schedule_id}` cancelled."


def submitted_bulk(count: int) -> str:
    return f"Submitted {count} migration(s) to Partner Center."


def submitted_migration(migration_id: str | None) -> str:
    return f"Submitted to Partner Center: migration id `{migration_id}`."


def submitted_subscription_cancelled(subscription_id: str) -> str:
    return f"Submitted to Partner Center: subscription `{subscription_id}` cancelled."


def submitted_seats_reduced(subscription_id: str, quantity: object) -> str:
    return f"Submitted to Partner Center: subscription `{subscription_id}` reduced to {quantity} seat(s)."


def submitted_footer(ms_request_id: str | None, refused_items: Iterable[tuple[str, object, object]]) -> str:
    """The MS-RequestId of the first call, then each refused (target, code, description)."""
    text = f" MS-RequestId `{ms_request_id}`."
    items = list(refused_items)
    if items:
        text += " Refused: " + "; ".join(
            f"`{target}`: {esc(code)}: {esc(description)}" for target, code, description in items
        )
    return text


def all_finished(requester: str, total: int, failed: int) -> str:
    return f"<@{requester}> All {total} migrations finished: {total - failed} completed, {failed} failed."


# --- migrations -------------------------------------------------------------------------------------------------
EVENT_TEXT = {
    "MigrationStarted": "Migration started: the legacy subscription is suspended and its billing stops.",
    "NewCommerceSubscriptionCreated": "The new commerce subscription was created.",
    "NewCommerceSubscriptionProvisioned": "The new commerce subscription was provisioned.",
    "MigrationCompleted": "Partner Center reports the migration completed.",
    "MigrationFailed": "Partner Center reports the migration failed.",
}
OTHER_EVENT = "Partner Center reported a migration event."


def _value(value: Any) -> str:
    return str(getattr(value, "value", value)) if value is not None else ""


def event_text(migration_id: str, event: MigrationEvent, *, with_id: bool = False) -> str:
    name = esc(_value(event.event_name) or "event")
    human = EVENT_TEXT.get(name, OTHER_EVENT)
    where = f" (migration `{migration_id}`)" if with_id else ""
    return f"`{name}` at {when(event.created_time)}{where}: {human}"


# What the reference (§11) says to do after a Failed migration, by the legacy subscription's status (the tracker
# chooses: bot.tracking.tracker.failure_next_step).
AFTER_FAILURE_ACTIVE = (
    "The legacy subscription is active again, so the migration may be retried (ask again with /nce migrate)."
)
AFTER_FAILURE_SUSPENDED = (
    "The legacy subscription is still suspended: Microsoft fixes or reverts the migration within 72 hours. "
    "Once reverted the legacy subscription is active again and the migration can be retried."
)
AFTER_FAILURE_UNKNOWN = (
    "If the legacy subscription is still active the migration may be retried; if it is suspended, Microsoft "
    "fixes or reverts the migration within 72 hours."
)


def completed_text(requester: str | None, migration: Migration) -> str:
    return (
        f"{_who(requester)}:white_check_mark: Migration `{migration.id}` completed at "
        f"{when(migration.completed_time)}: "
        f"new NCE subscription `{migration.new_commerce_subscription_id or '?'}`, "
        f"order `{migration.new_commerce_order_id or '?'}`, term ends {day(migration.subscription_end_date)}."
    )


def migration_failed(requester: str | None, migration: Migration, next_step: str) -> str:
    """``next_step``: one of the ``AFTER_FAILURE_*`` sentences."""
    code = migration.error_code if migration.error_code is not None else "unknown"
    reason = sentence(f"{esc(code)}: {esc(migration.error_description or 'no description')}")
    return f"{_who(requester)}:x: Migration `{migration.id}` failed: {reason} " + next_step


# --- schedules --------------------------------------------------------------------------------------------------
NO_TERM_CHANGED = "no term changed"


# After a schedule failed without starting a migration: nothing was migrated; what now, by the legacy
# subscription's status (the tracker chooses: bot.tracking.tracker.schedule_failure_next_step).
AFTER_SCHEDULE_FAILURE_ACTIVE = ("No migration was started and the legacy subscription is still active: fix the "
                                 "cause, then ask again with /nce schedule or /nce migrate.")
AFTER_SCHEDULE_FAILURE_UNKNOWN = (
    "No migration was started: check the legacy subscription in Partner Center before asking again."
)


def after_schedule_failure_inactive(status: str) -> str:
    return (f"No migration was started; the legacy subscription is {status}, so it cannot be migrated until "
            "it is active again.")


def term_change(name: str, old: object, new: object) -> str | None:
    """One changed term of a schedule: ``moved to 2025-03-01 (was 2025-02-01)``, ``quantity 10 → 12``."""
    if name == "targetDate":
        return None if new is None else f"moved to {new}" + (f" (was {old})" if old is not None else "")
    if name == "migrateOnRenewal":
        return "now runs on renewal" if new else "no longer runs on renewal"
    return f"{name} {'-' if old is None else old} → {'-' if new is None else new}"


def term_changes(parts: Sequence[str]) -> str:
    return "; ".join(parts)


def decided_by(requester: str, approvers: Sequence[str]) -> str:
    """`` (asked by <@a>, approved by <@b>)`` for the request that changed a schedule through ncebot."""
    named = ", ".join(f"<@{u}>" for u in approvers) or "?"
    return f" (asked by <@{requester}>, approved by {named})"


def schedule_updated(requester: str, schedule_id: str, request_id: str, by: str, changed: str) -> str:
    return f"<@{requester}> Schedule `{schedule_id}` was changed by request `{request_id}`{by}: {changed}."


def schedule_ran(schedule_id: str, migration_id: str) -> str:
    return f"Schedule `{schedule_id}` ran: migration `{migration_id}` started. Progress follows in this thread."


def schedule_failed(requester: str, schedule_id: str, code: object, description: object, next_step: str) -> str:
    """``next_step``: one of the ``AFTER_SCHEDULE_FAILURE_*`` sentences."""
    return (f"<@{requester}> :x: Schedule `{schedule_id}` failed: {sentence(f'{esc(code)}: {esc(description)}')} "
            + next_step)


def schedule_cancelled_by_request(requester: str, schedule_id: str, request_id: str, by: str) -> str:
    return (f"<@{requester}> Schedule `{schedule_id}` was cancelled by request `{request_id}`{by}; "
            "the migration will not run.")


def schedule_cancelled_outside(requester: str, schedule_id: str) -> str:
    return (f"<@{requester}> :warning: Schedule `{schedule_id}` was cancelled outside ncebot "
            "(Partner Center or another tool); the migration will not run.")


def schedule_changed_outside(requester: str, schedule_id: str, described: str) -> str:
    return f"<@{requester}> :warning: Schedule `{schedule_id}` was changed outside ncebot: {described}."
