"""SPEC §10 listeners: Reduce seats… / Cancel subscription… (a modal, then an approval request) and the renewal
radar's Schedule… / Migrate now… buttons (the existing modals, pre-filled). No business rules here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deadlines.renewals import DEFAULT_DAYS, RenewalRadar
from bot.domain import ChangeOptions, InvalidInput, RequestKind
from bot.slack import blocks as ui
from bot.slack import deadline_blocks as dui
from bot.slack import ids
from bot.slack.blocks import ModalMetadata
from bot.slack.commands import NceCommand, parse_quantity, require_guid
from bot.slack.deps import AppDeps, app_deps
from bot.slack.forms import FormErrors
from handlers.common import after_ack, confirm_request, ephemeral_reply, guarded, open_modal_for

WINDOW_KINDS = {ids.REDUCE_SEATS_ACTION: RequestKind.REDUCE_SEATS,
                ids.CANCEL_SUBSCRIPTION_ACTION: RequestKind.CANCEL_SUBSCRIPTION}


def _clicked(body: dict[str, Any]) -> tuple[str, str | None, str, str, str]:
    action = dict((body.get("actions") or [{}])[0])
    customer, subscription = dui.parse_window_value(str(action.get("value") or ""))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return (str(body["user"]["id"]), channel, str(action.get("action_id") or ""),
            require_guid(customer, "customer"), require_guid(subscription, "subscription"))


@guarded
def window_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    _user, channel, action, customer, subscription = _clicked(body)
    kind = WINDOW_KINDS[action]

    def work() -> None:
        window = None
        if deps.windows is not None:  # after the deadline: refused here with the reason (→ ephemeral)
            window = deps.windows.check_open(customer, subscription, cancel=kind is RequestKind.CANCEL_SUBSCRIPTION)
        meta = ModalMetadata(kind=kind.value, channel=channel, customer=customer, subscription=subscription)
        client.views_open(trigger_id=body["trigger_id"], view=dui.window_modal(kind.value, meta, window))

    after_ack(deps, ack, body, client, work, trigger=True)  # database and Slack only: the 3-second lane


@guarded
def window_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient,
                     context: BoltContext) -> None:
    deps = app_deps(context)
    meta = ModalMetadata.load(view.get("private_metadata"))
    kind = RequestKind(meta.kind)
    options = ChangeOptions()
    if kind is RequestKind.REDUCE_SEATS:
        values = (view.get("state") or {}).get("values") or {}
        raw = str(((values.get(ids.QUANTITY_BLOCK) or {}).get(ids.QUANTITY_INPUT) or {}).get("value") or "")
        try:
            options = ChangeOptions(quantity=parse_quantity(raw))
        except InvalidInput as exc:
            ack(response_action="errors", errors=FormErrors({ids.QUANTITY_BLOCK: str(exc)}).errors)
            return
    user = str(body["user"]["id"])

    def change() -> None:
        request = deps.workflow.request_change(kind=kind, requester=user, customer_id=meta.customer or "",
                                               subscription_id=meta.subscription, options=options)
        confirm_request(client, request, ephemeral_reply(client, user, meta.channel))

    after_ack(deps, ack, body, client, change,
              ack_busy=lambda text: ack(response_action="update", view=ui.message_modal("ncebot", text)))


@guarded
def renewal_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    deps = app_deps(context)
    _user, channel, action, customer, subscription = _clicked(body)
    schedule = action == ids.RENEWAL_SCHEDULE_ACTION
    cmd = NceCommand("schedule" if schedule else "migrate", customer_id=customer, subscription_id=subscription,
                     options=ChangeOptions(on_renewal=schedule))
    # Opens the modal first (trigger lane), then open_modal_for queues the Partner Center fill on deps.work.
    after_ack(deps, ack, body, client,
              lambda: open_modal_for(deps, cmd, client, str(body.get("trigger_id") or ""), channel), trigger=True)


def register(app: App) -> None:
    app.action(ids.REDUCE_SEATS_ACTION)(window_clicked)
    app.action(ids.CANCEL_SUBSCRIPTION_ACTION)(window_clicked)
    app.view(ids.WINDOW_MODAL)(window_submitted)
    app.action(ids.RENEWAL_SCHEDULE_ACTION)(renewal_clicked)
    app.action(ids.RENEWAL_MIGRATE_ACTION)(renewal_clicked)


PROGRESS_EVERY = 3.0  # seconds between in-place progress edits of a slow /nce renewals (SPEC §9)


def run_renewals(deps: AppDeps, cmd: NceCommand, respond: Callable[..., Any]) -> None:
    """``/nce renewals``: one customer answers directly; every customer answers at once and is then edited in
    place (response_url ``replace_original``) with progress and, finally, the list."""
    radar = RenewalRadar(deps.workflow, deps.clock)
    days = cmd.days or DEFAULT_DAYS
    if cmd.customer_id is not None:
        report = radar.report([cmd.customer_id], days)
        text, blocks = dui.renewals_blocks(report, f"customer `{cmd.customer_id}`")
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        return
    respond(text=dui.RENEWALS_LOOKING,
            response_type="ephemeral", replace_original=False)
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY and done < total:
            last[0] = time.monotonic()
            respond(text=dui.renewals_progress(done, total), response_type="ephemeral", replace_original=True)

    report = radar.report(None, days, progress=progress)
    text, blocks = dui.renewals_blocks(report, "all customers")
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=True)
