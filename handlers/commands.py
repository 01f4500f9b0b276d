"""``/nce``: ack at once, then (on the work queue) parse, call the workflow and answer with respond()."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain import InvalidInput
from bot.slack import ids
from bot.slack.commands import parse_command
from bot.slack.deps import app_deps
from bot.slack.progress_answer import ProgressAnswer
from handlers.campaign_intake import open_import_modal, run_bulk, run_check_all
from handlers.common import after_ack, guarded, open_modal_for, respond_reply, run_command
from handlers.customers import run_customers, with_customer_id
from handlers.deadlines import run_renewals


@guarded
def nce_command(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    channel = body.get("channel_id")
    try:
        parsed = parse_command(str(body.get("text") or ""))  # pure: parsed here to choose the lane
    except InvalidInput as wrong:
        problem = wrong

        def explain() -> None:
            raise problem  # → report_error → response_url, like any other failure after the ack

        after_ack(deps, ack, body, client, explain)
        return

    def work() -> None:
        reply = respond_reply(respond)
        if parsed.name == "import":  # SPEC §8.1: the upload modal (trigger lane)
            open_import_modal(client, body)
            return
        if parsed.name == "check" and parsed.every_customer:  # SPEC §8.6
            run_check_all(deps, str(body["user_id"]), respond, client, channel)
            return
        if parsed.name == "customers":
            run_customers(deps, parsed, reply)
            return
        cmd = with_customer_id(deps, parsed, reply)  # a customer by domain or name (SPEC §4)
        if cmd is None:
            return
        if cmd.name == "renewals":  # SPEC §10; slow across customers, so it edits its own answer
            run_renewals(deps, cmd, respond)
            return
        if cmd.name == "bulk" and not cmd.needs_modal:  # SPEC §8: planned, validated, one campaign request
            run_bulk(deps, cmd, str(body["user_id"]), ProgressAnswer.of_respond(respond), client)
            return
        if cmd.needs_modal:
            open_modal_for(deps, cmd, client, str(body.get("trigger_id") or ""), channel)
            return
        run_command(deps, cmd, str(body["user_id"]), reply, client, channel=channel,
                    answer=ProgressAnswer.of_respond(respond))

    # Busy: the ack's own body answers (Slack shows a command's ack text privately to the user). A command with
    # missing arguments opens a modal (its trigger id lasts 3 s): the trigger lane, never behind Partner Center
    # work (a customer given by name is looked up there first, as before the queue: the directory caches it).
    after_ack(deps, ack, body, client, work, ack_busy=lambda text: ack(text=text, response_type="ephemeral"),
              trigger=parsed.needs_modal or parsed.name == "import")


def register(app: App) -> None:
    app.command(ids.COMMAND)(nce_command)
