"""Status tracking and threaded notifications (issue #5): scheduler, lease, tracker, outbox, service."""

from bot.tracking.lease import DatabaseLease, LeaseState
from bot.tracking.outbox import Outbox, OutboxDrainer, OutboxNotifier
from bot.tracking.service import TrackingService
from bot.tracking.tracker import Tracker

__all__ = [
    "DatabaseLease",
    "LeaseState",
    "Outbox",
    "OutboxDrainer",
    "OutboxNotifier",
    "Tracker",
    "TrackingService",
]
