"""Searchable pickers at a real partner's scale (SPEC §9), over signed HTTP: the customer picker finds customers by
part of the name among 200, and a customer with 600 subscriptions gets an ``external_select`` whose options are
loaded from its legacy subscriptions, filtered by what is typed, at most 100."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack import ids
from sandbox import large_seed
from sandbox.server import SandboxServer
from tests.fixtures.slack import REQUESTER, stored_view, wait_for
from tests.slack.test_campaign_intake_http import RecordingCampaigns

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def large_partner() -> Iterator[SandboxServer]:
    with SandboxServer(data=large_seed.build()) as server:
        yield server


def test_a_600_subscription_customer_gets_a_searchable_subscription_picker(slack_env: Any,
                                                                          large_partner: SandboxServer) -> None:
    env = slack_env(partner_center=large_partner)
    big = next(c for c in large_partner.state.customers.values() if len(c.subs) == 600)
    env.requester.command(f"migrate {big.id}")

    def filled() -> dict[str, Any] | None:
        for stored in env.standin.views.values():
            view = stored_view(env.standin, stored.id)
            if any(b.get("block_id") == ids.SUBSCRIPTION_BLOCK for b in view.get("blocks", [])):
                return view
        return None

    view = wait_for(filled, timeout=60)
    block = next(b for b in view["blocks"] if b.get("block_id") == ids.SUBSCRIPTION_BLOCK)
    assert block["element"]["type"] == "external_select" and block["element"]["action_id"] == ids.SUBSCRIPTION_SELECT
    assert "legacy subscriptions: type part of a name or id" in block["hint"]["text"]

    everything = env.requester.block_suggestion(ids.SUBSCRIPTION_SELECT, ids.SUBSCRIPTION_BLOCK, "", user=REQUESTER,
                                                view=view).json()["options"]
    assert len(everything) == 100  # Slack's limit, from the customer's legacy bases
    typed = env.requester.block_suggestion(ids.SUBSCRIPTION_SELECT, ids.SUBSCRIPTION_BLOCK, "finance",
                                           user=REQUESTER, view=view).json()["options"]
    legacy_bases = {s.id for s in big.subs.values() if not s.parent and "finance" in s.friendly_name.lower()}
    assert typed and {o["value"] for o in typed} <= legacy_bases
    assert all("finance" in o["text"]["text"].lower() for o in typed)
    # the modal's own listing fed the picker: typing did not list the customer's subscriptions again
    assert large_partner.state.counts.get("list_subscriptions", 0) <= 24  # one paged list (600 / 25 per page)


def test_bulk_of_the_600_subscription_customer_answers_with_its_estimate_first(slack_env: Any) -> None:
    """The sandbox's clock runs 60x (a 5-minute window lasts 5 s) and the client's validate limit follows it; the
    estimate speaks of Partner Center's documented limit, as it would in production."""
    with SandboxServer(data=large_seed.build(), time_scale=60.0) as fast:
        big = next(c for c in fast.state.customers.values() if len(c.subs) == 600)
        env = slack_env(partner_center=fast, settings_env={"PARTNER_CENTER_VALIDATE_LIMIT": "450/5s"},
                        campaigns=(campaigns := RecordingCampaigns()))
        env.requester.command(f"bulk {big.domain}")  # by domain
        estimate = wait_for(lambda: next((c.params for c in env.standin.calls_to("response_url")
                                           if "Validating" in c.params["text"]), None), timeout=60)
        assert re.search(r"Validating customer \S+'s subscriptions: \d{3} migrations; Partner Center allows 450 "
                         r"validations per customer per 5 minutes: about \d+ minutes?", estimate["text"])
        assert estimate["replace_original"] is True
        call = wait_for(lambda: campaigns.calls and campaigns.calls[0], timeout=120)
        bases = sum(1 for s in big.subs.values() if not s.parent)
        assert 300 < len(call["plan"].migrations) <= fast.state.counts.get("validate", 0) <= bases
        assert fast.state.counts.get("get_customer", 0) <= 1  # its name, read once


def test_the_customer_picker_searches_all_200_customers(slack_env: Any, large_partner: SandboxServer) -> None:
    env = slack_env(partner_center=large_partner)
    env.requester.command("migrate")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    found = env.requester.block_suggestion(ids.CUSTOMER_SELECT, ids.CUSTOMER_BLOCK, "bank", user=REQUESTER,
                                           view=view).json()["options"]
    banks = {c.id for c in large_partner.state.customers.values() if "bank" in c.company_name.lower()}
    assert found and {o["value"] for o in found} <= banks and len(found) == min(len(banks), 100)
