"""How errors and refusals reach the person who acted: one wording (``friendly_error``), one way to answer
privately (``tell_user``), and the "busy" answer when the work queue is full."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.domain import DomainError
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError
from bot.slack.blocks import ModalMetadata, message_modal
from bot.slack.blocks.errors import error_message

log = logging.getLogger(__name__)

# reply(text, blocks) answers the person privately (respond(), an ephemeral, or a DM).
Reply = Callable[[str, list[dict[str, Any]] | None], None]


def busy_text(ahead: int) -> str:
    """The answer when the work queue is full (``bot.work_queue.QueueFull``)."""
    return (f":hourglass: ncebot is busy right now ({ahead} requests ahead of yours). Nothing was done; "
            "try again in a minute.")


def report_error(error: BaseException, body: dict[str, Any], client: WebClient) -> None:
    """The one place errors become replies: used by ``@app.error`` and by listeners and jobs after their ack."""
    tell_user(client, body, friendly_error(error))


def friendly_error(error: BaseException) -> str:
    """What the person who acted is told (sentences: ``bot.slack.blocks.errors``); logs what an operator needs."""
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
