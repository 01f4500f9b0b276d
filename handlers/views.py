"""Modal submissions: check the fields (errors on the right input block), ack, then call the workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import DomainError
from bot.partner_center.errors import PartnerCenterError
from bot.slack import blocks as ui
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.commands import NceCommand
from bot.slack.forms import FormErrors, read_change_form, read_lookup_form, read_reason
from handlers.common import CHANGE_KINDS, confirm_request, ephemeral_reply, guarded, run_command
from handlers.home import publish_home

if TYPE_CHECKING:
    from bot.app import AppDeps


def _addon_ids(view: dict[str, Any]) -> tuple[str, ...] | None:
    for block in view.get("blocks") or []:
        if block.get("block_id") == ids.ADDONS_BLOCK:
            return tuple(str(o["value"]) for o in (block.get("element") or {}).get("options") or [])
    return None


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return dict((view.get("state") or {}).get("values") or {})


def register(app: App, deps: AppDeps) -> None:
    wf = deps.workflow

    def today() -> Any:
        return deps.clock.now().date()

    @app.view(ids.MIGRATE_MODAL)
    @app.view(ids.SCHEDULE_MODAL)
    @guarded
    def change_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = ModalMetadata.load(view.get("private_metadata"))
        kind = meta.kind or ("schedule" if view.get("callback_id") == ids.SCHEDULE_MODAL else "migrate")
        try:
            form = read_change_form(_values(view), kind=kind, addon_ids=_addon_ids(view), today=today())
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        user = str(body["user"]["id"])
        assert form.customer_id and form.subscription_id
        if kind == "validate":
            ack(response_action="update", view=ui.loading_modal(kind, meta))
            try:
                outcome = wf.validate(form.customer_id, form.subscription_id, form.options)
                text = "\n\n".join(b["text"]["text"] for b in ui.validation_blocks(outcome))
            except (DomainError, PartnerCenterError) as exc:
                from bot.app import friendly_error

                text = friendly_error(exc)
            client.views_update(view_id=view["id"], view=ui.message_modal("Validation", text))
            return
        ack()
        request = wf.request_change(kind=CHANGE_KINDS[kind], requester=user, customer_id=form.customer_id,
                                    subscription_id=form.subscription_id, options=form.options)
        confirm_request(client, request, ephemeral_reply(client, user, meta.channel))

    @app.view(ids.RESCHEDULE_MODAL)
    @guarded
    def reschedule_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = ModalMetadata.load(view.get("private_metadata"))
        try:
            form = read_change_form(_values(view), kind="reschedule", today=today())
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        ack()
        user = str(body["user"]["id"])
        assert form.customer_id
        request = wf.request_change(kind=CHANGE_KINDS["reschedule"], requester=user, customer_id=form.customer_id,
                                    schedule_id=form.schedule_id, options=form.options)
        confirm_request(client, request, ephemeral_reply(client, user, meta.channel))

    @app.view(ids.LOOKUP_MODAL)
    @guarded
    def lookup_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = ModalMetadata.load(view.get("private_metadata"))
        try:
            form = read_lookup_form(_values(view), kind=meta.kind)
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        ack()
        user = str(body["user"]["id"])
        cmd = NceCommand(
            name=meta.kind,
            customer_id=form.customer_id,
            schedule_id=form.object_id if meta.kind == "cancel" else None,
            migration_id=form.object_id if meta.kind == "status" else None,
        )
        run_command(deps, cmd, user, ephemeral_reply(client, user, meta.channel), client, channel=meta.channel)

    @app.view(ids.REJECT_MODAL)
    @guarded
    def reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        meta = ModalMetadata.load(view.get("private_metadata"))
        try:
            reason = read_reason(_values(view))
        except FormErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        ack()
        user = str(body["user"]["id"])
        if meta.origin == "home":  # the Reject button of the App Home tab: the outcome shows on the tab
            notice = None
            try:
                result = wf.reject(meta.request or "", user, reason)
                notice = f":no_entry_sign: You rejected request `{result.request.id}`."
            finally:
                publish_home(deps, client, user, notice)
            return
        result = wf.reject(meta.request or "", user, reason)
        ephemeral_reply(client, user, meta.channel)(f":no_entry_sign: You rejected request `{result.request.id}`.",
                                                    None)
