"""Sandbox deadlines (SPEC §10): the NCE 7-day window, subscription PATCH, coterm end dates, Microsoft-led
migrations at term end + 1 day.

Kept out of the state's modules; ``SandboxState`` calls in here through small hooks. Every function runs
under ``state.lock`` (the route wrapper and ``refresh`` hold it).
"""

from __future__ import annotations

import calendar
import heapq
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.errors import ApiError, bad_request

if TYPE_CHECKING:
    from sandbox.catalogue import Catalogue
    from sandbox.state import SandboxState, Subscription

WINDOW = timedelta(days=7)  # cancel or reduce: within 7 days of purchase (or renewal)
FULL_REFUND = timedelta(days=1)  # full refund on the first day, prorated afterwards (3P sources, see README)
MICROSOFT_LED_DELAY = timedelta(days=1)  # created on the last day of the term, executed the day after
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}

# Partner Center documents no code for "past the cancellation window"; the sandbox picks one (README).
WINDOW_CLOSED = 900301
NOT_ACTIVE = 900215  # the documented "not active" code, reused for PATCH of a subscription that is not active
SEAT_CAP = 300  # SMB SKUs are capped at 300 seats


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")  # as state.iso (no import cycle)


def _month_end(moment: datetime) -> datetime:
    last = calendar.monthrange(moment.year, moment.month)[1]
    return moment.replace(day=last, hour=0, minute=0, second=0, microsecond=0)


def window_end(sub: Subscription) -> datetime:
    return sub.created + WINDOW


def deadline_fields(sub: Subscription) -> dict[str, Any]:
    """``cancellationAllowedUntilDate`` and ``refundOptions`` of an NCE subscription (``expiresAt`` as in the
    docs' example; the resource table's ``expiresAfter`` is sent too, since clients must read both)."""
    full, partial = sub.created + FULL_REFUND, window_end(sub)
    return {
        "cancellationAllowedUntilDate": _iso(partial),
        "refundOptions": [
            {"type": "Full", "expiresAt": _iso(full), "expiresAfter": _iso(full)},
            {"type": "Partial", "expiresAt": _iso(partial), "expiresAfter": _iso(partial)},
        ],
    }


# --------------------------------------------------------------------------------------------------- PATCH


def patch_subscription(state: SandboxState, customer_id: str, subscription_id: str, body: Any) -> dict[str, Any]:
    """``PATCH /v1/customers/{c}/subscriptions/{s}``: the full subscription resource with a new ``quantity`` or
    ``status: deleted``. Body keys arrive lower-cased (``ci``)."""
    customer = state.customer(customer_id)
    sub = state.subscription(customer, subscription_id)
    if not isinstance(body, dict):
        raise bad_request("The request body must be the full subscription resource (a JSON object).")
    if str(body.get("id", "")).lower() != sub.id or str(body.get("offerid", "")).lower() != sub.offer_id.lower():
        raise bad_request("The request body must be the full subscription resource: its id and offerId are missing "
                          "or do not match the subscription.")
    for key, current in (("termduration", sub.term_duration), ("billingcycle", sub.billing_cycle)):
        given = body.get(key)
        if given is not None and str(given).lower() != current.lower():
            raise bad_request(f"{key} cannot be changed with PATCH; only quantity and status can.")
    if not sub.is_nce:
        raise bad_request("The sandbox changes NCE subscriptions only; legacy subscriptions are migrated instead.")
    status = str(body.get("status", sub.status)).lower()
    if status not in ("active", "deleted"):
        raise bad_request(f"status {body.get('status')!r} cannot be set; use active or deleted.")
    quantity = body.get("quantity", sub.quantity)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= SEAT_CAP:
        raise bad_request(f"quantity must be an integer from 1 to {SEAT_CAP}; got {quantity!r}.")
    if sub.status != "active":
        raise ApiError(400, NOT_ACTIVE, f"Subscription {sub.id} is {sub.status}, not active; it cannot be changed.")
    if status == "deleted" and quantity != sub.quantity:
        raise bad_request("Cancel (status deleted) and a quantity change cannot be sent together.")
    now = state.now()
    closes = window_end(sub)
    shrinking = status == "deleted" or quantity < sub.quantity
    if shrinking and now > closes:
        what = "cancelled" if status == "deleted" else "reduced"
        raise ApiError(
            400,
            WINDOW_CLOSED,
            f"Subscription {sub.id} can no longer be {what}: the cancellation window closed at {_iso(closes)} "
            "(7 days after purchase or renewal).",
        )
    record = {
        "customerId": customer.id,
        "subscriptionId": sub.id,
        "fromQuantity": sub.quantity,
        "quantity": quantity,
        "status": status,
        "at": _iso(now),
    }
    # Seat increases are always allowed (each added seat starts its own 7-day window in Partner Center).
    sub.quantity = quantity
    sub.status = status
    state.subscription_patches.append(record)
    return sub.to_json()


# --------------------------------------------------------------------------------------------------- coterm


def custom_term_end_dates(state: SandboxState, customer_id: str, query: dict[str, str]) -> dict[str, Any]:
    """``GET …/subscriptions/customTermEndDates?term_duration=P1Y[&term_start_date=…]
    [&target_coterm_subscription_id=…]``: the calendar-month-aligned end (the last month end within the first
    term) and the end date of every active, non-trial NCE subscription of the customer that falls within it."""
    customer = state.customer(customer_id)
    term = str(query.get("term_duration", "")).upper()
    if term not in TERM_MONTHS:
        raise bad_request(f"term_duration {query.get('term_duration')!r} is not one of P1M, P1Y, P3Y.")
    from sandbox.state import add_months, is_month_end, parse_datetime

    start = state.now()
    if query.get("term_start_date"):
        start = parse_datetime(query["term_start_date"], "term_start_date")
    term_end = add_months(start, TERM_MONTHS[term])
    month_aligned = _month_end(term_end)
    if month_aligned >= term_end.replace(hour=0, minute=0, second=0, microsecond=0):
        month_aligned = _month_end(add_months(term_end, -1))
    items: list[dict[str, Any]] = []
    if month_aligned > start:
        items.append({"allowedCustomTermEndDateType": "calendarMonthAligned",
                      "allowedCustomTermEndDate": _iso(month_aligned), "cotermSubscriptionIds": []})
    target = str(query.get("target_coterm_subscription_id", "")).lower()
    by_end: dict[datetime, list[str]] = {}
    for sub in customer.subs.values():
        if not sub.is_nce or sub.is_trial or sub.status != "active" or (target and sub.id != target):
            continue
        end = sub.term_end.replace(hour=0, minute=0, second=0, microsecond=0)
        if not start < end <= term_end:
            continue
        # A monthly term cannot coterm with a subscription ending on the 28th-30th unless it is the month's end.
        if term == "P1M" and end.day in (28, 29, 30) and not is_month_end(end.date()):
            continue
        by_end.setdefault(end, []).append(sub.id)
    for end in sorted(by_end):
        items.append({"allowedCustomTermEndDateType": "subscriptionAligned",
                      "allowedCustomTermEndDate": _iso(end), "cotermSubscriptionIds": sorted(by_end[end])})
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


# --------------------------------------------------------------------------------------------------- Microsoft-led


def microsoft_led_queue(state: Catalogue) -> list[tuple[datetime, str, str]]:
    """(term end + 1 day, customer, subscription) of every legacy base subscription whose day comes after loading,
    as a heap: a request then costs nothing while no day has come (refresh runs before every request)."""
    queue = [(sub.term_end + MICROSOFT_LED_DELAY, customer.id, sub.id)
             for customer in state.customers.values() for sub in customer.subs.values()
             if sub.parent is None and not sub.is_nce and sub.term_end + MICROSOFT_LED_DELAY >= state.loaded_at]
    heapq.heapify(queue)
    return queue


def microsoft_led_due(state: SandboxState, now: datetime) -> None:
    """Since 2024 Microsoft migrates every active legacy base subscription with no pending schedule itself, the
    day after its term ends, to a 1-year term with the same seats and billing plan (add-ons go with it). Checked
    once, on that day: one that is not eligible then (scheduled, migrating, suspended, a trial) is left alone."""
    queue = state.microsoft_led_queue
    if not state.microsoft_led_enabled or not queue or queue[0][0] > now:
        return
    scheduled = {s.items[0].sub_id for s in state.schedules.values() if s.status == "Created"}
    while queue and queue[0][0] <= now:
        at, customer_id, sub_id = heapq.heappop(queue)
        customer = state.customers.get(customer_id)
        sub = customer.subs.get(sub_id) if customer else None
        if (customer is None or sub is None or sub.is_trial or sub.status != "active" or sub.migrating
                or sub.id in scheduled or sub.term_end + MICROSOFT_LED_DELAY != at):
            continue  # not eligible on its day (or its term was changed since: not this entry's day)
        state.microsoft_led_migration(customer, sub, at)
