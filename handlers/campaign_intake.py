"""Campaigns in (SPEC §8, §9): ``/nce bulk <customer>``, ``/nce bulk all``, ``/nce import`` (its modal and the
uploaded file) and ``/nce check all``. Each answers at once with what it does and an estimate, updates that answer
in place while Partner Center works, and hands the validated plan to the campaign service (``deps.campaigns``),
which stores the one request and posts it for approval. Runs on the work queue, never in Bolt's threads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.bam import BamFileError, BamPlan, SkippedRow, read_bam
from bot.campaigns.model import CampaignSource
from bot.campaigns.service import CampaignService
from bot.domain import InvalidInput
from bot.estimates import customers_estimate, remaining_estimate, validation_estimate
from bot.intake.check_all import POOL as CHECK_POOL
from bot.intake.check_all import CheckAllProgress, check_all
from bot.intake.planning import Planner, PlanProgress
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.blocks import campaign_intake as say
from bot.slack.blocks import reports as report_texts
from bot.slack.commands import NceCommand
from bot.slack.deps import AppDeps, app_deps
from bot.slack.file_download import download
from bot.slack.progress_answer import ProgressAnswer
from bot.slack.replies import friendly_error
from handlers.common import after_ack, guarded, permalink
from handlers.reports import open_dm, upload_problem

log = logging.getLogger(__name__)


def _planner(deps: AppDeps) -> Planner:
    if deps.planner is None:
        raise RuntimeError("AppDeps.planner is not set: build it in the composition root")
    return deps.planner


def _service(deps: AppDeps) -> CampaignService:
    if deps.campaigns is None:
        raise RuntimeError("AppDeps.campaigns is not set: build the campaign service in the composition root")
    return deps.campaigns


def _tracker(deps: AppDeps, answer: ProgressAnswer, source: str) -> Callable[[PlanProgress], None]:
    """A planning progress callback that updates ``answer``: the estimate once the count is known, then
    milestones."""
    per_customer: list[int] = []

    def progress(p: PlanProgress) -> None:
        if p.stage == "listing":
            answer.progress(p.done, p.total, lambda: say.listing(p.done, p.total, p.subscriptions))
        elif p.done == 0:
            per_customer[:] = list(p.per_customer or (p.total,))
            answer.say(say.validating(validation_estimate(per_customer, deps.validate_limit, what="migration"),
                                      source))
        else:
            def text() -> str:
                share = (p.total - p.done) / p.total
                left = [round(n * share) for n in per_customer]
                return say.validated_so_far(p.done, p.total,
                                            remaining_estimate(p.done, p.total, left, deps.validate_limit))

            answer.progress(p.done, p.total, text)

    return progress


def _finishing(answer: ProgressAnswer, job: Callable[[], None]) -> None:
    """Run ``job``; a failure becomes the final state of the same answer (not a second message)."""
    try:
        job()
    except Exception as exc:
        answer.finish(friendly_error(exc))


def _hand_over(deps: AppDeps, client: WebClient, answer: ProgressAnswer, plan: BamPlan, ineligible: list[SkippedRow],
               *, user: str, source: str, what: str, file_name: str | None = None) -> None:
    """The validated plan to the campaign service, and the final answer."""
    if plan.operations == 0:
        answer.finish(say.nothing_to_send(what, [*plan.skipped, *ineligible]))
        return
    request = _service(deps).request(plan, requester=user, source=CampaignSource(source), ineligible=ineligible,
                                     file_name=file_name)
    from bot.slack.blocks import confirmation_text

    answer.finish(say.requested(confirmation_text(request, permalink(client, request)), plan, ineligible))


# --- /nce bulk <customer> | /nce bulk all ---------------------------------------------------------------------


def run_bulk(deps: AppDeps, cmd: NceCommand, user: str, answer: ProgressAnswer, client: WebClient) -> None:
    """``answer``: the command's response_url (:meth:`ProgressAnswer.of_respond`), or a reply without one (the
    lookup modal's submission) that cannot be updated in place."""
    planner = _planner(deps)
    Planner.check_bulk_options(cmd.options)  # a wrong option is refused before anything is read
    _finishing(answer, lambda: _bulk(deps, planner, cmd, user, answer, client))


def _bulk(deps: AppDeps, planner: Planner, cmd: NceCommand, user: str, answer: ProgressAnswer,
          client: WebClient) -> None:
    if cmd.every_customer:
        if deps.customers is None:
            raise InvalidInput(say.needs_customer_list("/nce bulk all"), field="customer")
        everyone = deps.customers.customers()
        ids_, names = [c.id for c in everyone], {c.id: c.name for c in everyone}
        answer.say(say.planning_bulk(len(everyone), None))
        source, what = "bulk all", say.bulk_subject(len(everyone), None)
    else:
        assert cmd.customer_id
        ids_, names = [cmd.customer_id], {}
        answer.say(say.planning_bulk(1, cmd.query or cmd.customer_id))
        source, what = "bulk", say.bulk_subject(1, cmd.query or cmd.customer_id)
    plan, ineligible = planner.plan_customers(ids_, cmd.options, _tracker(deps, answer, what), names=names)
    _hand_over(deps, client, answer, plan, ineligible, user=user, source=source, what=what)


# --- /nce check all --------------------------------------------------------------------------------------------


def run_check_all(deps: AppDeps, user: str, respond: Respond, client: WebClient, channel: str | None) -> None:
    if deps.customers is None:
        raise InvalidInput(say.needs_customer_list("/nce check all"), field="customer")
    answer = ProgressAnswer.of_respond(respond)
    _finishing(answer, lambda: _check_all(deps, user, answer, client, channel))


def _check_all(deps: AppDeps, user: str, answer: ProgressAnswer, client: WebClient, channel: str | None) -> None:
    assert deps.customers is not None
    everyone = deps.customers.customers()
    answer.say(say.check_all_started(len(everyone), customers_estimate(len(everyone), 0, 0, deps.validate_limit)))

    def progress(p: CheckAllProgress) -> None:
        def text() -> str:
            return say.check_all_progress(p.customers_done, p.customers, p.subscriptions,
                                          customers_estimate(p.customers, p.subscriptions, p.customers_done,
                                                             deps.validate_limit))

        if p.customers_done == CHECK_POOL and p.customers > 2 * CHECK_POOL:
            answer.say(text())  # the first estimate from real counts, once the first round of customers is in
        else:
            answer.progress(p.customers_done, p.customers, text)

    report = check_all(deps.workflow, everyone, partner_tenant_id=deps.partner_tenant_id, progress=progress)
    if channel:
        try:
            client.files_upload_v2(channel=channel, content=report.to_csv(), filename=report.filename,
                                   title=report_texts.CHECK_ALL_FILE_TITLE,
                                   initial_comment=report_texts.check_all_file_comment(user, report.rows,
                                                                                       len(report.reports)))
            note = report_texts.csv_posted(report.filename)
        except SlackApiError as exc:
            note = report_texts.csv_not_posted(upload_problem(exc))
    else:
        note = report_texts.csv_needs_channel("/nce check all")
    answer.finish(say.check_all_done(report.customers, report.rows, report.eligible, report.ineligible,
                                     report.skipped, note, [(f.customer.name, f.reason) for f in report.failures]))


# --- /nce import -----------------------------------------------------------------------------------------------


def open_import_modal(client: WebClient, body: dict[str, Any]) -> None:
    """On the trigger lane (the trigger id lasts 3 s). The command's response_url rides along in the modal's
    metadata, so the answer after the upload is updated in place where the command was run."""
    meta = ModalMetadata(kind="import", channel=body.get("channel_id"), response_url=body.get("response_url"))
    client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=say.import_modal(meta))


def _import_answer(client: WebClient, user: str, meta: ModalMetadata) -> ProgressAnswer:
    if meta.response_url:
        webhook = WebhookClient(meta.response_url)

        def send(text: str, blocks: list[dict[str, Any]] | None, replace: bool) -> None:
            webhook.send(text=text, blocks=blocks, response_type="ephemeral", replace_original=replace)

        return ProgressAnswer(send)

    def post(text: str, blocks: list[dict[str, Any]] | None, replace: bool) -> None:
        if meta.channel:
            try:
                client.chat_postEphemeral(channel=meta.channel, user=user, text=text, blocks=blocks)
                return
            except SlackApiError:
                pass
        client.chat_postMessage(channel=user, text=text, blocks=blocks)

    return ProgressAnswer(post, in_place=False)


def run_import(deps: AppDeps, client: WebClient, user: str, file_id: str, meta: ModalMetadata,
               name: str | None = None) -> None:
    answer = _import_answer(client, user, meta)
    answer.say(say.reading_file(name or file_id))
    _finishing(answer, lambda: _import(deps, client, user, file_id, answer))


def _import(deps: AppDeps, client: WebClient, user: str, file_id: str, answer: ProgressAnswer) -> None:
    got = download(client, file_id, uploaded_by=user)
    try:
        plan = read_bam(got.content)
    except BamFileError as refused:  # nothing stored: the plan never reaches the campaign service
        if len(refused.problems) > BamFileError.SHOWN:  # the answer lists the first ones; the file has them all
            _send_problems(client, user, got.name, refused)
        answer.finish(say.file_refused(got.name, refused))
        return
    what = f"`{got.name}`"
    answer.say(say.plan_read(got.name, plan))
    checked, ineligible = _planner(deps).validate_plan(plan, _tracker(deps, answer, what))
    _hand_over(deps, client, answer, checked, ineligible, user=user, source="import", what=got.name,
               file_name=got.name)


def _send_problems(client: WebClient, user: str, name: str, refused: BamFileError) -> None:
    """Every problem of a refused file as a CSV, to the person only (their file's contents stay private)."""
    try:
        client.files_upload_v2(channel=open_dm(client, user), content=refused.problems_csv(),
                               filename=f"problems-{name}", title=f"Problems in {name}",
                               initial_comment=say.problems_file(name, len(refused.problems)))
    except SlackApiError as exc:
        log.info("problems file of %s not sent: %s", name, exc.response.get("error"))


@guarded
def import_submitted(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    view = body.get("view") or {}
    state = ((view.get("state") or {}).get("values") or {}).get(ids.IMPORT_FILE_BLOCK, {})
    files = (state.get(ids.IMPORT_FILE_INPUT) or {}).get("files") or []
    if not files or not files[0].get("id"):
        ack(response_action="errors", errors={ids.IMPORT_FILE_BLOCK: say.NO_FILE})
        return
    file_id, name = str(files[0]["id"]), files[0].get("name")
    user = str((body.get("user") or {}).get("id") or "")
    meta = ModalMetadata.load(view.get("private_metadata"))
    after_ack(deps, ack, body, client, lambda: run_import(deps, client, user, file_id, meta, name),
              ack_busy=lambda text: ack(response_action="errors", errors={ids.IMPORT_FILE_BLOCK: text}))


def register(app: App) -> None:
    app.view(ids.IMPORT_MODAL)(import_submitted)
