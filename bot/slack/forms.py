"""Pure readers of modal ``view.state.values``: turn a submission into ids and ChangeOptions or field errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.domain import AddOnChoice, ChangeOptions, InvalidInput
from bot.slack import ids
from bot.slack.commands import parse_billing, parse_quantity, parse_term, require_guid

Values = dict[str, dict[str, dict[str, Any]]]


class FormErrors(Exception):
    """Field errors keyed by the INPUT block id they belong to (``ack(response_action="errors", ...)``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ChangeForm:
    customer_id: str | None
    subscription_id: str | None = None
    schedule_id: str | None = None
    object_id: str | None = None
    options: ChangeOptions = field(default_factory=ChangeOptions)


def _element(values: Values, block_id: str, action_id: str) -> dict[str, Any]:
    return (values.get(block_id) or {}).get(action_id) or {}


def selected_value(values: Values, block_id: str, action_id: str) -> str | None:
    option = _element(values, block_id, action_id).get("selected_option") or {}
    value = option.get("value")
    return str(value) if value else None


def text_value(values: Values, block_id: str, action_id: str) -> str | None:
    value = _element(values, block_id, action_id).get("value")
    return str(value).strip() if value and str(value).strip() else None


KEEP_END = "keep"  # the end-date picker's "keep the current end" option (bot.slack.deadline_blocks)


def date_value(values: Values, block_id: str, action_id: str) -> date | None:
    """A datepicker's date, or a date picked from a static select of ISO dates (the aligned end dates)."""
    element = _element(values, block_id, action_id)
    value = element.get("selected_date") or (element.get("selected_option") or {}).get("value")
    return date.fromisoformat(value) if value and value != KEEP_END else None


def checked(values: Values, block_id: str, action_id: str, flag: str) -> bool:
    options = _element(values, block_id, action_id).get("selected_options") or []
    return any(o.get("value") == flag for o in options)


def read_change_form(
    values: Values, *, kind: str, addon_ids: tuple[str, ...] | None = None, today: date | None = None
) -> ChangeForm:
    """Read the migrate / validate / schedule / reschedule form. Raises :class:`FormErrors`."""
    errors: dict[str, str] = {}
    customer = selected_value(values, ids.CUSTOMER_BLOCK, ids.CUSTOMER_SELECT)
    if not customer:
        errors[ids.CUSTOMER_BLOCK] = "Pick a customer."
    subscription = schedule = None
    if kind == "reschedule":
        raw = text_value(values, ids.SCHEDULE_ID_BLOCK, ids.SCHEDULE_ID_INPUT)
        try:
            schedule = require_guid(raw or "", "schedule")
        except InvalidInput as exc:
            errors[ids.SCHEDULE_ID_BLOCK] = str(exc).replace("`", "")
    else:
        subscription = selected_value(values, ids.SUBSCRIPTION_BLOCK, ids.SUBSCRIPTION_SELECT)
        if not subscription and customer:
            errors[ids.SUBSCRIPTION_BLOCK] = "Pick a legacy subscription."
    options = _read_options(values, kind=kind, addon_ids=addon_ids, today=today, errors=errors)
    if errors:
        raise FormErrors(errors)
    return ChangeForm(customer_id=customer, subscription_id=subscription, schedule_id=schedule,
                      options=options)


def read_lookup_form(values: Values, *, kind: str) -> ChangeForm:
    errors: dict[str, str] = {}
    customer = selected_value(values, ids.CUSTOMER_BLOCK, ids.CUSTOMER_SELECT)
    if not customer:
        errors[ids.CUSTOMER_BLOCK] = "Pick a customer."
    object_id = None
    if kind in ("status", "cancel"):
        what = "migration" if kind == "status" else "schedule"
        try:
            object_id = require_guid(text_value(values, ids.OBJECT_ID_BLOCK, ids.OBJECT_ID_INPUT) or "", what)
        except InvalidInput as exc:
            errors[ids.OBJECT_ID_BLOCK] = str(exc).replace("`", "")
    if errors:
        raise FormErrors(errors)
    return ChangeForm(customer_id=customer, object_id=object_id)


def read_reason(values: Values) -> str:
    reason = text_value(values, ids.REASON_BLOCK, ids.REASON_INPUT)
    if not reason:
        raise FormErrors({ids.REASON_BLOCK: "Say why the request is rejected."})
    if len(reason) > 1000:
        raise FormErrors({ids.REASON_BLOCK: "Keep the reason under 1000 characters."})
    return reason


def read_options_leniently(values: Values, *, kind: str) -> ChangeOptions:
    """The options filled in so far, dropping invalid ones (to keep them when a modal is re-rendered)."""
    return _read_options(values, kind=kind, addon_ids=None, today=None, errors={})


def _read_options(
    values: Values, *, kind: str, addon_ids: tuple[str, ...] | None, today: date | None, errors: dict[str, str]
) -> ChangeOptions:
    kwargs: dict[str, Any] = {}
    try:
        term = selected_value(values, ids.TERM_BLOCK, ids.TERM_INPUT)
        kwargs["term"] = parse_term(term) if term else None
    except InvalidInput as exc:
        errors[ids.TERM_BLOCK] = str(exc).replace("`", "")
    try:
        billing = selected_value(values, ids.BILLING_BLOCK, ids.BILLING_INPUT)
        kwargs["billing"] = parse_billing(billing) if billing else None
    except InvalidInput as exc:
        errors[ids.BILLING_BLOCK] = str(exc).replace("`", "")
    quantity = text_value(values, ids.QUANTITY_BLOCK, ids.QUANTITY_INPUT)
    if quantity is not None:
        try:
            kwargs["quantity"] = parse_quantity(quantity)
        except InvalidInput:
            errors[ids.QUANTITY_BLOCK] = "Seats must be a whole number from 1."
    kwargs["full_term"] = checked(values, ids.FLAGS_BLOCK, ids.FLAGS_INPUT, ids.FLAG_FULL_TERM)
    end_date = date_value(values, ids.END_DATE_BLOCK, ids.END_DATE_INPUT)
    if end_date is not None:
        if kwargs["full_term"]:
            errors[ids.END_DATE_BLOCK] = "Choose either a full term or a custom end date, not both."
        elif today is not None and end_date <= today:
            errors[ids.END_DATE_BLOCK] = "The custom end date must be in the future."
        kwargs["end_date"] = end_date
    if addon_ids is not None and ids.ADDONS_BLOCK in values:
        chosen = tuple(o["value"] for o in _element(values, ids.ADDONS_BLOCK, ids.ADDONS_INPUT)
                       .get("selected_options") or [])
        addons: AddOnChoice = "none" if not chosen else ("all" if set(chosen) >= set(addon_ids) else chosen)
        kwargs["addons"] = addons
    if kind in ("schedule", "reschedule"):
        target = date_value(values, ids.TARGET_DATE_BLOCK, ids.TARGET_DATE_INPUT)
        on_renewal = checked(values, ids.ON_RENEWAL_BLOCK, ids.ON_RENEWAL_INPUT, ids.FLAG_ON_RENEWAL)
        if target and on_renewal:
            errors[ids.TARGET_DATE_BLOCK] = "Choose a date or 'on renewal', not both."
        elif kind == "schedule" and not target and not on_renewal:
            errors[ids.TARGET_DATE_BLOCK] = "Choose the date to migrate on, or tick 'on renewal'."
        elif target and today is not None and target <= today:
            errors[ids.TARGET_DATE_BLOCK] = "The migration date must be in the future."
        kwargs["target_date"] = target
        kwargs["on_renewal"] = on_renewal
    clean = {k: v for k, v in kwargs.items() if v is not None}
    if clean.get("target_date") and clean.get("on_renewal"):
        clean.pop("on_renewal")
    if clean.get("full_term") and clean.get("end_date"):
        clean.pop("end_date")
    return ChangeOptions(**clean)
