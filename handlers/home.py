"""The App Home tab: ``app_home_opened`` → ``views.publish`` of the opener's home view."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import blocks as ui
from bot.slack import ids

if TYPE_CHECKING:
    from bot.app import AppDeps

log = logging.getLogger(__name__)

def publish_home(deps: AppDeps, client: WebClient, user: str, notice: str | None = None) -> None:
    """Build ``user``'s home view from the workflow and publish it, ``notice`` (the outcome of a click made on
    the tab) at the top. A failure to read (database, Partner Center, Slack user groups) publishes a short
    explanation instead; a failure to publish is logged, never raised."""
    from bot.app import friendly_error

    wf = deps.workflow
    try:
        view = ui.home_view(user, wf.pending_requests(), wf.requests_by(user, ui.HOME_MINE_LISTED + 1),
                            wf.is_approver(user), notice=notice, self_approval=wf.policy.allow_self_approval)
    except Exception as exc:
        view = ui.home_error_view(user, friendly_error(exc))
    try:
        client.views_publish(user_id=user, view=view)
    except Exception:
        log.exception("views.publish of the Home tab failed")


def publish_home_after(deps: AppDeps, client: WebClient, user: str, act: Callable[[], str]) -> None:
    """Run ``act`` (a click made on the tab), then republish the tab with the notice it returned. The tab is
    republished even when ``act`` raises; the error still propagates (refusals reach the clicker by DM)."""
    notice = None
    try:
        notice = act()
    finally:
        publish_home(deps, client, user, notice)


def is_home_click(body: dict[str, Any]) -> bool:
    """A block action (or modal) that started on the App Home tab."""
    return ((body.get("container") or {}).get("type") == "view"
            and (body.get("view") or {}).get("type") == "home")


def register(app: App, deps: AppDeps) -> None:
    @app.event(ids.HOME_OPENED_EVENT)
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        # Events are acked by Bolt before listeners run; this one never raises (publish_home logs).
        user = event.get("user")
        if event.get("tab") != "home" or not user:
            return  # the Messages tab, or a malformed event
        publish_home(deps, client, str(user))
