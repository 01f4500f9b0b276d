"""``POST /partner-center/webhooks`` (SPEC §11): verify, answer at once, handle the event off the HTTP thread.

Anything that fails verification gets 401 with nothing changed, one log line (reason, sender, never the body) and
``ncebot_webhook_rejected_total{reason}``. A verified delivery gets 200 (repeated ones too); migration events are
handed to a small thread pool that fetches the named resource and moves its request (:mod:`bot.tracking.reconcile`),
so Partner Center is answered in milliseconds even when Partner Center itself is slow to answer us.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.http_body import BodyTooLarge, read_limited_body
from bot.webhooks.registration import MIGRATION_EVENTS, WEBHOOK_PATH
from bot.webhooks.verify import WebhookRejected, WebhookVerifier

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.tracking.reconcile import Reconciler

log = logging.getLogger("ncebot.webhooks")

_GUID = r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
_CUSTOMER = re.compile(r"customers/" + _GUID + r"(?![0-9a-fA-F-])")
_SCHEDULE = re.compile(r"schedules/" + _GUID + r"(?![0-9a-fA-F-])")
_MIGRATION = re.compile(r"newcommerce/" + _GUID + r"(?![0-9a-fA-F-])")
SCHEDULE_FAILED = "new-commerce-migration-schedule-failed"


@dataclass(frozen=True)
class WebhookEvent:
    name: str
    resource_uri: str
    customer_id: str | None
    migration_id: str | None
    schedule_id: str | None


def _field(payload: dict[str, Any], name: str) -> str:
    for key, value in payload.items():
        if str(key).lower() == name.lower() and isinstance(value, str):
            return value
    return ""


def parse_event(body: bytes) -> WebhookEvent:
    """The event of a verified body; ValueError when it is not ``{EventName, ResourceUri, …}`` JSON."""
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("the body is not a JSON object")
    name = _field(payload, "EventName")
    if not name:
        raise ValueError("EventName is missing")
    uri = _field(payload, "ResourceUri")

    def guid(pattern: re.Pattern[str]) -> str | None:
        found = pattern.search(uri)
        return found.group(1).lower() if found else None

    return WebhookEvent(name=name, resource_uri=uri, customer_id=guid(_CUSTOMER), migration_id=guid(_MIGRATION),
                        schedule_id=guid(_SCHEDULE))


class WebhookProcessor:
    """Moves requests on migration events, on worker threads (never the HTTP thread). One customer's events are
    handled one at a time, in the order they arrived (a schedule's migration created, then failed); different
    customers' in parallel."""

    def __init__(self, reconciler: Callable[[], Reconciler], *, workers: int = 4) -> None:
        self._reconciler = reconciler
        self._lanes = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ncebot-webhook-{n}")
                       for n in range(workers)]

    def submit(self, event: WebhookEvent) -> bool:
        """Queue a migration event; False (ignored) for any other event."""
        if event.name not in MIGRATION_EVENTS:
            return False
        lane = zlib.crc32((event.customer_id or "").encode()) % len(self._lanes)
        self._lanes[lane].submit(self.handle, event)
        return True

    def handle(self, event: WebhookEvent) -> None:
        reconciler = self._reconciler()
        try:
            if event.name == SCHEDULE_FAILED and event.customer_id and event.schedule_id:
                reconciler.schedule_event(event.customer_id, event.schedule_id)
            elif event.name != SCHEDULE_FAILED and event.customer_id and event.migration_id:
                reconciler.migration_event(event.customer_id, event.migration_id)
            else:
                log.warning("webhook %s: resource %r not understood; reconciling %s now", event.name,
                            event.resource_uri[:200], f"customer {event.customer_id}" if event.customer_id
                            else "every customer")
                reconciler.customer(event.customer_id)
        except Exception:
            log.exception("webhook %s: handling failed (the next reconciliation catches up)", event.name)

    def close(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=False)


def webhook_route(verifier: WebhookVerifier, processor: WebhookProcessor, metrics: Metrics | None = None) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            body = await read_limited_body(request)
        except BodyTooLarge:
            return PlainTextResponse("payload too large", status_code=413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        sender = request.client.host if request.client else "?"
        try:
            await anyio.to_thread.run_sync(verifier.verify, headers, body)
        except Exception as exc:  # WebhookRejected, or a certificate the libraries choke on: refused all the same
            reason, detail = ((exc.reason, exc.detail) if isinstance(exc, WebhookRejected)
                              else ("verification_error", type(exc).__name__))
            log.warning("webhook rejected from %s: %s (%s)", sender, reason, detail)
            if metrics is not None:
                metrics.observe_webhook_rejected(reason)
            return PlainTextResponse("unauthorized", status_code=401)
        try:
            event = parse_event(body)
        except ValueError as exc:  # signed by Partner Center, yet not an event: say so, change nothing
            log.warning("webhook from %s: signed body is not an event: %s", sender, exc)
            return PlainTextResponse(f"not a Partner Center event: {exc}", status_code=400)
        handled = processor.submit(event)
        if metrics is not None:
            metrics.observe_webhook_accepted(event.name if handled else "ignored")
        return JSONResponse({"status": "accepted" if handled else "ignored"})

    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])
