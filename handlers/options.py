"""External-select option loaders. They must answer within 3 s, so the customer list is cached briefly."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from cachetools import TTLCache
from slack_bolt import Ack, App, BoltContext

from bot.slack import ids
from bot.slack.blocks import ModalMetadata, customer_options, subscription_options
from bot.slack.deps import AppDeps, app_deps

if TYPE_CHECKING:
    from bot.partner_center.models import Customer
    from bot.workflow import SubscriptionNode

log = logging.getLogger(__name__)


class CustomerCache:
    """The workflow's customer list, kept for ``ttl`` seconds (typing in a select fires one request per key)."""

    def __init__(self, deps: AppDeps, ttl: float = 60.0) -> None:
        self._deps = deps
        self._lock = threading.Lock()
        self._cache: TTLCache[str, list[Customer]] = TTLCache(maxsize=1, ttl=ttl)

    def get(self) -> list[Customer]:
        with self._lock:
            customers = self._cache.get("all")
        if customers is not None:
            return customers
        customers = self._deps.workflow.list_customers()  # outside the lock: a slow read must not queue others
        with self._lock:
            self._cache["all"] = customers
        return customers


class SubscriptionCache:
    """Each customer's legacy subscriptions for ``ttl`` seconds: the modal that shows the picker has just listed
    them (and puts them here), so typing in it does not list a 600-subscription customer again per key."""

    def __init__(self, deps: AppDeps, ttl: float = 120.0) -> None:
        self._deps = deps
        self._lock = threading.Lock()
        self._cache: TTLCache[str, list[SubscriptionNode]] = TTLCache(maxsize=64, ttl=ttl)

    def put(self, customer_id: str, nodes: list[SubscriptionNode]) -> None:
        with self._lock:
            self._cache[customer_id.lower()] = nodes

    def get(self, customer_id: str) -> list[SubscriptionNode]:
        with self._lock:
            nodes = self._cache.get(customer_id.lower())
        if nodes is None:
            nodes = self._deps.workflow.legacy_subscriptions(customer_id)
            self.put(customer_id, nodes)
        return nodes


def subscription_cache(deps: AppDeps) -> SubscriptionCache:
    cache = deps.listener_state.get("subscriptions")
    if not isinstance(cache, SubscriptionCache):
        cache = deps.listener_state.setdefault("subscriptions", SubscriptionCache(deps))
    return cache


def load_subscriptions(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """The subscription picker of the change modals (SPEC §9): the chosen customer's legacy subscriptions that
    match what was typed. Like the customer picker, the answer is the ack."""
    meta = ModalMetadata.load((body.get("view") or {}).get("private_metadata"))
    try:
        nodes = subscription_cache(app_deps(context)).get(meta.customer) if meta.customer else []
        found = subscription_options(nodes, str(body.get("value") or ""))
    except Exception:
        log.exception("could not load subscriptions for the picker")
        found = []
    ack(options=found)


def _cache(deps: AppDeps) -> CustomerCache:
    """One cache per app (kept in ``deps.listener_state``)."""
    cache = deps.listener_state.get("customers")
    if not isinstance(cache, CustomerCache):
        cache = deps.listener_state.setdefault("customers", CustomerCache(deps))
    return cache


def load_customers(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """The answer IS the ack here (Slack shows the options it carries), so this listener reads Partner Center
    before acking, from a 60-second cache; the only listener that does."""
    try:
        found = customer_options(_cache(app_deps(context)).get(), str(body.get("value") or ""))
    except Exception:  # an empty list beats a broken select; the reason is logged
        log.exception("could not load customers for the picker")
        found = []
    ack(options=found)


def register(app: App) -> None:
    app.options(ids.CUSTOMER_SELECT)(load_customers)
    app.options(ids.SUBSCRIPTION_SELECT)(load_subscriptions)
