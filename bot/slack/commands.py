"""Pure parser of the ``/nce`` command text (SPEC §4). No Slack, no I/O.

``parse_command(text)`` returns an :class:`NceCommand`; a wrong argument raises
``bot.domain.InvalidInput`` whose ``field`` names it. Missing required arguments are not an error: the
command comes back with ``missing`` set, and the handler opens the matching modal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from bot.domain import AddOnChoice, ChangeOptions, InvalidInput
from bot.partner_center.models import is_guid
from bot.rules import BILLINGS as BILLINGS  # re-exported: the modals list them
from bot.rules import TERMS as TERMS
from bot.rules import (
    check_end_choice,
    check_timing,
    parse_billing,
    parse_date,
    parse_quantity,
    parse_term,
    require_guid,
)
from bot.rules import short as _short

_TOKEN = re.compile(r'"([^"]*)"|\u201c([^\u201d]*)\u201d|(\S+)')  # "a quoted name" (Slack may curl the quotes)


def _tokens(text: str | None) -> list[str]:
    """The words of the command; a quoted customer name with spaces is one word."""
    return [next(g for g in m.groups() if g is not None) for m in _TOKEN.finditer(text or "")]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    slots: tuple[tuple[str, bool], ...] = ()  # (slot name, required)
    options: frozenset[str] = frozenset()


_CHANGE: Final = frozenset({"term", "billing", "quantity", "full-term", "end-date", "addons"})
_SCHEDULE: Final = _CHANGE | {"date", "on-renewal"}

SUBCOMMANDS: Final[tuple[Subcommand, ...]] = (
    Subcommand("help", "/nce help", "this list"),
    Subcommand("subscriptions", "/nce subscriptions <customer>",
               "legacy subscriptions, add-ons nested under their base", (("customer", True),)),
    Subcommand("validate", "/nce validate <customer> <subscription> [options]",
               "eligibility, reasons and the target NCE catalog item", (("customer", True), ("subscription", True)),
               _CHANGE),
    Subcommand("migrate", "/nce migrate <customer> <subscription> [options]",
               "validate, then post an approval request", (("customer", True), ("subscription", True)), _CHANGE),
    Subcommand("schedule", "/nce schedule <customer> <subscription> (date=YYYY-MM-DD | on-renewal) [options]",
               "approval request for a scheduled migration", (("customer", True), ("subscription", True)), _SCHEDULE),
    Subcommand("schedules", "/nce schedules <customer> [subscription]", "schedules with Update / Cancel buttons",
               (("customer", True), ("subscription", False))),
    Subcommand("reschedule", "/nce reschedule <customer> <schedule> [date=YYYY-MM-DD | on-renewal] [options]",
               "approval request to change a schedule", (("customer", True), ("schedule", True)), _SCHEDULE),
    Subcommand("cancel", "/nce cancel <customer> <schedule>", "approval request to cancel a schedule",
               (("customer", True), ("schedule", True))),
    Subcommand("status", "/nce status <customer> <migration>", "migration state and its events",
               (("customer", True), ("migration", True))),
    Subcommand("check", "/nce check <customer> | /nce check all",
               "validate every legacy base subscription (of one customer, or of all); BAM CSV report",
               (("customer", True),)),
    Subcommand("bulk", "/nce bulk <customer> [options] | /nce bulk all [options]",
               "one approval for all eligible subscriptions (of one customer, or of all: a campaign)",
               (("customer", True),), _CHANGE),
    Subcommand("pending", "/nce pending", "requests waiting for a decision"),
    Subcommand("watch", "/nce watch <customer>", "announce migrations of this customer made outside the bot",
               (("customer", True),)),
    Subcommand("unwatch", "/nce unwatch <customer>", "stop announcing this customer's migrations",
               (("customer", True),)),
    Subcommand("audit", "/nce audit [customer]", "the audit trail as a CSV file, sent to you by DM (approvers only)",
               (("customer", False),)),
    Subcommand("renewals", "/nce renewals [days=N] [customer|all]",
               "legacy subscriptions renewing soon with no schedule: Microsoft migrates them itself",
               (("customer", False),), frozenset({"days"})),
    Subcommand("customers", "/nce customers [query]", "find customers by name, domain or id"),
    Subcommand("import", "/nce import", "a modal to upload a BAM CSV file (subscriptions.csv, "
               "subscriptionsforschedule.csv or schedulemigrations.csv) as a campaign"),
    Subcommand("campaigns", "/nce campaigns", "recent campaigns and their progress"),
    Subcommand("campaign", "/nce campaign <id>", "one campaign's progress and its results file (BAM's layout)"),
)
BY_NAME: Final = {s.name: s for s in SUBCOMMANDS}
OPTIONS_HELP: Final = (
    "options: term=P1M|P1Y|P3Y  billing=monthly|annual|triennial  quantity=N  full-term  "
    "end-date=YYYY-MM-DD  addons=all|none|<id>,<id>  (schedules: date=YYYY-MM-DD | on-renewal)"
)

_FLAGS: Final = frozenset({"full-term", "on-renewal"})
ALL_CUSTOMERS: Final = "all"  # `/nce check all`, `/nce bulk all`: every customer (never a name part)
_EVERY: Final = frozenset({"check", "bulk"})


@dataclass(frozen=True)
class NceCommand:
    name: str
    customer_id: str | None = None
    subscription_id: str | None = None
    schedule_id: str | None = None
    migration_id: str | None = None
    options: ChangeOptions = field(default_factory=ChangeOptions)
    missing: tuple[str, ...] = ()
    days: int | None = None  # /nce renewals
    query: str | None = None  # a <customer> given by domain or name (resolved by the handler), or /nce customers'
    every_customer: bool = False  # /nce check all, /nce bulk all (SPEC §8)
    campaign_id: str | None = None  # /nce campaign: the campaign's request id

    @property
    def needs_modal(self) -> bool:
        return bool(self.missing)


def parse_addons(value: str) -> AddOnChoice:
    text = value.strip().lower()
    if text in ("all", "none"):
        return "all" if text == "all" else "none"
    ids = [part for part in text.split(",") if part]
    if not ids:
        raise InvalidInput("`addons` must be all, none or a comma list of add-on subscription ids", field="addons")
    return tuple(require_guid(part, "addons") for part in ids)


def parse_command(text: str) -> NceCommand:
    """Parse the text after ``/nce``. Empty text is ``help``."""
    tokens = _tokens(text)
    if not tokens:
        return NceCommand("help")
    name = tokens[0].lower()
    spec = BY_NAME.get(name)
    if spec is None:
        raise InvalidInput(f"unknown subcommand `{_short(tokens[0])}`; try `/nce help`", field="subcommand")
    if name == "renewals":
        return _renewals(tokens[1:])
    if name == "customers":  # the query may hold spaces: "adventure works"
        return NceCommand(name, query=" ".join(tokens[1:]) or None)
    if name in ("campaign", "campaigns"):
        return _campaign(name, tokens[1:])

    positionals: list[str] = []
    raw_options: dict[str, str | None] = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        key = key.lower()
        if sep or key in _FLAGS:
            if key not in _SCHEDULE:
                raise InvalidInput(f"unknown option `{_short(key)}`. {OPTIONS_HELP}", field=key)
            if key not in spec.options:
                raise InvalidInput(f"option `{key}` is not used by `/nce {name}`", field=key)
            if key in raw_options:
                raise InvalidInput(f"option `{key}` is given twice", field=key)
            if key in _FLAGS and sep:
                raise InvalidInput(f"`{key}` is a flag: write it without a value", field=key)
            if key not in _FLAGS and not value:
                raise InvalidInput(f"option `{key}` needs a value, e.g. `{key}=…`", field=key)
            raw_options[key] = value if sep else None
        elif raw_options:
            raise InvalidInput(f"`{_short(token)}`: put ids before the options", field="arguments")
        else:
            positionals.append(token)

    if len(spec.slots) == 1 and spec.slots[0][0] == "customer" and len(positionals) > 1 \
            and not is_guid(positionals[0]):
        positionals = [" ".join(positionals)]  # /nce check adventure works: the name is the only argument
    if len(positionals) > len(spec.slots):
        extra = positionals[len(spec.slots)]
        raise InvalidInput(f"unexpected argument `{_short(extra)}`; usage: `{spec.usage}`", field="arguments")

    if name in _EVERY and positionals and positionals[0].lower() == ALL_CUSTOMERS:
        if len(positionals) > 1:
            raise InvalidInput(f"unexpected argument `{_short(positionals[1])}`; usage: `{spec.usage}`",
                               field="arguments")
        return NceCommand(name=name, options=_options(raw_options), every_customer=True)

    ids: dict[str, str] = {}
    query: str | None = None
    for (slot, _required), value in zip(spec.slots, positionals, strict=False):
        if slot == "customer" and not is_guid(value):
            query = value  # a domain or a part of the name (SPEC §4)
        else:
            ids[slot] = require_guid(value, slot)
    missing = [slot for slot, required in spec.slots if required and slot not in ids and not (slot == "customer"
                                                                                             and query)]

    options = _options(raw_options)
    if name == "schedule" and not (options.target_date or options.on_renewal):
        missing.append("date")
    return NceCommand(
        name=name,
        customer_id=ids.get("customer"),
        subscription_id=ids.get("subscription"),
        schedule_id=ids.get("schedule"),
        migration_id=ids.get("migration"),
        options=options,
        missing=tuple(missing),
        query=query,
    )


_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def _campaign(name: str, tokens: list[str]) -> NceCommand:
    """``/nce campaigns`` takes nothing; ``/nce campaign <id>`` a request id (as shown, or as a GUID: its BatchId)."""
    if name == "campaigns":
        if tokens:
            raise InvalidInput(f"unexpected argument `{_short(tokens[0])}`; usage: `/nce campaigns`", field="arguments")
        return NceCommand(name)
    if len(tokens) != 1:
        raise InvalidInput("usage: `/nce campaign <id>` (the id is on the campaign's message)", field="campaign")
    value = tokens[0].strip("`").replace("-", "").lower()
    if not _REQUEST_ID.fullmatch(value):
        raise InvalidInput(f"`{_short(tokens[0])}` is not a campaign id (32 hex digits, as on its message)",
                           field="campaign")
    return NceCommand(name, campaign_id=value)


def _renewals(tokens: list[str]) -> NceCommand:
    """``/nce renewals [days=N] [customer|all]``: no customer (or ``all``) means every customer."""
    days: int | None = None
    customer: str | None = None
    named = [t for t in tokens if "=" not in t]
    if len(named) > 1 and not is_guid(named[0]) and named[0].lower() != "all":
        # /nce renewals adventure works days=7: the name is the only other argument (as for /nce check)
        tokens = [t for t in tokens if "=" in t] + [" ".join(named)]
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key.lower() == "days":
            if days is not None:
                raise InvalidInput("option `days` is given twice", field="days")
            if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 366:
                raise InvalidInput(f"`days` must be a whole number from 1 to 366, got `{_short(value)}`", field="days")
            days = int(value)
        elif sep:
            raise InvalidInput(f"option `{_short(key)}` is not used by `/nce renewals`; only `days=N`", field=key)
        elif customer is not None:
            raise InvalidInput(f"unexpected argument `{_short(token)}`; usage: `{BY_NAME['renewals'].usage}`",
                               field="arguments")
        else:
            customer = token
    if customer is None or customer.lower() == "all":
        return NceCommand("renewals", days=days)
    if is_guid(customer):
        return NceCommand("renewals", customer_id=require_guid(customer, "customer"), days=days)
    return NceCommand("renewals", query=customer, days=days)  # a domain or part of the name (SPEC §4)


def _options(raw: dict[str, str | None]) -> ChangeOptions:
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        text = value or ""
        if key == "term":
            kwargs["term"] = parse_term(text)
        elif key == "billing":
            kwargs["billing"] = parse_billing(text)
        elif key == "quantity":
            kwargs["quantity"] = parse_quantity(text)
        elif key == "full-term":
            kwargs["full_term"] = True
        elif key == "end-date":
            kwargs["end_date"] = parse_date(text, "end-date")
        elif key == "addons":
            kwargs["addons"] = parse_addons(text)
        elif key == "date":
            kwargs["target_date"] = parse_date(text, "date")
        elif key == "on-renewal":
            kwargs["on_renewal"] = True
    check_timing(kwargs.get("target_date"), bool(kwargs.get("on_renewal")), None, required=False)
    check_end_choice(bool(kwargs.get("full_term")), kwargs.get("end_date"))
    return ChangeOptions(**kwargs)
