"""Buttons (approve, reject, schedule Update / Cancel) and the selects inside modals that re-render them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.rules import require_guid
from bot.slack import blocks as ui
from bot.slack import deadline_blocks as dui
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.deps import app_deps
from bot.slack.forms import read_options_leniently
from handlers.common import after_ack, confirm_request, ephemeral_reply, guarded
from handlers.home import is_home_click, publish_home_after
from handlers.options import subscription_cache

if TYPE_CHECKING:
    from bot.workflow import DecisionResult


def _clicker(body: dict[str, Any]) -> tuple[str, str | None]:
    user = str(body["user"]["id"])
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return user, channel


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict((body.get("actions") or [{}])[0])


@guarded
def approve_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    wf = deps.workflow
    user, channel = _clicker(body)
    request_id = str(_action(body).get("value") or "")

    def work() -> None:
        if is_home_click(body):
            # From the App Home tab: no channel, no message. The workflow's notifier edits the request message
            # in the approval channel; the clicker sees the outcome on the refreshed tab (refusals: by DM).
            publish_home_after(deps, client, user, lambda: _approval_notice(wf.approve(request_id, user)))
            return
        result = wf.approve(request_id, user)
        if result.outcome == "vote_recorded":
            ephemeral_reply(client, user, channel)(_approval_notice(result), None)

    after_ack(deps, ack, body, client, work)


@guarded
def reject_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    wf = deps.workflow
    user, channel = _clicker(body)
    request_id = str(_action(body).get("value") or "")

    def work() -> None:
        wf.can_decide(request_id, user)  # refusals → report_error → ephemeral
        meta = ModalMetadata(kind="reject", channel=channel, request=request_id,
                             message_ts=(body.get("message") or {}).get("ts"),
                             origin="home" if is_home_click(body) else None)
        client.views_open(trigger_id=body["trigger_id"], view=ui.reject_modal(wf.get_request(request_id), meta))

    after_ack(deps, ack, body, client, work, trigger=True)  # database and Slack only: the 3-second lane


@guarded
def schedule_update_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _user, channel = _clicker(body)
    customer, schedule = _schedule_value(_action(body))
    meta = ModalMetadata(kind="reschedule", channel=channel, customer=customer, schedule=schedule)
    after_ack(app_deps(context), ack, body, client,
              lambda: client.views_open(trigger_id=body["trigger_id"], view=ui.reschedule_modal(meta)), trigger=True)


@guarded
def schedule_cancel_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    user, channel = _clicker(body)
    customer, schedule = _schedule_value(_action(body))

    def work() -> None:
        request = deps.workflow.request_change(kind=RequestKind.CANCEL, requester=user, customer_id=customer,
                                               schedule_id=schedule)
        confirm_request(client, request, ephemeral_reply(client, user, channel))

    after_ack(deps, ack, body, client, work)


@guarded
def customer_picked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    view = body.get("view") or {}
    meta = ModalMetadata.load(view.get("private_metadata"))
    selected = _action(body).get("selected_option") or {}
    customer = selected.get("value")
    if view.get("callback_id") not in (ids.MIGRATE_MODAL, ids.SCHEDULE_MODAL) or not customer:
        ack()
        return
    name = (selected.get("text") or {}).get("text")
    meta = replace(meta, customer=str(customer), customer_name=name, subscription=None)
    deps = app_deps(context)

    def work() -> None:
        nodes = deps.workflow.legacy_subscriptions(meta.customer or "")
        subscription_cache(deps).put(meta.customer or "", nodes)  # the picker's options come from here
        options = _current_options(view, meta.kind)
        modal = dui.offer_end_dates(deps.workflow,  # SPEC §10: Partner Center's aligned end dates
                                    ui.change_modal(meta.kind, meta, subscriptions=nodes, options=options),
                                    meta.customer or "", options)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=modal)

    after_ack(deps, ack, body, client, work)


@guarded
def subscription_picked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    view = body.get("view") or {}
    meta = ModalMetadata.load(view.get("private_metadata"))
    selected = (_action(body).get("selected_option") or {}).get("value")
    if not selected or not meta.customer:
        ack()
        return
    customer = meta.customer
    meta = replace(meta, subscription=str(selected))
    deps = app_deps(context)

    def work() -> None:
        nodes = subscription_cache(deps).get(customer)  # listed moments ago when the customer was picked
        options = _current_options(view, meta.kind)
        modal = dui.offer_end_dates(deps.workflow,  # SPEC §10: Partner Center's aligned end dates
                                    ui.change_modal(meta.kind, meta, subscriptions=nodes, options=options),
                                    customer, options)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=modal)

    after_ack(deps, ack, body, client, work)


def register(app: App) -> None:
    app.action(ids.APPROVE_ACTION)(approve_clicked)
    app.action(ids.REJECT_ACTION)(reject_clicked)
    app.action(ids.SCHEDULE_UPDATE_ACTION)(schedule_update_clicked)
    app.action(ids.SCHEDULE_CANCEL_ACTION)(schedule_cancel_clicked)
    app.action(ids.CUSTOMER_SELECT)(customer_picked)
    app.action(ids.SUBSCRIPTION_SELECT)(subscription_picked)


def _approval_notice(result: DecisionResult) -> str:
    if result.outcome == "vote_recorded":
        return ui.vote_recorded(result.request.id, result.votes_missing)
    return ui.you_approved(result.request.id)


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
