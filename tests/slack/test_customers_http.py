"""Customers by name or domain in ``/nce`` (SPEC §4, §9), over signed HTTP into the real Bolt app."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import InvalidInput
from bot.slack.commands import parse_command
from sandbox import known
from tests.fixtures.slack import REQUESTER, SlackEnv, wait_for

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def reply_to(env: SlackEnv, count: int = 1) -> str:
    replies = wait_for(lambda: (lambda r: r if len(r) >= count else None)(env.replies_to(REQUESTER)))
    return str(replies[count - 1])


def test_parser_keeps_a_customer_given_by_domain_or_name() -> None:
    cmd = parse_command(f"validate contoso.onmicrosoft.com {known.ELIGIBLE_SIMPLE} term=P1Y")
    assert (cmd.customer_id, cmd.query, cmd.subscription_id, cmd.missing) == (
        None, "contoso.onmicrosoft.com", known.ELIGIBLE_SIMPLE, ())
    assert parse_command("migrate northwind").missing == ("subscription",)  # the modal opens for the rest
    assert parse_command(f"check {known.CONTOSO.upper()}").customer_id == known.CONTOSO
    assert parse_command("customers adventure   works").query == "adventure works"
    assert parse_command("customers").query is None
    assert parse_command("check adventure works").query == "adventure works"  # the only argument: all words
    quoted = parse_command(f'validate "Wide World" {known.WIDE_WORLD_MONTHLY}')
    assert (quoted.query, quoted.subscription_id) == ("Wide World", known.WIDE_WORLD_MONTHLY)
    assert parse_command(f"validate \u201cWide World\u201d {known.WIDE_WORLD_MONTHLY}").query == "Wide World"
    with pytest.raises(InvalidInput):  # unquoted, the second word would be the subscription
        parse_command(f"validate wide world {known.WIDE_WORLD_MONTHLY}")
    with pytest.raises(InvalidInput) as err:
        parse_command("validate contoso not-a-guid")
    assert err.value.field == "subscription"


@SQLITE
def test_customers_lists_matches_with_totals(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("customers")
    everyone = reply_to(env)
    assert everyone.startswith("*6 customers*") and known.NORTHWIND in everyone
    assert "*Contoso Ltd* · contoso.onmicrosoft.com · `" + known.CONTOSO + "`" in everyone
    env.requester.command("customers WORKS")
    found = reply_to(env, 2)
    assert "*1 of 6 customers* match `WORKS`" in found and known.ADVENTURE_WORKS in found
    assert known.CONTOSO not in found
    env.requester.command("customers <b>&")
    assert "No customer's name, domain or id contains `&lt;b&gt;&amp;`" in reply_to(env, 3)


@SQLITE
def test_commands_accept_a_domain_or_a_unique_part_of_the_name(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("subscriptions contoso.onmicrosoft.com")
    text = reply_to(env)
    assert f"legacy subscription(s) of {known.CONTOSO}" in text and known.ELIGIBLE_BASE in text
    env.requester.command(f"validate contoso {known.ELIGIBLE_SIMPLE} term=P1Y")
    assert "Eligible" in reply_to(env, 2)
    env.requester.command("watch wide world importers")
    assert f"Watching customer `{known.WIDE_WORLD}`" in reply_to(env, 3)


@SQLITE
def test_an_ambiguous_or_unknown_name_answers_and_does_nothing(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate o {known.ELIGIBLE_SIMPLE}")
    text = reply_to(env)
    assert "`o` matches 5 customers" in text and "*Contoso Ltd*" in text and "*Woodgrove Bank*" in text
    env.requester.command(f"migrate tailspin {known.ELIGIBLE_SIMPLE}")
    assert "No customer matches `tailspin` among the partner's 6 customers" in reply_to(env, 2)
    env.requester.command(f"migrate all {known.ELIGIBLE_SIMPLE}")  # every customer: not a name containing "all"
    assert "`all` stands for every customer, which this command does not take yet" in reply_to(env, 3)
    assert env.approval_messages() == []
