"""Pure readers of modal ``view.state.values``: turn a submission into ids and ChangeOptions or field errors."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from bot.domain import AddOnChoice, ChangeOptions, InvalidInput
from bot.rules import (
    check_end_choice,
    check_end_date,
    check_reason,
    check_timing,
    is_request_id,
    parse_billing,
    parse_date,
    parse_quantity,
    parse_term,
    require_guid,
)
from bot.slack import ids
from bot.slack.commands import SUBCOMMANDS

T = TypeVar("T")

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


STALE_FORM = "This form is out of date or damaged. Close it and run the command again."
#: ``private_metadata`` kinds each modal serves: the change modal, and the lookup modal (customer [+ id]).
CHANGE_MODAL_KINDS = frozenset({"migrate", "validate", "schedule"})
LOOKUP_KINDS = (frozenset(s.name for s in SUBCOMMANDS if ("customer", True) in s.slots)
                - CHANGE_MODAL_KINDS - {"reschedule"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _element(values: Values, block_id: str, action_id: str) -> dict[str, Any]:
    return _dict(_dict(_dict(values).get(block_id)).get(action_id))


def selected_value(values: Values, block_id: str, action_id: str) -> str | None:
    value = _dict(_element(values, block_id, action_id).get("selected_option")).get("value")
    return str(value) if value else None


def text_value(values: Values, block_id: str, action_id: str) -> str | None:
    value = _element(values, block_id, action_id).get("value")
    return str(value).strip() if value and str(value).strip() else None


KEEP_END = "keep"  # the end-date picker's "keep the current end" option (bot.slack.deadline_blocks)


def date_value(values: Values, block_id: str, action_id: str, what: str = "date") -> date | None:
    """A datepicker's date, or a date picked from a static select of ISO dates (the aligned end dates, SPEC §10);
    a malformed one raises ``InvalidInput`` (the same rule as the command's dates)."""
    element = _element(values, block_id, action_id)
    value = element.get("selected_date") or (element.get("selected_option") or {}).get("value")
    return parse_date(str(value), what) if value and value != KEEP_END else None


def checked(values: Values, block_id: str, action_id: str, flag: str) -> bool:
    options = _element(values, block_id, action_id).get("selected_options")
    return any(_dict(o).get("value") == flag for o in options) if isinstance(options, list) else False


def field_error(exc: InvalidInput) -> str:
    """A rule's message shown under a modal field (plain text there: no backticks)."""
    return str(exc).replace("`", "")


def _field(errors: dict[str, str], block_id: str, read: Callable[[], T]) -> T | None:
    """``read()``, or None with its ``InvalidInput`` recorded as the error of ``block_id``."""
    try:
        return read()
    except InvalidInput as exc:
        errors.setdefault(block_id, field_error(exc))
        return None


def first_input_block(view: dict[str, Any]) -> str | None:
    """The block id of a view's first input block: where a form-wide error can be shown."""
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def check_kind(kind: str, allowed: Collection[str], view: dict[str, Any]) -> str:
    """The modal's kind from its private_metadata; one this modal does not serve means the metadata was damaged
    (or the form is from an older release): refused as a form error, never a crash."""
    if kind in allowed:
        return kind
    block = first_input_block(view)
    raise FormErrors({block: STALE_FORM} if block else {})


def read_change_form(
    values: Values, *, kind: str, addon_ids: tuple[str, ...] | None = None, today: date | None = None
) -> ChangeForm:
    """Read the migrate / validate / schedule / reschedule form. Raises :class:`FormErrors`."""
    errors: dict[str, str] = {}
    customer = _read_customer(values, errors)
    subscription = schedule = None
    if kind == "reschedule":
        raw = text_value(values, ids.SCHEDULE_ID_BLOCK, ids.SCHEDULE_ID_INPUT)
        schedule = _field(errors, ids.SCHEDULE_ID_BLOCK, lambda: require_guid(raw, "schedule"))
    else:
        picked = selected_value(values, ids.SUBSCRIPTION_BLOCK, ids.SUBSCRIPTION_SELECT)
        if not picked and customer:
            errors[ids.SUBSCRIPTION_BLOCK] = "Pick a legacy subscription."
        elif picked:
            subscription = _field(errors, ids.SUBSCRIPTION_BLOCK, lambda: require_guid(picked, "subscription"))
    options = _read_options(values, kind=kind, addon_ids=addon_ids, today=today, errors=errors)
    if errors:
        raise FormErrors(errors)
    return ChangeForm(customer_id=customer, subscription_id=subscription, schedule_id=schedule,
                      options=options)


def _read_customer(values: Values, errors: dict[str, str]) -> str | None:
    picked = selected_value(values, ids.CUSTOMER_BLOCK, ids.CUSTOMER_SELECT)
    if not picked:
        errors[ids.CUSTOMER_BLOCK] = "Pick a customer."
        return None
    return _field(errors, ids.CUSTOMER_BLOCK, lambda: require_guid(picked, "customer"))


def read_lookup_form(values: Values, *, kind: str) -> ChangeForm:
    errors: dict[str, str] = {}
    customer = _read_customer(values, errors)
    object_id = None
    if kind in ("status", "cancel"):
        what = "migration" if kind == "status" else "schedule"
        raw = text_value(values, ids.OBJECT_ID_BLOCK, ids.OBJECT_ID_INPUT)
        object_id = _field(errors, ids.OBJECT_ID_BLOCK, lambda: require_guid(raw, what))
    if errors:
        raise FormErrors(errors)
    return ChangeForm(customer_id=customer, object_id=object_id)


def check_request_id(request_id: str | None, view: dict[str, Any]) -> str:
    """The request a reject modal is about (from its private_metadata); damaged metadata is a form error."""
    if request_id and is_request_id(request_id):
        return request_id
    block = first_input_block(view)
    raise FormErrors({block: STALE_FORM} if block else {})


def read_reason(values: Values) -> str:
    try:
        return check_reason(text_value(values, ids.REASON_BLOCK, ids.REASON_INPUT))
    except InvalidInput as exc:
        raise FormErrors({ids.REASON_BLOCK: field_error(exc)}) from None


def read_options_leniently(values: Values, *, kind: str) -> ChangeOptions:
    """The options filled in so far, dropping invalid ones (to keep them when a modal is re-rendered)."""
    return _read_options(values, kind=kind, addon_ids=None, today=None, errors={})


def _read_options(
    values: Values, *, kind: str, addon_ids: tuple[str, ...] | None, today: date | None, errors: dict[str, str]
) -> ChangeOptions:
    kwargs: dict[str, Any] = {}
    term = selected_value(values, ids.TERM_BLOCK, ids.TERM_INPUT)
    if term:
        kwargs["term"] = _field(errors, ids.TERM_BLOCK, lambda: parse_term(term))
    billing = selected_value(values, ids.BILLING_BLOCK, ids.BILLING_INPUT)
    if billing:
        kwargs["billing"] = _field(errors, ids.BILLING_BLOCK, lambda: parse_billing(billing))
    quantity = text_value(values, ids.QUANTITY_BLOCK, ids.QUANTITY_INPUT)
    if quantity is not None:
        try:
            kwargs["quantity"] = parse_quantity(quantity)
        except InvalidInput:
            errors[ids.QUANTITY_BLOCK] = "Seats must be a whole number from 1."
    kwargs["full_term"] = checked(values, ids.FLAGS_BLOCK, ids.FLAGS_INPUT, ids.FLAG_FULL_TERM)
    end_date = _field(errors, ids.END_DATE_BLOCK, lambda: date_value(values, ids.END_DATE_BLOCK, ids.END_DATE_INPUT,
                                                                     "end-date"))
    if end_date is not None:
        if kwargs["full_term"]:
            _field(errors, ids.END_DATE_BLOCK, lambda: check_end_choice(True, end_date))
        elif today is not None:
            _field(errors, ids.END_DATE_BLOCK, lambda: check_end_date(end_date, today))
        kwargs["end_date"] = end_date
    if addon_ids is not None and ids.ADDONS_BLOCK in values:
        chosen = tuple(str(_dict(o).get("value")) for o in _element(values, ids.ADDONS_BLOCK, ids.ADDONS_INPUT)
                       .get("selected_options") or [])
        if chosen and _field(errors, ids.ADDONS_BLOCK, lambda: [require_guid(a, "add-on") for a in chosen]) is None:
            chosen = ()
        addons: AddOnChoice = "none" if not chosen else ("all" if set(chosen) >= set(addon_ids) else chosen)
        kwargs["addons"] = addons
    if kind in ("schedule", "reschedule"):
        target = _field(errors, ids.TARGET_DATE_BLOCK,
                        lambda: date_value(values, ids.TARGET_DATE_BLOCK, ids.TARGET_DATE_INPUT))
        on_renewal = checked(values, ids.ON_RENEWAL_BLOCK, ids.ON_RENEWAL_INPUT, ids.FLAG_ON_RENEWAL)
        if ids.TARGET_DATE_BLOCK not in errors:
            _field(errors, ids.TARGET_DATE_BLOCK,
                   lambda: check_timing(target, on_renewal, today, required=kind == "schedule"))
        kwargs["target_date"] = target
        kwargs["on_renewal"] = on_renewal
    clean = {k: v for k, v in kwargs.items() if v is not None}
    if clean.get("target_date") and clean.get("on_renewal"):
        clean.pop("on_renewal")
    if clean.get("full_term") and clean.get("end_date"):
        clean.pop("end_date")
    return ChangeOptions(**clean)
