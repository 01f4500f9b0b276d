"""``bot.domain.MessagePoster`` on Slack: the approval message and its in-place edits (its thread is the outbox's)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.campaigns.model import CampaignProgress
from bot.domain import MessageRef, NotifyFailed, RequestKind, RequestView
from bot.slack.blocks import Block, request_blocks, request_text
from bot.slack.blocks.campaigns import campaign_request_blocks, campaign_request_text
from bot.slack.deadline_blocks import relabel_window_request

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: request id -> the stored items of that request (a bulk request's subscriptions).
RequestItems = Callable[[str], Sequence[Mapping[str, Any]]]


def stored_request_items(session_factory: sessionmaker[Session]) -> RequestItems:
    """A :data:`RequestItems` reading ``change_requests.items`` (what will be sent once approved)."""

    def load(request_id: str) -> Sequence[Mapping[str, Any]]:
        from storage import repositories as repo

        with session_factory() as session:
            row = repo.get_request(session, request_id)
            return [dict(item) for item in (row.items or []) if isinstance(item, Mapping)] if row else []

    return load


class SlackNotifier:
    """The approval message itself: posted with ``chat.postMessage`` and edited with ``chat.update``. Thread
    replies and announcements are not here: they go through the durable outbox (``OutboxNotifier``), once per
    key across restarts and replicas, sent by the drainer on the lease holder (issue #10 item 2)."""

    def __init__(
        self,
        client: WebClient,
        approval_channel: str,
        *,
        notify_channel: str | None = None,
        request_items: RequestItems | None = None,
        approvers: Sequence[str] = (),
        campaigns: Callable[[str], CampaignProgress | None] | None = None,
    ) -> None:
        self._client = client
        self._campaigns = campaigns  # a campaign's message shows its counts (SPEC §8.2, §8.4)
        self._request_items = request_items
        self.approvers = tuple(approvers)  # U… / S… ids mentioned in a pending request, so they are notified
        self.approval_channel = approval_channel
        self.notify_channel = notify_channel or approval_channel

    def post_request(self, request: RequestView) -> MessageRef:
        """Raises ``NotifyFailed`` with Slack's error code (or ``unreachable``) when the message was not posted."""
        try:
            text, blocks = self._render(request)
            response = self._client.chat_postMessage(
                channel=self.approval_channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
            )
        except SlackApiError as exc:
            raise NotifyFailed(str(exc.response.get("error") or "slack_error")) from exc
        except OSError as exc:  # URLError, timeouts: Slack is down or unreachable
            raise NotifyFailed("unreachable") from exc
        return MessageRef(channel=str(response["channel"]), ts=str(response["ts"]))

    def update_request(self, request: RequestView) -> None:
        if request.message is None:
            log.warning("request %s has no Slack message to update", request.id)
            return
        text, blocks = self._render(request)
        self._client.chat_update(channel=request.message.channel, ts=request.message.ts, text=text, blocks=blocks)

    def _render(self, request: RequestView) -> tuple[str, list[Block]]:
        progress = self._campaign(request)
        if progress is not None:
            return (campaign_request_text(request, progress, self.approvers),
                    campaign_request_blocks(request, progress, self.approvers))
        return request_text(request, self.approvers), self._blocks(request)

    def _campaign(self, request: RequestView) -> CampaignProgress | None:
        if request.kind is not RequestKind.BULK or self._campaigns is None:
            return None
        try:
            return self._campaigns(request.id)
        except Exception:
            log.warning("could not read campaign %s", request.id, exc_info=True)
            return None

    def _blocks(self, request: RequestView) -> list[Block]:
        """A bulk request lists its subscriptions (from the stored items); a failed read shows the count only."""
        items: Sequence[Mapping[str, Any]] | None = None
        if request.kind is RequestKind.BULK and self._request_items is not None:
            try:
                items = self._request_items(request.id)
            except Exception:
                log.warning("could not read the items of request %s", request.id, exc_info=True)
        return relabel_window_request(request_blocks(request, items, self.approvers), request)  # SPEC §10 kinds
