"""The 7-day window (SPEC §10): the rules of a seat reduction or cancel of a new NCE subscription, and the call.

One module owns these rules; their sentences live in ``bot.texts.refusals`` (and ``bot.texts.thread``). The
workflow calls ``plan_change`` while preparing a request of kind ``reduce_seats`` / ``cancel_subscription`` and
``send_change`` when submitting it (exactly once: the workflow persists the operation with its ``MS-RequestId``
first and reuses it on every retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Subscription, SubscriptionStatus
from bot.texts import refusals

WINDOW_KINDS = frozenset({RequestKind.REDUCE_SEATS, RequestKind.CANCEL_SUBSCRIPTION})
OP_PATCH_SUBSCRIPTION = "patch_subscription"
WINDOW_CLOSED = "WindowClosed"  # error code of a change refused by ncebot itself after the deadline


def window_end(sub: Subscription) -> datetime | None:
    return sub.change_window_end


def check_open(sub: Subscription, now: datetime, *, cancel: bool) -> datetime:
    """The deadline of ``sub`` if a reduction or cancel is still possible; else InvalidInput with the reason."""
    if not sub.is_nce:
        raise InvalidInput(refusals.window_not_nce(sub.id), field="subscription")
    if (sub.status or "") != SubscriptionStatus.ACTIVE:
        raise InvalidInput(refusals.window_not_active(sub.id, getattr(sub.status, "value", sub.status) or "not active"),
                           field="subscription")
    end = sub.change_window_end
    if end is None or now >= end:
        raise InvalidInput(refusals.window_closed(sub.id, end, cancel=cancel), field="subscription")
    return end


@dataclass(frozen=True)
class WindowPlan:
    subscription: Subscription
    closes_at: datetime
    body: dict[str, Any]  # what the PATCH changes: {"quantity": N} or {"status": "deleted"}


def plan_change(pc: PartnerCenterClient, kind: RequestKind, customer_id: str, subscription_id: str,
                options: ChangeOptions, now: datetime) -> WindowPlan:
    cancel = kind is RequestKind.CANCEL_SUBSCRIPTION
    sub = pc.get_subscription(customer_id, subscription_id)
    closes = check_open(sub, now, cancel=cancel)
    if cancel:
        if options != ChangeOptions():
            raise InvalidInput(refusals.WINDOW_CANCEL_TAKES_NO_OPTIONS, field="options")
        return WindowPlan(sub, closes, {"status": SubscriptionStatus.DELETED.value})
    if options.quantity is None:
        raise InvalidInput(refusals.WINDOW_GIVE_SEATS, field="quantity")
    if options != ChangeOptions(quantity=options.quantity):
        raise InvalidInput(refusals.WINDOW_SEATS_ONLY, field="options")
    current = sub.quantity or 0
    if options.quantity > current:
        raise InvalidInput(refusals.window_more_seats(options.quantity, current, sub.id), field="quantity")
    if options.quantity == current:
        raise InvalidInput(refusals.window_same_seats(sub.id, current), field="quantity")
    return WindowPlan(sub, closes, {"quantity": options.quantity})


def send_change(pc: PartnerCenterClient, customer_id: str, subscription_id: str, body: dict[str, Any],
                now: datetime, *, request_id: str, correlation_id: str | None) -> Subscription:
    """Re-read the subscription (the PATCH needs the full, current object), refuse after the deadline without
    calling Partner Center, else PATCH it with the persisted ``MS-RequestId``."""
    current = pc.get_subscription(customer_id, subscription_id)
    cancel = body.get("status") == SubscriptionStatus.DELETED.value
    end = current.change_window_end
    if end is None or now >= end:
        raise PartnerCenterError(refusals.window_closed(subscription_id, end, cancel=cancel), status_code=400,
                                 code=WINDOW_CLOSED)
    if cancel:
        return pc.patch_subscription(customer_id, current, status=SubscriptionStatus.DELETED,
                                     request_id=request_id, correlation_id=correlation_id)
    return pc.patch_subscription(customer_id, current, quantity=int(body["quantity"]), request_id=request_id,
                                 correlation_id=correlation_id)
