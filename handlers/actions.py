"""Buttons (approve, reject, schedule Update / Cancel) and the selects inside modals that re-render them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.rules import require_guid
from bot.slack import blocks as ui
from bot.slack import deadline_blocks as dui
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.forms import read_options_leniently
from handlers.common import confirm_request, ephemeral_reply, guarded
from handlers.home import is_home_click, publish_home_after

if TYPE_CHECKING:
    from bot.app import AppDeps
    from bot.workflow import DecisionResult


def _clicker(body: dict[str, Any]) -> tuple[str, str | None]:
    user = str(body["user"]["id"])
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return user, channel


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict((body.get("actions") or [{}])[0])


def register(app: App, deps: AppDeps) -> None:
    wf = deps.workflow

    @app.action(ids.APPROVE_ACTION)
    @guarded
    def approve_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = _clicker(body)
        request_id = str(_action(body).get("value") or "")
        if is_home_click(body):
            # From the App Home tab: no channel, no message. The workflow's notifier edits the request message
            # in the approval channel; the clicker sees the outcome on the refreshed tab (refusals: by DM).
            publish_home_after(deps, client, user, lambda: _approval_notice(wf.approve(request_id, user)))
            return
        result = wf.approve(request_id, user)
        if result.outcome == "vote_recorded":
            ephemeral_reply(client, user, channel)(_approval_notice(result), None)

    @app.action(ids.REJECT_ACTION)
    @guarded
    def reject_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = _clicker(body)
        request_id = str(_action(body).get("value") or "")
        wf.can_decide(request_id, user)  # refusals → error handler → ephemeral
        meta = ModalMetadata(kind="reject", channel=channel, request=request_id,
                             message_ts=(body.get("message") or {}).get("ts"),
                             origin="home" if is_home_click(body) else None)
        client.views_open(trigger_id=body["trigger_id"], view=ui.reject_modal(wf.get_request(request_id), meta))

    @app.action(ids.SCHEDULE_UPDATE_ACTION)
    @guarded
    def schedule_update_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _user, channel = _clicker(body)
        customer, schedule = _schedule_value(_action(body))
        meta = ModalMetadata(kind="reschedule", channel=channel, customer=customer, schedule=schedule)
        client.views_open(trigger_id=body["trigger_id"], view=ui.reschedule_modal(meta))

    @app.action(ids.SCHEDULE_CANCEL_ACTION)
    @guarded
    def schedule_cancel_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user, channel = _clicker(body)
        customer, schedule = _schedule_value(_action(body))
        request = wf.request_change(kind=RequestKind.CANCEL, requester=user, customer_id=customer,
                                    schedule_id=schedule)
        confirm_request(client, request, ephemeral_reply(client, user, channel))

    @app.action(ids.CUSTOMER_SELECT)
    @guarded
    def customer_picked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body.get("view") or {}
        meta = ModalMetadata.load(view.get("private_metadata"))
        if view.get("callback_id") not in (ids.MIGRATE_MODAL, ids.SCHEDULE_MODAL):
            return
        selected = _action(body).get("selected_option") or {}
        customer = selected.get("value")
        if not customer:
            return
        name = (selected.get("text") or {}).get("text")
        meta = replace(meta, customer=str(customer), customer_name=name, subscription=None)
        nodes = wf.legacy_subscriptions(meta.customer or "")
        options = _current_options(view, meta.kind)
        modal = dui.offer_end_dates(wf, ui.change_modal(meta.kind, meta, subscriptions=nodes, options=options),
                                    meta.customer, options)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=modal)

    @app.action(ids.SUBSCRIPTION_SELECT)
    @guarded
    def subscription_picked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        view = body.get("view") or {}
        meta = ModalMetadata.load(view.get("private_metadata"))
        selected = (_action(body).get("selected_option") or {}).get("value")
        if not selected or not meta.customer:
            return
        customer = meta.customer
        meta = replace(meta, subscription=str(selected))
        nodes = wf.legacy_subscriptions(customer)
        options = _current_options(view, meta.kind)
        modal = dui.offer_end_dates(wf, ui.change_modal(meta.kind, meta, subscriptions=nodes, options=options),
                                    customer, options)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=modal)


def _approval_notice(result: DecisionResult) -> str:
    if result.outcome == "vote_recorded":
        return (f":ballot_box_with_check: Your approval of `{result.request.id}` is recorded; "
                f"{result.votes_missing} more approval(s) needed.")
    return f":white_check_mark: You approved request `{result.request.id}`; progress goes into its thread."


def _schedule_value(action: dict[str, Any]) -> tuple[str, str]:
    customer, _, schedule = str(action.get("value") or "").partition("|")
    return require_guid(customer, "customer"), require_guid(schedule, "schedule")


def _current_options(view: dict[str, Any], kind: str) -> ChangeOptions | None:
    """Keep what the user already typed when the modal is re-rendered (best effort)."""
    values = (view.get("state") or {}).get("values") or {}
    try:
        return read_options_leniently(values, kind=kind)
    except (InvalidInput, ValueError, TypeError):
        return None
