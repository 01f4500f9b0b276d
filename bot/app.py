"""Transport-agnostic wiring: ``create_app(settings, deps) -> slack_bolt.App`` (HTTP or Socket Mode)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.domain import Clock, DomainError, SystemClock
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.customers import CustomerDirectory
    from bot.deadlines.watcher import WindowWatcher
    from bot.slack.verification import SlackRequestGate
    from bot.workflow import Workflow

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
MetricsText = Callable[[], str]


@dataclass
class AppDeps:
    """What the listeners need. Built by ``bot.runtime`` (or a test) and passed to ``create_app``."""

    workflow: Workflow
    slack_client: WebClient
    clock: Clock = field(default_factory=SystemClock)
    health: HealthCheck | None = None
    metrics: MetricsText | None = None
    process_before_response: bool = False
    listener_workers: int = 32  # Bolt's default pool has 5 threads: slow work after the ack would delay acks
    partner_tenant_id: str | None = None  # PartnerTenantId column of the /nce check CSV (PARTNER_CENTER_TENANT_ID)
    customers: CustomerDirectory | None = None  # customers by name or domain (SPEC §4, §9); None: ids only
    windows: WindowWatcher | None = None  # SPEC §10: the 7-day window (button checks)


def build_slack_client(settings: Settings, *, max_retry_count: int = 2) -> WebClient:
    """A WebClient on ``SLACK_API_URL`` that honours 429 ``Retry-After`` (RateLimitErrorRetryHandler)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=max_retry_count))
    return client


class NcebotApp(App):
    """Bolt's App plus the gate that ``POST /slack/events`` runs BEFORE Bolt sees anything
    (:class:`bot.slack.verification.SlackRequestGate`; None without a signing secret: Socket Mode)."""

    gate: SlackRequestGate | None = None


def is_verified(request: BoltRequest) -> bool:
    """Did this request pass the gate (HTTP) or come over the authenticated Socket Mode connection?"""
    from bot.slack.verification import VERIFIED

    return request.mode == "socket_mode" or request.context.get(VERIFIED) is True


def create_app(settings: Settings, deps: AppDeps) -> NcebotApp:
    from bot.slack.verification import DatabaseReplayGuard, SlackRequestGate
    from handlers import register_listeners

    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = NcebotApp(
        client=deps.slack_client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        process_before_response=deps.process_before_response,
        # Socket Mode requests carry no signature; HTTP ones must.
        request_verification_enabled=signing_secret is not None,
        listener_executor=ThreadPoolExecutor(max_workers=deps.listener_workers, thread_name_prefix="ncebot-listener"),
    )
    # Bolt logs a refused request's whole body at INFO; the gate refuses those before Bolt, and this keeps it so.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    if signing_secret is not None:
        app.gate = SlackRequestGate(signing_secret, DatabaseReplayGuard(deps.workflow.session_factory))
    register_listeners(app, deps)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        if not is_verified(request):  # never reply (response_url, DM) on behalf of a request nobody vouched for
            log.warning("error on an unverified request, not answered: %s", type(error).__name__)
            return
        report_error(error, body, client)

    return app


def report_error(error: BaseException, body: dict[str, Any], client: WebClient) -> None:
    """The one place errors become replies: used by ``@app.error`` and by listeners after their ack."""
    tell_user(client, body, friendly_error(error))


def friendly_error(error: BaseException) -> str:
    """What the person who acted is told (sentences: ``bot.slack.blocks.errors``); logs what an operator needs."""
    from bot.slack.blocks import error_message

    reference = uuid.uuid4().hex[:8]
    if isinstance(error, PartnerCenterAuthError):
        log.error("Partner Center sign-in failed: %s", error)
    elif isinstance(error, SlackApiError):
        log.error("Slack API error (ref %s): %s", reference, error.response.get("error"))
    elif not isinstance(error, DomainError | PartnerCenterError):
        log.exception("unexpected error (ref %s)", reference, exc_info=error)
    return error_message(error, reference)


def tell_user(client: WebClient, body: dict[str, Any], text: str) -> None:
    """Reply privately to whoever sent ``body``: the response_url of a command, an ephemeral in the channel of
    a click, the modal itself for a click inside a modal, or the channel a modal was opened from. A click on
    the App Home tab (a ``home`` view: no channel, and not a modal to replace) gets a direct message."""
    from slack_sdk.webhook import WebhookClient

    from bot.slack.blocks import ModalMetadata, message_modal

    kind = body.get("type")
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if body.get("command") and body.get("response_url"):
            WebhookClient(str(body["response_url"])).send(text=text, response_type="ephemeral")
            return
        if kind == "block_actions" and body.get("view") and not body.get("channel") \
                and body["view"].get("type") != "home":
            view = body["view"]
            client.views_update(view_id=view["id"], view=message_modal("ncebot", text))
            return
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if kind == "view_submission":
            channel = ModalMetadata.load((body.get("view") or {}).get("private_metadata")).channel
        if not user:
            return
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackApiError:
                pass  # not in that channel: fall back to a direct message
        client.chat_postMessage(channel=user, text=text)
    except Exception:  # the reply itself failed; log the reason without payload contents
        log.exception("could not tell the user about an error")
