"""Transport-agnostic wiring: ``create_app(settings, deps) -> slack_bolt.App`` (HTTP or Socket Mode).

Listeners live in ``handlers`` as module-level functions; they find their ``AppDeps`` in Bolt's context, where
the middleware below puts it. Bolt keeps its own small listener pool (they only ack and queue work); the slow part
of every listener runs on ``deps.work`` (``bot.work_queue``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings
from bot.slack.deps import CONTEXT_KEY, AppDeps, HealthCheck, MetricsText
from bot.slack.replies import friendly_error, report_error, tell_user
from bot.slack.verification import VERIFIED, DatabaseReplayGuard, SlackRequestGate
from handlers import register_listeners

# Re-exported: callers written before AppDeps and the replies moved out of this module keep working.
__all__ = ["AppDeps", "HealthCheck", "MetricsText", "NcebotApp", "build_slack_client", "create_app",
           "friendly_error", "is_verified", "report_error", "tell_user"]

log = logging.getLogger(__name__)


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
    return request.mode == "socket_mode" or request.context.get(VERIFIED) is True


def create_app(settings: Settings, deps: AppDeps) -> NcebotApp:
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = NcebotApp(
        client=deps.slack_client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        process_before_response=deps.process_before_response,
        # Socket Mode requests carry no signature; HTTP ones must.
        request_verification_enabled=signing_secret is not None,
    )
    # Bolt logs a refused request's whole body at INFO; the gate refuses those before Bolt, and this keeps it so.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    if signing_secret is not None:
        app.gate = SlackRequestGate(signing_secret, DatabaseReplayGuard(deps.workflow.session_factory))

    @app.middleware
    def provide_deps(context: BoltContext, next: Callable[[], Any]) -> Any:
        context[CONTEXT_KEY] = deps
        return next()

    register_listeners(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        if not is_verified(request):  # never reply (response_url, DM) on behalf of a request nobody vouched for
            log.warning("error on an unverified request, not answered: %s", type(error).__name__)
            return
        report_error(error, body, client)

    return app
