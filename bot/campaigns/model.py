"""What a campaign is (SPEC §8): one bulk change request holding a typed BAM plan, and its operations.

A campaign's unit of work is one *plan item*: a base subscription with its add-ons (``PlannedMigration``: one
create or one schedule) or one schedule to cancel (``PlannedCancel``). Item ``position`` is its index in the plan;
each item becomes at most one Partner Center operation (unique per request, kind and target), so a resumed run
never sends an item twice. Slack-free.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import TypeAdapter

from bot.bam.models import BamKind, BamPlan, PlannedCancel, PlannedMigration
from bot.operations import OP_CANCEL_SCHEDULE, OP_CREATE_MIGRATION, OP_CREATE_SCHEDULE

#: The stored form of a plan (``change_requests.plan``): pydantic, not a hand-written codec.
PLAN: Final = TypeAdapter(BamPlan)

OP_FOR_PLAN: Final = {BamKind.MIGRATE: OP_CREATE_MIGRATION, BamKind.SCHEDULE: OP_CREATE_SCHEDULE,
                      BamKind.CANCEL: OP_CANCEL_SCHEDULE}

#: Partner Center's migration statuses that end a migration (lower case).
FINAL_STATUSES: Final = frozenset({"completed", "failed"})
#: ``pc_status`` of an operation that needs no tracking (a schedule created or cancelled is done on success).
DONE_ON_SUCCESS: Final = "done"


class CampaignSource(StrEnum):
    BULK = "bulk"
    BULK_ALL = "bulk all"
    IMPORT = "import"


class Control(StrEnum):
    """What the approvers asked the running campaign to do (``change_requests.control``; None: run)."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


def dump_plan(plan: BamPlan) -> dict[str, Any]:
    return PLAN.dump_python(plan, mode="json")


def load_plan(data: dict[str, Any] | None) -> BamPlan | None:
    return PLAN.validate_python(data) if data else None


def plan_items(plan: BamPlan) -> list[PlannedMigration | PlannedCancel]:
    """The plan's items in order (their index is the operation's ``position``)."""
    return list(plan.cancels) if plan.kind is BamKind.CANCEL else list(plan.migrations)


def item_target(item: PlannedMigration | PlannedCancel) -> str:
    """The operation's target: the base subscription (creates, schedules) or the schedule (cancels)."""
    return item.schedule_id if isinstance(item, PlannedCancel) else item.subscription_id


@dataclass(frozen=True)
class Failure:
    code: str
    description: str
    subscription_id: str
    customer_id: str


@dataclass(frozen=True)
class CampaignProgress:
    """A campaign's counts at one moment (one GROUP BY), for its messages and ``/nce campaign``.

    ``items`` counts plan items (one create each); ``subscriptions`` counts rows (add-ons included)."""

    request_id: str
    kind: BamKind
    items: int
    subscriptions: int
    customers: int
    seats: int
    terms: dict[str, int]
    sent: int = 0  # accepted by Partner Center (a create answered, a schedule made)
    refused: int = 0  # refused by Partner Center when sent
    in_flight: int = 0  # operations claimed, not answered yet
    completed: int = 0
    failed: int = 0  # migrations Partner Center reported Failed
    control: Control = Control.RUNNING
    state: str = "pending"
    ineligible: int = 0
    failures: tuple[Failure, ...] = ()
    next_window: datetime | None = None
    eta: datetime | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> int:
        """Items that reached Partner Center or were refused by it (not the ones in flight)."""
        return self.sent + self.refused

    @property
    def not_sent(self) -> int:
        return max(self.items - self.started - self.in_flight, 0)

    @property
    def tracked(self) -> bool:
        """Whether its operations are followed to completion (creates) or end when sent (schedules, cancels)."""
        return self.kind is BamKind.MIGRATE

    @property
    def finished(self) -> int:
        """Items at their end: completed or failed migrations, refused items, done schedules/cancels."""
        return (self.completed + self.failed if self.tracked else self.sent) + self.refused

    @property
    def failure_groups(self) -> list[tuple[str, str, int]]:
        """(code, description, count) most frequent first."""
        counts = Counter((f.code, f.description) for f in self.failures)
        return [(code, text, n) for (code, text), n in counts.most_common()]


def batch_reference(request_id: str) -> str:
    """The ``externalReferenceId`` shared by every operation of a campaign (BAM's ``BatchId``): the request id
    as a GUID, so a migration seen in Partner Center leads back to its request."""
    return str(uuid.UUID(hex=request_id))
