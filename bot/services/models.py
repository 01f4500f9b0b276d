"""The values the services return (moved out of ``bot.workflow``, which re-exports them).

Owned here: ``SubscriptionNode`` (catalogue), ``DecisionResult`` (approvals), ``AuditExport`` (audit)
and ``MigrationStatusView`` (catalogue). Operation kinds and statuses are ``bot.operations``'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain import RequestView
from bot.partner_center.models import Migration, MigrationEvent, Subscription, SubscriptionStatus


@dataclass(frozen=True)
class SubscriptionNode:
    """A legacy subscription with its add-ons nested under it (``/nce subscriptions``)."""

    subscription: Subscription
    addons: tuple[SubscriptionNode, ...] = ()

    @property
    def flags(self) -> tuple[str, ...]:
        """Why this one probably cannot migrate as is: ``trial`` and/or its status when not active."""
        found: list[str] = []
        if self.subscription.is_trial:
            found.append("trial")
        status = self.subscription.status
        if status is not None and status != SubscriptionStatus.ACTIVE:
            found.append(str(status.value if isinstance(status, SubscriptionStatus) else status))
        return tuple(found)

    @property
    def is_candidate(self) -> bool:
        """Active and not a trial: worth validating."""
        return not self.flags


@dataclass(frozen=True)
class DecisionResult:
    """What a click did. ``outcome``: ``approved`` (threshold reached, now submitted), ``vote_recorded``
    (more approvals needed; ``votes_missing`` says how many) or ``rejected``."""

    request: RequestView
    outcome: Literal["approved", "vote_recorded", "rejected"]
    votes_missing: int = 0


@dataclass(frozen=True)
class AuditExport:
    """The audit trail as a CSV file: ``events`` rows for ``customer_id`` (``None``: every customer)."""

    csv: str
    events: int
    customer_id: str | None
    filename: str


@dataclass(frozen=True)
class MigrationStatusView:
    migration: Migration
    events: tuple[MigrationEvent, ...]
