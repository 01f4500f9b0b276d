"""Pause / Resume / Stop on a campaign's progress reply (SPEC §8.4; approvers only). The service records the
choice and the progress reply is edited through the outbox; the clicker gets a private line at once."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.campaigns.service import CampaignService
from bot.slack import ids
from bot.slack.blocks.campaigns import progress_text
from bot.slack.deps import app_deps
from handlers.common import after_ack, ephemeral_reply, guarded


def _control(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, verb: str) -> None:
    deps = app_deps(context)
    user = str(body["user"]["id"])
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    request_id = str(((body.get("actions") or [{}])[0]).get("value") or "")

    def work() -> None:
        service: CampaignService | None = deps.campaigns
        if service is None:
            raise RuntimeError("campaigns are not wired")
        progress = getattr(service, verb)(request_id, user)
        ephemeral_reply(client, user, channel)(f"Campaign `{request_id}`: {progress_text(progress)}", None)

    after_ack(deps, ack, body, client, work)


@guarded
def campaign_pause_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _control(ack, body, client, context, "pause")


@guarded
def campaign_resume_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _control(ack, body, client, context, "resume")


@guarded
def campaign_stop_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _control(ack, body, client, context, "stop")


def register(app: App) -> None:
    app.action(ids.CAMPAIGN_PAUSE_ACTION)(campaign_pause_clicked)
    app.action(ids.CAMPAIGN_RESUME_ACTION)(campaign_resume_clicked)
    app.action(ids.CAMPAIGN_STOP_ACTION)(campaign_stop_clicked)
