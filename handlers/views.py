"""Modal submissions: check the fields (errors on the right input block), ack, then call the workflow on the
work queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain import DomainError
from bot.partner_center.errors import PartnerCenterError
from bot.slack import blocks as ui
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.commands import NceCommand
from bot.slack.deps import AppDeps, app_deps
from bot.slack.forms import (
    CHANGE_MODAL_KINDS,
    LOOKUP_KINDS,
    FormErrors,
    check_kind,
    check_request_id,
    read_change_form,
    read_lookup_form,
    read_reason,
)
from bot.slack.progress_answer import ProgressAnswer
from bot.slack.replies import friendly_error
from handlers.campaign_intake import run_bulk
from handlers.common import CHANGE_KINDS, after_ack, confirm_request, ephemeral_reply, guarded, run_command
from handlers.home import publish_home_after

T = TypeVar("T")


def _addon_ids(view: dict[str, Any]) -> tuple[str, ...] | None:
    for block in view.get("blocks") or []:
        if block.get("block_id") == ids.ADDONS_BLOCK:
            return tuple(str(o["value"]) for o in (block.get("element") or {}).get("options") or [])
    return None


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return dict((view.get("state") or {}).get("values") or {})


def _read_form(ack: Ack, read: Callable[[], T]) -> T | None:
    """What ``read`` returns, or None once the form's errors were acked (Slack shows them on the fields)."""
    try:
        return read()
    except FormErrors as exc:
        ack(response_action="errors", errors=exc.errors)
        return None


def _today(deps: AppDeps) -> Any:
    return deps.clock.now().date()


def _busy_modal(ack: Ack) -> Callable[[str], object]:
    """A full work queue, answered in a submission's own ack: the modal shows why nothing happened."""
    return lambda text: ack(response_action="update", view=ui.message_modal("ncebot", text))


@guarded
def change_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     context: BoltContext) -> None:
    deps = app_deps(context)
    wf = deps.workflow
    meta = ModalMetadata.load(view.get("private_metadata"))
    kind = meta.kind or ("schedule" if view.get("callback_id") == ids.SCHEDULE_MODAL else "migrate")
    form = _read_form(ack, lambda: read_change_form(
        _values(view), kind=check_kind(kind, CHANGE_MODAL_KINDS, view), addon_ids=_addon_ids(view),
        today=_today(deps)))
    if form is None:
        return
    user = str(body["user"]["id"])
    customer_id, subscription_id = form.customer_id, form.subscription_id
    assert customer_id and subscription_id
    if kind == "validate":
        def validate() -> None:
            try:
                outcome = wf.validate(customer_id, subscription_id, form.options)
                text = "\n\n".join(b["text"]["text"] for b in ui.validation_blocks(outcome))
            except (DomainError, PartnerCenterError) as exc:
                text = friendly_error(exc)
            client.views_update(view_id=view["id"], view=ui.message_modal("Validation", text))

        after_ack(deps, ack, body, client, validate, ack_busy=_busy_modal(ack),
                  ack_now=lambda: ack(response_action="update", view=ui.loading_modal(kind, meta)))
        return

    def change() -> None:
        request = wf.request_change(kind=CHANGE_KINDS[kind], requester=user, customer_id=customer_id,
                                    subscription_id=subscription_id, options=form.options)
        confirm_request(client, request, ephemeral_reply(client, user, meta.channel))

    after_ack(deps, ack, body, client, change, ack_busy=_busy_modal(ack))


@guarded
def reschedule_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                         context: BoltContext) -> None:
    deps = app_deps(context)
    meta = ModalMetadata.load(view.get("private_metadata"))
    form = _read_form(ack, lambda: read_change_form(_values(view), kind="reschedule", today=_today(deps)))
    if form is None:
        return
    user = str(body["user"]["id"])
    customer_id = form.customer_id
    assert customer_id

    def change() -> None:
        request = deps.workflow.request_change(kind=CHANGE_KINDS["reschedule"], requester=user,
                                               customer_id=customer_id, schedule_id=form.schedule_id,
                                               options=form.options)
        confirm_request(client, request, ephemeral_reply(client, user, meta.channel))

    after_ack(deps, ack, body, client, change, ack_busy=_busy_modal(ack))


@guarded
def lookup_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     context: BoltContext) -> None:
    deps = app_deps(context)
    meta = ModalMetadata.load(view.get("private_metadata"))
    form = _read_form(ack, lambda: read_lookup_form(_values(view), kind=check_kind(meta.kind, LOOKUP_KINDS, view)))
    if form is None:
        return
    user = str(body["user"]["id"])
    cmd = NceCommand(
        name=meta.kind,
        customer_id=form.customer_id,
        schedule_id=form.object_id if meta.kind == "cancel" else None,
        migration_id=form.object_id if meta.kind == "status" else None,
    )
    reply = ephemeral_reply(client, user, meta.channel)
    if cmd.name == "bulk":  # SPEC §8: a campaign request, as from /nce bulk
        answer = ProgressAnswer.of_reply(reply)
        after_ack(deps, ack, body, client, lambda: run_bulk(deps, cmd, user, answer, client),
                  ack_busy=_busy_modal(ack))
        return
    after_ack(deps, ack, body, client, lambda: run_command(deps, cmd, user, reply, client, channel=meta.channel),
              ack_busy=_busy_modal(ack))


@guarded
def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     context: BoltContext) -> None:
    deps = app_deps(context)
    meta = ModalMetadata.load(view.get("private_metadata"))

    def read() -> str:
        check_request_id(meta.request, view)  # damaged metadata: an error on the form, not a crash
        return read_reason(_values(view))

    reason = _read_form(ack, read)
    if reason is None:
        return
    user = str(body["user"]["id"])

    def reject() -> str:
        result = deps.workflow.reject(meta.request or "", user, reason)
        return ui.you_rejected(result.request.id)

    def work() -> None:
        if meta.origin == "home":  # the Reject button of the App Home tab: the outcome shows on the tab
            publish_home_after(deps, client, user, reject)
            return
        ephemeral_reply(client, user, meta.channel)(reject(), None)

    after_ack(deps, ack, body, client, work, ack_busy=_busy_modal(ack))


def register(app: App) -> None:
    app.view(ids.MIGRATE_MODAL)(change_submitted)
    app.view(ids.SCHEDULE_MODAL)(change_submitted)
    app.view(ids.RESCHEDULE_MODAL)(reschedule_submitted)
    app.view(ids.LOOKUP_MODAL)(lookup_submitted)
    app.view(ids.REJECT_MODAL)(reject_submitted)
