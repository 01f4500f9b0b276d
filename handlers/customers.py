"""Customers by name or domain in ``/nce`` (SPEC §4, §9): ``/nce customers [query]``, and turning a ``<customer>``
given by domain or name into its id before the subcommand runs."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.domain import InvalidInput
from bot.slack.commands import NceCommand
from bot.slack.customers_view import (
    GIVE_TENANT_ID,
    NAMES_NOT_CONFIGURED,
    ambiguous_text,
    customers_text,
    unknown_text,
)

if TYPE_CHECKING:
    from bot.slack.deps import AppDeps
    from handlers.common import Reply


def run_customers(deps: AppDeps, cmd: NceCommand, reply: Reply) -> None:
    if deps.customers is None:
        raise InvalidInput(NAMES_NOT_CONFIGURED, field="customer")
    reply(customers_text(deps.customers.search(cmd.query)), None)


def with_customer_id(deps: AppDeps, cmd: NceCommand, reply: Reply) -> NceCommand | None:
    """``cmd`` with its customer's id when it was given by domain or name; ``None`` when the name fits no
    customer or several (the person has been answered with the totals or the matches to choose from)."""
    if cmd.name == "customers" or cmd.customer_id is not None or not cmd.query:
        return cmd
    if deps.customers is None:
        raise InvalidInput(GIVE_TENANT_ID, field="customer")
    found = deps.customers.resolve(cmd.query)
    if found.one is not None:
        return replace(cmd, customer_id=found.one.id)
    reply(ambiguous_text(found) if found.matches else unknown_text(found), None)
    return None
