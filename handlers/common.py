"""Shared listener helpers: how to answer, and the subcommand runner used by /nce and the lookup modal."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import DomainError, RequestKind, RequestView
from bot.partner_center.errors import PartnerCenterError
from bot.slack import blocks as ui
from bot.slack import deadline_blocks as dui
from bot.slack.blocks import ModalMetadata
from bot.slack.commands import NceCommand
from bot.workflow import NothingEligible
from handlers.reports import run_audit, run_check

if TYPE_CHECKING:
    from bot.app import AppDeps

log = logging.getLogger(__name__)

# reply(text, blocks) answers the person privately.
Reply = Callable[[str, list[dict[str, Any]] | None], None]

CHANGE_KINDS = {
    "migrate": RequestKind.MIGRATE,
    "schedule": RequestKind.SCHEDULE,
    "reschedule": RequestKind.RESCHEDULE,
    "cancel": RequestKind.CANCEL,
}


F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Route a listener's errors to ``bot.app.report_error`` itself, acking first if it had not.

    Bolt (1.30, process_before_response=False) resets ``ack.response`` when a listener raises after acking,
    and a fast failure then turns the HTTP answer into a 404 after 3 s. Listeners therefore never raise.
    The wrapped function must take ``ack``, ``body`` and ``client`` (Bolt injects by parameter name).
    """

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            from bot.app import report_error

            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                ack()
            report_error(exc, kwargs.get("body") or {}, kwargs["client"])
            return None

    return wrapper  # type: ignore[return-value]


def respond_reply(respond: Callable[..., Any]) -> Reply:
    def reply(text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    return reply


def ephemeral_reply(client: WebClient, user: str, channel: str | None) -> Reply:
    """chat.postEphemeral in ``channel``; a direct message when there is no channel or the bot is not in it."""

    def reply(text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
                return
            except SlackApiError as exc:
                log.info("ephemeral in %s failed (%s); sending a DM", channel, exc.response.get("error"))
        client.chat_postMessage(channel=user, text=text, blocks=blocks)

    return reply


def permalink(client: WebClient, request: RequestView) -> str | None:
    if request.message is None:
        return None
    try:
        answer = client.chat_getPermalink(channel=request.message.channel, message_ts=request.message.ts)
        return str(answer["permalink"])
    except SlackApiError as exc:
        log.info("chat.getPermalink failed: %s", exc.response.get("error"))
        return None


def confirm_request(client: WebClient, request: RequestView, reply: Reply) -> None:
    reply(ui.confirmation_text(request, permalink(client, request)), None)


def run_command(deps: AppDeps, cmd: NceCommand, user: str, reply: Reply, client: WebClient, *,
                channel: str | None = None) -> None:
    """Run a complete (no missing arguments) subcommand and answer through ``reply``. ``channel``: where the
    command was run (``/nce check`` posts its CSV there)."""
    wf = deps.workflow
    name = cmd.name
    if name == "help":
        reply(ui.help_text(), ui.help_blocks())
    elif name == "subscriptions":
        assert cmd.customer_id
        nodes = wf.legacy_subscriptions(cmd.customer_id)
        reply(f"{len(nodes)} legacy subscription(s) of {cmd.customer_id}", ui.subscriptions_blocks(cmd.customer_id,
                                                                                                    nodes))
    elif name == "validate":
        assert cmd.customer_id and cmd.subscription_id
        outcome = wf.validate(cmd.customer_id, cmd.subscription_id, cmd.options)
        verdict = "eligible" if outcome.eligible else "not eligible"
        reply(f"Subscription {cmd.subscription_id} is {verdict}", ui.validation_blocks(outcome))
    elif name in CHANGE_KINDS:
        assert cmd.customer_id
        request = wf.request_change(
            kind=CHANGE_KINDS[name],
            requester=user,
            customer_id=cmd.customer_id,
            subscription_id=cmd.subscription_id,
            schedule_id=cmd.schedule_id,
            options=cmd.options,
        )
        confirm_request(client, request, reply)
    elif name == "bulk":
        assert cmd.customer_id
        try:
            request = wf.request_change(kind=RequestKind.BULK, requester=user, customer_id=cmd.customer_id,
                                        options=cmd.options)
        except NothingEligible as exc:
            reply(ui.error_text(":information_source:", f"No bulk request was made. {ui.esc(exc)}"), None)
            return
        confirm_request(client, request, reply)
    elif name == "check":
        assert cmd.customer_id
        run_check(deps, cmd.customer_id, user, reply, client, channel)
    elif name == "audit":
        run_audit(deps, cmd.customer_id, user, reply, client)
    elif name == "schedules":
        assert cmd.customer_id
        schedules = wf.list_schedules(cmd.customer_id, cmd.subscription_id)
        led = [s.id for s in schedules if s.microsoft_led and s.id]
        reply(f"{len(schedules)} schedule(s) of {cmd.customer_id}",
              dui.mark_microsoft_led(ui.schedules_blocks(cmd.customer_id, schedules), led))
    elif name == "status":
        assert cmd.customer_id and cmd.migration_id
        status = wf.migration_status(cmd.customer_id, cmd.migration_id)
        led = [status.migration.id or cmd.migration_id] if status.migration.microsoft_led else []
        who = "Microsoft-led migration" if led else "Migration"
        reply(f"{who} {cmd.migration_id}: {ui.esc(status.migration.status)}",
              dui.mark_microsoft_led(ui.status_blocks(cmd.customer_id, status), led))
    elif name == "pending":
        pending = wf.pending_requests()
        reply(f"{len(pending)} request(s) waiting for a decision", ui.pending_blocks(pending))
    elif name == "watch":
        assert cmd.customer_id
        wf.watch(cmd.customer_id, user)
        reply(f":eyes: Watching customer `{cmd.customer_id}`: migrations made outside ncebot will be announced.", None)
    elif name == "unwatch":
        assert cmd.customer_id
        wf.unwatch(cmd.customer_id, user)
        reply(f"Stopped watching customer `{cmd.customer_id}`.", None)
    else:  # pragma: no cover - the parser only returns known names
        reply(ui.help_text(), ui.help_blocks())


def open_modal_for(deps: AppDeps, cmd: NceCommand, client: WebClient, trigger_id: str, channel: str | None) -> None:
    """Missing arguments: open the matching modal FIRST (trigger ids expire in 3 s), then load its content."""
    meta = ModalMetadata(kind=cmd.name, channel=channel, customer=cmd.customer_id,
                         subscription=cmd.subscription_id, schedule=cmd.schedule_id)
    if cmd.name in ("migrate", "validate", "schedule"):
        if cmd.customer_id is None:
            client.views_open(trigger_id=trigger_id, view=ui.change_modal(cmd.name, meta, options=cmd.options))
            return
        opened = client.views_open(trigger_id=trigger_id, view=ui.loading_modal(cmd.name, meta))
        view = opened["view"]
        try:
            nodes = deps.workflow.legacy_subscriptions(cmd.customer_id)
        except (DomainError, PartnerCenterError) as exc:
            from bot.app import friendly_error

            client.views_update(view_id=view["id"], hash=view["hash"],
                                view=ui.message_modal("ncebot", friendly_error(exc)))
            return
        modal = ui.change_modal(cmd.name, meta, subscriptions=nodes, options=cmd.options)
        modal = dui.offer_end_dates(deps.workflow, modal, cmd.customer_id, cmd.options)  # SPEC §10 aligned dates
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal)
    elif cmd.name == "reschedule":
        client.views_open(trigger_id=trigger_id, view=ui.reschedule_modal(meta, cmd.options))
    else:
        client.views_open(trigger_id=trigger_id, view=ui.lookup_modal(cmd.name, meta))
