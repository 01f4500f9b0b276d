"""``/nce check`` and ``/nce audit``: CSV files uploaded with files_upload_v2, after the ack (they take a while)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.estimates import remaining_estimate, validation_estimate
from bot.slack import blocks as ui
from bot.slack.deps import AppDeps
from bot.slack.progress_answer import ProgressAnswer
from bot.slack.replies import Reply

log = logging.getLogger(__name__)

_WHY: dict[str, str] = {
    "not_in_channel": "ncebot is not a member of this channel: `/invite @ncebot`, or run the command where it is",
    "channel_not_found": "ncebot cannot see this channel (private, or a DM with someone else): invite it first",
    "is_archived": "this channel is archived",
    "missing_scope": "ncebot lacks the files:write scope: reinstall the app from manifest.yml",
    "not_allowed_token_type": "ncebot's token cannot upload files",
}


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or "unknown_error")


def upload_problem(exc: SlackApiError) -> str:
    code = _error(exc)
    return f"{_WHY[code]} (`{code}`)" if code in _WHY else f"Slack refused the upload: `{code}`"


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
    answer.say(f":hourglass_flowing_sand: Checking every legacy subscription of customer `{customer_id}` with "
               "Partner Center… the CSV report follows.")
    limit = deps.validate_limit

    def progress(done: int, total: int) -> None:
        if done == 0:
            if total:
                answer.say(":hourglass_flowing_sand: Checking "
                           + validation_estimate([total], limit, what="base subscription", pool=1) + ".")
            return
        answer.progress(done, total, lambda: f":hourglass_flowing_sand: Checking customer `{customer_id}`: "
                        + remaining_estimate(done, total, [total - done], limit, pool=1) + ".")

    report = deps.workflow.check_customer(customer_id, partner_tenant_id=deps.partner_tenant_id, progress=progress)
    summary = report.summary()
    note: str
    if channel:
        try:
            client.files_upload_v2(
                channel=channel,
                content=report.to_csv(),
                filename=report.filename,
                title=f"NCE check: {report.customer_name or report.customer_id}",
                initial_comment=f":bar_chart: <@{user}> ran `/nce check`: {summary}",
            )
            note = f":page_facing_up: `{report.filename}` is posted in this channel."
        except SlackApiError as exc:
            log.info("check report upload to %s failed: %s", channel, _error(exc))
            note = f":warning: The CSV could not be posted here: {upload_problem(exc)}."
    else:
        note = ":warning: No channel to post the CSV to: run `/nce check` in a channel."
    answer.finish(f"{summary}. {note}", ui.check_blocks(report, note))


def run_audit(deps: AppDeps, customer_id: str | None, user: str, reply: Reply, client: WebClient) -> None:
    """Approvers only (the workflow says who); the CSV goes to the requester by DM, never into the channel."""
    export = deps.workflow.audit_export(user, customer_id)
    scope = f"customer `{export.customer_id}`" if export.customer_id else "all customers"
    try:
        client.files_upload_v2(
            channel=open_dm(client, user),
            content=export.csv,
            filename=export.filename,
            title=f"ncebot audit trail: {scope.replace('`', '')}",
            initial_comment=f":lock: Audit trail of {scope}: {export.events} event(s). Sent only to you.",
        )
    except SlackApiError as exc:
        log.info("audit upload to %s's DM failed: %s", user, _error(exc))
        reply(f":warning: The audit CSV could not be sent to you by direct message ({upload_problem(exc)}). "
              "Nothing was posted in the channel.", None)
        return
    reply(f":lock: The audit trail of {scope} ({export.events} event(s)) is in your direct messages with ncebot "
          f"(`{export.filename}`). It is not posted in the channel.", None)
