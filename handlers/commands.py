"""``/nce``: ack at once, then parse, call the workflow and answer with respond() (ephemeral)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack import ids
from bot.slack.commands import parse_command
from handlers.common import guarded, open_modal_for, respond_reply, run_command
from handlers.customers import run_customers, with_customer_id
from handlers.deadlines import run_renewals

if TYPE_CHECKING:
    from bot.app import AppDeps


def register(app: App, deps: AppDeps) -> None:
    @app.command(ids.COMMAND)
    @guarded
    def nce_command(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        parsed = parse_command(str(body.get("text") or ""))  # InvalidInput → the app's error handler
        channel = body.get("channel_id")
        if parsed.name == "renewals":  # SPEC §10; slow across customers, so it edits its own answer
            run_renewals(deps, parsed, respond)
            return
        reply = respond_reply(respond)
        if parsed.name == "customers":
            run_customers(deps, parsed, reply)
            return
        cmd = with_customer_id(deps, parsed, reply)  # a customer by domain or name (SPEC §4)
        if cmd is None:
            return
        if cmd.needs_modal:
            open_modal_for(deps, cmd, client, str(body.get("trigger_id") or ""), channel)
            return
        run_command(deps, cmd, str(body["user_id"]), reply, client, channel=channel)
