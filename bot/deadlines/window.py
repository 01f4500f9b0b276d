"""The 7-day window (SPEC §10): the rules of a seat reduction or cancel of a new NCE subscription, and the call.

One module owns these rules and their sentences. The workflow calls ``plan_change`` while preparing a request of
kind ``reduce_seats`` / ``cancel_subscription`` and ``send_change`` when submitting it (exactly once: the workflow
persists the operation with its ``MS-RequestId`` first and reuses it on every retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.partner_center.client import PartnerCenterClient
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Subscription, SubscriptionStatus

WINDOW_KINDS = frozenset({RequestKind.REDUCE_SEATS, RequestKind.CANCEL_SUBSCRIPTION})
OP_PATCH_SUBSCRIPTION = "patch_subscription"
WINDOW_CLOSED = "WindowClosed"  # error code of a change refused by ncebot itself after the deadline


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def closed_reason(subscription_id: str, closed_at: datetime | None, *, cancel: bool) -> str:
    what = "cancelled" if cancel else "reduced"
    if closed_at is None:
        return (f"Subscription {subscription_id} can no longer be {what}: Partner Center gives it no cancellation "
                "window (no cancellationAllowedUntilDate or refundOptions).")
    return (f"Subscription {subscription_id} can no longer be {what}: its 7-day window closed at {_utc(closed_at)}. "
            "After it, Partner Center accepts neither a cancel nor fewer seats until the term ends.")


def window_end(sub: Subscription) -> datetime | None:
    return sub.change_window_end


def check_open(sub: Subscription, now: datetime, *, cancel: bool) -> datetime:
    """The deadline of ``sub`` if a reduction or cancel is still possible; else InvalidInput with the reason."""
    if not sub.is_nce:
        raise InvalidInput(f"Subscription {sub.id} is not an NCE subscription; only the NCE subscription a "
                           "migration created can be reduced or cancelled here.", field="subscription")
    if (sub.status or "") != SubscriptionStatus.ACTIVE:
        raise InvalidInput(f"Subscription {sub.id} is {getattr(sub.status, 'value', sub.status) or 'not active'}; "
                           "only an active subscription can be reduced or cancelled.", field="subscription")
    end = sub.change_window_end
    if end is None or now >= end:
        raise InvalidInput(closed_reason(sub.id, end, cancel=cancel), field="subscription")
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
            raise InvalidInput("Cancelling a subscription takes no options.", field="options")
        return WindowPlan(sub, closes, {"status": SubscriptionStatus.DELETED.value})
    if options.quantity is None:
        raise InvalidInput("Give the new total number of seats.", field="quantity")
    if options != ChangeOptions(quantity=options.quantity):
        raise InvalidInput("Reducing seats takes only the new total number of seats.", field="options")
    current = sub.quantity or 0
    if options.quantity > current:
        raise InvalidInput(f"{options.quantity} is more than the {current} seats {sub.id} has: adding seats is not "
                           "this feature (it needs no deadline; do it in Partner Center).", field="quantity")
    if options.quantity == current:
        raise InvalidInput(f"Subscription {sub.id} already has {current} seats; give a smaller total.",
                           field="quantity")
    return WindowPlan(sub, closes, {"quantity": options.quantity})


def send_change(pc: PartnerCenterClient, customer_id: str, subscription_id: str, body: dict[str, Any],
                now: datetime, *, request_id: str, correlation_id: str | None) -> Subscription:
    """Re-read the subscription (the PATCH needs the full, current object), refuse after the deadline without
    calling Partner Center, else PATCH it with the persisted ``MS-RequestId``."""
    current = pc.get_subscription(customer_id, subscription_id)
    cancel = body.get("status") == SubscriptionStatus.DELETED.value
    end = current.change_window_end
    if end is None or now >= end:
        raise PartnerCenterError(closed_reason(subscription_id, end, cancel=cancel), status_code=400,
                                 code=WINDOW_CLOSED)
    if cancel:
        return pc.patch_subscription(customer_id, current, status=SubscriptionStatus.DELETED,
                                     request_id=request_id, correlation_id=correlation_id)
    return pc.patch_subscription(customer_id, current, quantity=int(body["quantity"]), request_id=request_id,
                                 correlation_id=correlation_id)


def submitted_text(kind: RequestKind, subscription_id: str, body: dict[str, Any] | None) -> str:
    if kind is RequestKind.CANCEL_SUBSCRIPTION:
        return f"Submitted to Partner Center: subscription `{subscription_id}` cancelled."
    quantity = (body or {}).get("quantity", "?")
    return f"Submitted to Partner Center: subscription `{subscription_id}` reduced to {quantity} seat(s)."
