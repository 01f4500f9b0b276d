"""Kinds and statuses of a Partner Center operation (the ``partner_center_operations`` row the bot writes before a
write call, so that the call is made once, SPEC §8). Slack-free and import-free: storage, the Partner Center layer
and the services all use it.

``StrEnum``: a member equals its string, so stored values and comparisons with strings are unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class OperationKind(StrEnum):
    """Which Partner Center write an operation makes (the client's endpoint name)."""

    CREATE_MIGRATION = "create_migration"
    CREATE_SCHEDULE = "create_schedule"
    UPDATE_SCHEDULE = "update_schedule"
    CANCEL_SCHEDULE = "cancel_schedule"
    PATCH_SUBSCRIPTION = "patch_subscription"  # SPEC §10: seats or cancel within the 7-day window


class OperationStatus(StrEnum):
    """``sending`` (claimed, the call may be under way) → ``sent`` (Partner Center accepted) | ``refused`` (it
    answered with an error). A ``sending`` row is resumed with the same MS-RequestId, never sent afresh."""

    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"


FINAL_STATUSES = frozenset({OperationStatus.SENT, OperationStatus.REFUSED})

# The names bot/workflow.py and bot/deadlines/window.py define today, as members (same values).
OP_CREATE_MIGRATION = OperationKind.CREATE_MIGRATION
OP_CREATE_SCHEDULE = OperationKind.CREATE_SCHEDULE
OP_UPDATE_SCHEDULE = OperationKind.UPDATE_SCHEDULE
OP_CANCEL_SCHEDULE = OperationKind.CANCEL_SCHEDULE
OP_PATCH_SUBSCRIPTION = OperationKind.PATCH_SUBSCRIPTION
