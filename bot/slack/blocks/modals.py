"""Modals: the change forms (validate, migrate, schedule, reschedule), lookups, reject, loading and messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

from bot.domain import ChangeOptions, RequestView
from bot.slack import ids
from bot.slack.blocks.common import MAX_METADATA, MAX_OPTIONS, Block, code, context, option, plain, section, users
from bot.slack.blocks.messages import KIND_LABEL
from bot.slack.commands import BILLINGS, TERMS

if TYPE_CHECKING:
    from bot.workflow import SubscriptionNode


@dataclass(frozen=True)
class ModalMetadata:
    """What a modal remembers between renders: small ids only (private_metadata ≤ 3000 chars)."""

    kind: str
    channel: str | None = None
    customer: str | None = None
    customer_name: str | None = None
    subscription: str | None = None
    schedule: str | None = None
    request: str | None = None
    message_ts: str | None = None
    origin: str | None = None  # "home": opened from the App Home tab (refresh it afterwards)
    response_url: str | None = None  # /nce import: the command's, so the answer is updated in place (SPEC §9)

    def dump(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_METADATA:
            data.pop("customer_name", None)
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: str | None) -> ModalMetadata:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        fields = {k: (str(v) if v is not None else None) for k, v in data.items() if k in cls.__dataclass_fields__}
        fields.setdefault("kind", "")
        return cls(**fields)  # type: ignore[arg-type]


_TITLES: Final = {
    "validate": "Validate subscription",
    "migrate": "Migrate to NCE",
    "schedule": "Schedule migration",
    "reschedule": "Change schedule",
    "subscriptions": "Legacy subscriptions",
    "schedules": "Migration schedules",
    "status": "Migration status",
    "cancel": "Cancel schedule",
    "watch": "Watch customer",
    "unwatch": "Stop watching",
    "check": "Check customer",
    "bulk": "Bulk migration",
    "audit": "Audit trail",
}


def loading_modal(kind: str, metadata: ModalMetadata) -> Block:
    return {
        "type": "modal",
        "callback_id": ids.LOADING_MODAL,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "close": plain("Close"),
        "private_metadata": metadata.dump(),
        "blocks": [section(":hourglass_flowing_sand: Loading from Partner Center…")],
    }


def message_modal(title: str, text: str) -> Block:
    """A modal that only says ``text`` (mrkdwn, already escaped)."""
    return {"type": "modal", "title": plain(title, 24), "close": plain("Close"), "blocks": [section(text)]}


def _customer_input(metadata: ModalMetadata, *, dispatch: bool) -> Block:
    element: Block = {
        "type": "external_select",
        "action_id": ids.CUSTOMER_SELECT,
        "placeholder": plain("Type a customer name or domain"),
        "min_query_length": 0,
    }
    if metadata.customer:
        element["initial_option"] = option(metadata.customer_name or metadata.customer, metadata.customer)
    return {"type": "input", "block_id": ids.CUSTOMER_BLOCK, "dispatch_action": dispatch,
            "label": plain("Customer"), "element": element}


def _select(block_id: str, action_id: str, label: str, choices: Sequence[tuple[str, str]], initial: str | None,
            *, optional: bool = True, hint: str | None = None) -> Block:
    element: Block = {"type": "static_select", "action_id": action_id, "placeholder": plain("Keep current"),
                      "options": [option(text, value) for text, value in choices[:MAX_OPTIONS]]}
    chosen = [option(t, v) for t, v in choices if v == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    block: Block = {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label),
                    "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _text_input(block_id: str, action_id: str, label: str, initial: str | None, *, optional: bool = True,
                multiline: bool = False, hint: str | None = None, placeholder: str | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = plain(placeholder)
    block: Block = {"type": "input", "block_id": block_id, "optional": optional, "label": plain(label),
                    "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _datepicker(block_id: str, action_id: str, label: str, initial: date | None, hint: str | None = None) -> Block:
    element: Block = {"type": "datepicker", "action_id": action_id}
    if initial:
        element["initial_date"] = initial.isoformat()
    block: Block = {"type": "input", "block_id": block_id, "optional": True, "label": plain(label), "element": element}
    if hint:
        block["hint"] = plain(hint)
    return block


def _checkbox(block_id: str, action_id: str, label: str, value: str, text: str, checked: bool) -> Block:
    opt = option(text, value)
    element: Block = {"type": "checkboxes", "action_id": action_id, "options": [opt]}
    if checked:
        element["initial_options"] = [opt]
    return {"type": "input", "block_id": block_id, "optional": True, "label": plain(label), "element": element}


def _option_blocks(options: ChangeOptions, *, scheduling: bool) -> list[Block]:
    blocks = []
    if scheduling:
        blocks += [
            _datepicker(ids.TARGET_DATE_BLOCK, ids.TARGET_DATE_INPUT, "Migrate on", options.target_date,
                        "Or tick 'on renewal' below."),
            _checkbox(ids.ON_RENEWAL_BLOCK, ids.ON_RENEWAL_INPUT, "On renewal", ids.FLAG_ON_RENEWAL,
                      "Migrate when the legacy term renews", options.on_renewal),
        ]
    blocks += [
        _select(ids.TERM_BLOCK, ids.TERM_INPUT, "Term", [(t, t) for t in TERMS], options.term),
        _select(ids.BILLING_BLOCK, ids.BILLING_INPUT, "Billing", [(b.capitalize(), b) for b in BILLINGS],
                options.billing),
        _text_input(ids.QUANTITY_BLOCK, ids.QUANTITY_INPUT, "Seats",
                    str(options.quantity) if options.quantity is not None else None, placeholder="Keep current"),
        _checkbox(ids.FLAGS_BLOCK, ids.FLAGS_INPUT, "Full term", ids.FLAG_FULL_TERM,
                  "Buy a full new term (instead of the remaining legacy term)", options.full_term),
        _datepicker(ids.END_DATE_BLOCK, ids.END_DATE_INPUT, "Custom term end date", options.end_date),
    ]
    return blocks


def change_modal(
    kind: str,
    metadata: ModalMetadata,
    *,
    subscriptions: Sequence[SubscriptionNode] | None = None,
    options: ChangeOptions | None = None,
    note: str | None = None,
) -> Block:
    """Validate / migrate / schedule form. ``subscriptions``: the chosen customer's legacy subscriptions."""
    options = options or ChangeOptions()
    blocks: list[Block] = [_customer_input(metadata, dispatch=True)]
    if note:
        blocks.append(context(note))
    if metadata.customer is None:
        blocks.append(context("Pick a customer to list its legacy subscriptions."))
    elif subscriptions is not None and not subscriptions:
        blocks.append(section(":information_source: This customer has no legacy subscriptions left to migrate."))
    elif subscriptions is not None:
        choices = [(f"{n.subscription.name} ({n.subscription.quantity or 0})", n.subscription.id)
                   for n in subscriptions]
        sub_block = _select(ids.SUBSCRIPTION_BLOCK, ids.SUBSCRIPTION_SELECT, "Legacy subscription", choices,
                            metadata.subscription, optional=False)
        sub_block["dispatch_action"] = True
        if len(choices) > MAX_OPTIONS:  # SPEC §9: searchable, not the first 100 (options: handlers/options.py)
            searchable: Block = {"type": "external_select", "action_id": ids.SUBSCRIPTION_SELECT,
                                 "min_query_length": 0}
            if "initial_option" in sub_block["element"]:
                searchable["initial_option"] = sub_block["element"]["initial_option"]
            sub_block["element"] = searchable
            sub_block["hint"] = plain(f"{len(choices):,} legacy subscriptions: type part of a name or id.")
        sub_block["element"]["placeholder"] = plain("Pick a subscription")
        blocks.append(sub_block)
        chosen = next((n for n in subscriptions if n.subscription.id == metadata.subscription), None)
        if chosen is not None and chosen.addons:
            addon_opts = [option(a.subscription.name, a.subscription.id) for a in chosen.addons[:MAX_OPTIONS]]
            selected = addon_opts if options.addons == "all" else (
                [] if options.addons == "none" else [o for o in addon_opts if o["value"] in options.addons])
            element: Block = {"type": "multi_static_select", "action_id": ids.ADDONS_INPUT, "options": addon_opts,
                              "placeholder": plain("No add-ons")}
            if selected:
                element["initial_options"] = selected
            blocks.append({"type": "input", "block_id": ids.ADDONS_BLOCK, "optional": True,
                           "label": plain("Add-ons migrated with it"), "element": element,
                           "hint": plain("All add-ons go with their base unless you remove them here.")})
        elif chosen is not None:
            blocks.append(context("This subscription has no add-ons."))
    blocks += _option_blocks(options, scheduling=kind == "schedule")
    callback = ids.SCHEDULE_MODAL if kind == "schedule" else ids.MIGRATE_MODAL
    return {
        "type": "modal",
        "callback_id": callback,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "submit": plain("Validate" if kind == "validate" else "Request approval", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def reschedule_modal(metadata: ModalMetadata, options: ChangeOptions | None = None) -> Block:
    options = options or ChangeOptions()
    blocks: list[Block] = [
        _customer_input(metadata, dispatch=False),
        _text_input(ids.SCHEDULE_ID_BLOCK, ids.SCHEDULE_ID_INPUT, "Schedule id", metadata.schedule, optional=False,
                    placeholder="0a1b2c3d-…"),
        *_option_blocks(options, scheduling=True),
    ]
    return {
        "type": "modal",
        "callback_id": ids.RESCHEDULE_MODAL,
        "title": plain(_TITLES["reschedule"], 24),
        "submit": plain("Request approval", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


_LOOKUP_ID: Final = {"status": "Migration id", "cancel": "Schedule id"}


def lookup_modal(kind: str, metadata: ModalMetadata) -> Block:
    """Customer (+ schedule or migration id) for subscriptions, schedules, status, cancel, watch, unwatch."""
    blocks: list[Block] = [_customer_input(metadata, dispatch=False)]
    if kind in _LOOKUP_ID:
        initial = metadata.schedule if kind == "cancel" else None
        blocks.append(_text_input(ids.OBJECT_ID_BLOCK, ids.OBJECT_ID_INPUT, _LOOKUP_ID[kind], initial,
                                  optional=False, placeholder="0a1b2c3d-…"))
    submit = {"cancel": "Request approval", "bulk": "Request approval", "check": "Check", "watch": "Watch",
              "unwatch": "Stop watching"}.get(kind, "Show")
    return {
        "type": "modal",
        "callback_id": ids.LOOKUP_MODAL,
        "title": plain(_TITLES.get(kind, "ncebot"), 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": blocks,
    }


def reject_modal(request: RequestView | None, metadata: ModalMetadata) -> Block:
    what = (f"Request {code(request.id)}: {KIND_LABEL.get(request.kind, request.kind)} for customer "
            f"{code(request.customer_id)}, by {users([request.requester])}") if request else (
        f"Request {code(metadata.request or '?')}")
    return {
        "type": "modal",
        "callback_id": ids.REJECT_MODAL,
        "title": plain("Reject request", 24),
        "submit": plain("Reject", 24),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": [
            section(what),
            _text_input(ids.REASON_BLOCK, ids.REASON_INPUT, "Reason", None, optional=False, multiline=True,
                        hint="Shown in the request message and its thread."),
        ],
    }
