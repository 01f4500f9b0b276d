"""``/nce check`` and ``/nce audit``: CSV files uploaded with files_upload_v2, after the ack (they take a while)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.estimates import remaining_estimate, validation_estimate
from bot.slack import blocks as ui
from bot.slack.blocks import reports as say
from bot.slack.deps import AppDeps
from bot.slack.progress_answer import ProgressAnswer
from bot.slack.replies import Reply

log = logging.getLogger(__name__)

def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or "unknown_error")


def upload_problem(exc: SlackApiError) -> str:
    return say.upload_problem(_error(exc))


def open_dm(client: WebClient, user: str) -> str:
    """The D… id of the bot's direct message with ``user`` (files.completeUploadExternal refuses U… ids)."""
    try:
        answer = client.conversations_open(users=user)
        return str(answer["channel"]["id"])
    except SlackApiError as exc:
        log.info("conversations.open failed (%s); uploading to the user id", _error(exc))
        return user


def run_check(deps: AppDeps, customer_id: str, user: str, answer: ProgressAnswer, client: WebClient,
              channel: str | None) -> None:
    """Tell the user at once, then the estimate once the subscriptions are listed (SPEC §9), run the (slow) check,
    upload the CSV where the command was run, and end the same answer with the summary."""
    answer.say(say.check_started(customer_id))
    limit = deps.validate_limit

    def progress(done: int, total: int) -> None:
        if done == 0:
            if total:
                answer.say(say.check_estimate(validation_estimate([total], limit, what="base subscription", pool=1)))
            return
        answer.progress(done, total, lambda: say.check_remaining(
            customer_id, remaining_estimate(done, total, [total - done], limit, pool=1)))

    report = deps.workflow.check_customer(customer_id, partner_tenant_id=deps.partner_tenant_id, progress=progress)
    summary = report.summary()
    note: str
    if channel:
        try:
            client.files_upload_v2(
                channel=channel,
                content=report.to_csv(),
                filename=report.filename,
                title=say.check_file_title(report.customer_name or report.customer_id),
                initial_comment=say.check_file_comment(user, summary),
            )
            note = say.csv_posted(report.filename)
        except SlackApiError as exc:
            log.info("check report upload to %s failed: %s", channel, _error(exc))
            note = say.csv_not_posted(upload_problem(exc))
    else:
        note = say.csv_needs_channel("/nce check")
    answer.finish(say.check_done(summary, note), ui.check_blocks(report, note))


def run_audit(deps: AppDeps, customer_id: str | None, user: str, reply: Reply, client: WebClient) -> None:
    """Approvers only (the workflow says who); the CSV goes to the requester by DM, never into the channel."""
    export = deps.workflow.audit_export(user, customer_id)
    scope = say.audit_scope(export.customer_id)
    try:
        client.files_upload_v2(
            channel=open_dm(client, user),
            content=export.csv,
            filename=export.filename,
            title=say.audit_file_title(scope),
            initial_comment=say.audit_file_comment(scope, export.events),
        )
    except SlackApiError as exc:
        log.info("audit upload to %s's DM failed: %s", user, _error(exc))
        reply(say.audit_not_sent(upload_problem(exc)), None)
        return
    reply(say.audit_sent(scope, export.events, export.filename), None)
