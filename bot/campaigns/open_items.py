"""Subscriptions already in an open request (SPEC §5: one request at a time per subscription): a second request
for one of them would race the first at Partner Center. Campaigns count with every item of their plan."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.campaigns.model import item_target, load_plan, plan_items
from storage import campaigns as store

BULK = "bulk"


def undecided_targets(session: Session, customer_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Subscriptions (lower-case id) of these customers in a pending or approved request → (request id, kind)."""
    wanted = {c.lower() for c in customer_ids}
    found: dict[str, tuple[str, str]] = {}
    for row in store.open_requests(session, customer_ids):
        if row.plan is not None:
            plan = load_plan(row.plan)
            for item in plan_items(plan) if plan else ():
                if item.customer_tenant_id.lower() in wanted:
                    found.setdefault(item_target(item).lower(), (row.id, row.kind))
        elif row.kind == BULK:
            for item in row.items or []:
                found.setdefault(str(item.get("target", "")).lower(), (row.id, row.kind))
        elif row.subscription_id and row.kind in ("migrate", "schedule"):
            found.setdefault(row.subscription_id.lower(), (row.id, row.kind))
    return found
