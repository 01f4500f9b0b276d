"""Shared listener helpers: how to answer, the hand-off of slow work to the work queue, and the subcommand
runner used by /nce and the lookup modal."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import DomainError, RequestKind, RequestView
from bot.partner_center.errors import PartnerCenterError
from bot.slack import blocks as ui
from bot.slack import deadline_blocks as dui
from bot.slack.blocks import ModalMetadata
from bot.slack.blocks import campaigns as campaign_ui
from bot.slack.blocks import reports as report_texts
from bot.slack.commands import NceCommand
from bot.slack.deps import AppDeps
from bot.slack.progress_answer import ProgressAnswer
from bot.slack.replies import Reply, busy_text, friendly_error, report_error, tell_user
from bot.work_queue import QueueFull
from handlers.options import subscription_cache
from handlers.reports import run_audit, run_check

log = logging.getLogger(__name__)


CHANGE_KINDS = {
    "migrate": RequestKind.MIGRATE,
    "schedule": RequestKind.SCHEDULE,
    "reschedule": RequestKind.RESCHEDULE,
    "cancel": RequestKind.CANCEL,
}


F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Route a listener's errors to ``report_error`` itself, acking first if it had not.

    Bolt (1.30, process_before_response=False) resets ``ack.response`` when a listener raises after acking,
    and a fast failure then turns the HTTP answer into a 404 after 3 s. Listeners therefore never raise.
    The wrapped function must take ``ack``, ``body`` and ``client`` (Bolt injects by parameter name).
    """

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None:
                ack()
            report_error(exc, kwargs.get("body") or {}, kwargs["client"])
            return None

    return wrapper  # type: ignore[return-value]


def after_ack(deps: AppDeps, ack: Ack | None, body: dict[str, Any], client: WebClient, job: Callable[[], object],
              *, ack_now: Callable[[], object] | None = None, ack_busy: Callable[[str], object] | None = None,
              trigger: bool = False) -> None:
    """Ack at once and run ``job`` (the slow part: Partner Center, Slack, the database) on the work queue, so
    Bolt's listener threads only ever ack. The job's errors reach the user through ``report_error``.

    A place in the queue is reserved BEFORE the ack, so a full queue is answered in the ack itself when the
    listener can (``ack_busy(text)``: a command's ephemeral text, a modal's update); otherwise (``ack_busy``
    None: a button) the ack is plain and the user is told privately at once. ``ack_now``: the ack to send when
    the job was queued (default ``ack()``). ``ack`` None: Bolt acked already (events). ``trigger``: the job opens
    a modal with the request's trigger id (valid 3 s), so it runs on ``deps.triggers``, which Partner Center work
    never occupies."""
    queue = deps.triggers if trigger else deps.work
    try:
        ticket = queue.reserve()
    except QueueFull as full:
        text = busy_text(full.ahead)
        log.warning("work queue full (%d jobs ahead): a request was turned away", full.ahead)
        if ack_busy is not None:
            ack_busy(text)
            return
        if ack is not None:
            ack()
        if body.get("user") or body.get("user_id"):
            tell_user(client, body, text)
        return
    try:
        if ack_now is not None:
            ack_now()
        elif ack is not None:
            ack()
    except BaseException:
        ticket.release()
        raise

    def run() -> None:
        try:
            job()
        except Exception as exc:
            report_error(exc, body, client)

    ticket.submit(run)


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
                channel: str | None = None, answer: ProgressAnswer | None = None) -> None:
    """Run a complete (no missing arguments) subcommand and answer through ``reply``. ``channel``: where the
    command was run (``/nce check`` posts its CSV there). ``answer``: the command's answer to update in place
    (SPEC §9: slow commands); without one, the slow commands answer through ``reply``."""
    wf = deps.workflow
    name = cmd.name
    if name == "help":
        reply(ui.help_text(), ui.help_blocks())
    elif name == "subscriptions":
        assert cmd.customer_id
        if answer is not None:  # SPEC §9: a big customer's list takes several pages; say so at once
            answer.unless_done_within(2.0, report_texts.listing_subscriptions(cmd.customer_id))
        nodes = wf.legacy_subscriptions(cmd.customer_id)
        (answer.finish if answer is not None else reply)(
            report_texts.subscriptions_summary(len(nodes), cmd.customer_id),
            ui.subscriptions_blocks(cmd.customer_id, nodes))
    elif name == "validate":
        assert cmd.customer_id and cmd.subscription_id
        outcome = wf.validate(cmd.customer_id, cmd.subscription_id, cmd.options)
        reply(report_texts.validation_verdict(cmd.subscription_id, outcome.eligible), ui.validation_blocks(outcome))
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
    elif name == "check":
        assert cmd.customer_id
        run_check(deps, cmd.customer_id, user, answer or ProgressAnswer.of_reply(reply), client, channel)
    elif name == "audit":
        run_audit(deps, cmd.customer_id, user, reply, client)
    elif name == "schedules":
        assert cmd.customer_id
        schedules = wf.list_schedules(cmd.customer_id, cmd.subscription_id)
        led = [s.id for s in schedules if s.microsoft_led and s.id]
        reply(report_texts.schedules_summary(len(schedules), cmd.customer_id),
              dui.mark_microsoft_led(ui.schedules_blocks(cmd.customer_id, schedules), led))
    elif name == "status":
        assert cmd.customer_id and cmd.migration_id
        status = wf.migration_status(cmd.customer_id, cmd.migration_id)
        led = [status.migration.id or cmd.migration_id] if status.migration.microsoft_led else []
        reply(report_texts.migration_summary(cmd.migration_id, status.migration.status, microsoft_led=bool(led)),
              dui.mark_microsoft_led(ui.status_blocks(cmd.customer_id, status), led))
    elif name in ("campaign", "campaigns"):
        run_campaigns(deps, cmd, reply, client, channel)
    elif name == "pending":
        pending = wf.pending_requests()
        reply(report_texts.pending_summary(len(pending)), ui.pending_blocks(pending))
    elif name == "watch":
        assert cmd.customer_id
        wf.watch(cmd.customer_id, user)
        reply(report_texts.watching(cmd.customer_id), None)
    elif name == "unwatch":
        assert cmd.customer_id
        wf.unwatch(cmd.customer_id, user)
        reply(report_texts.unwatched(cmd.customer_id), None)
    else:  # pragma: no cover - the parser only returns known names
        reply(ui.help_text(), ui.help_blocks())


def run_campaigns(deps: AppDeps, cmd: NceCommand, reply: Reply, client: WebClient, channel: str | None) -> None:
    """``/nce campaigns``: the recent ones; ``/nce campaign <id>``: its counts and its results file."""
    service = deps.campaigns
    if service is None:
        reply(ui.error_text(":warning:", campaign_ui.CAMPAIGNS_UNAVAILABLE), None)
        return
    if cmd.campaign_id is None:
        rows = service.recent()
        reply(campaign_ui.campaigns_summary(len(rows)), campaign_ui.campaigns_blocks(rows))
        return
    progress = service.progress(cmd.campaign_id)
    request = deps.workflow.get_request(cmd.campaign_id)
    summary = campaign_ui.campaign_summary(request, progress)
    name, content = service.results_file(cmd.campaign_id)
    if not channel:
        reply(summary + campaign_ui.FILE_NEEDS_CHANNEL, None)
        return
    reply(summary, None)
    client.files_upload_v2(channel=channel, filename=name, title=name, content=content)


def open_modal_for(deps: AppDeps, cmd: NceCommand, client: WebClient, trigger_id: str, channel: str | None) -> None:
    """Missing arguments: open the matching modal FIRST (trigger ids expire in 3 s; this runs on the trigger
    lane), then load its content from Partner Center on the work queue."""
    meta = ModalMetadata(kind=cmd.name, channel=channel, customer=cmd.customer_id,
                         subscription=cmd.subscription_id, schedule=cmd.schedule_id)
    if cmd.name in ("migrate", "validate", "schedule"):
        customer_id = cmd.customer_id
        if customer_id is None:
            client.views_open(trigger_id=trigger_id, view=ui.change_modal(cmd.name, meta, options=cmd.options))
            return
        opened = client.views_open(trigger_id=trigger_id, view=ui.loading_modal(cmd.name, meta))
        view = opened["view"]

        def fill() -> None:
            try:
                nodes = deps.workflow.legacy_subscriptions(customer_id)
                subscription_cache(deps).put(customer_id, nodes)  # the picker's options (over 100) come from here
            except (DomainError, PartnerCenterError) as exc:
                client.views_update(view_id=view["id"], hash=view["hash"],
                                    view=ui.message_modal("ncebot", friendly_error(exc)))
                return
            client.views_update(view_id=view["id"], hash=view["hash"],
                                view=dui.offer_end_dates(  # SPEC §10: Partner Center's aligned end dates
                                    deps.workflow, ui.change_modal(cmd.name, meta, subscriptions=nodes,
                                                                   options=cmd.options), customer_id, cmd.options))

        try:
            deps.work.submit(fill)
        except QueueFull as full:
            client.views_update(view_id=view["id"], hash=view["hash"],
                                view=ui.message_modal("ncebot", busy_text(full.ahead)))
    elif cmd.name == "reschedule":
        client.views_open(trigger_id=trigger_id, view=ui.reschedule_modal(meta, cmd.options))
    else:
        client.views_open(trigger_id=trigger_id, view=ui.lookup_modal(cmd.name, meta))
