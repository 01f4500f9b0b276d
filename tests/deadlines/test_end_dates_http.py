"""Aligned end dates (SPEC §10) over signed HTTP: the migrate modal offers exactly the sandbox's valid
customTermEndDate values (and "keep the current end"); a wrong ``end-date=`` names the valid ones."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack import ids
from sandbox import deadlines, known
from tests.fixtures.slack import REQUESTER, stored_view, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _valid(env: Any, term: str = "P1Y") -> list[str]:
    with env.sandbox.state.lock:
        answer = deadlines.custom_term_end_dates(env.sandbox.state, known.CONTOSO, {"term_duration": term})
    return sorted({item["allowedCustomTermEndDate"][:10] for item in answer["items"]})


def test_migrate_modal_offers_exactly_the_valid_end_dates(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO}")
    update = wait_for(lambda: env.standin.calls_to("views.update"))[0]
    view = stored_view(env.standin, update.params["view_id"])
    [block] = [b for b in view["blocks"] if b.get("block_id") == ids.END_DATE_BLOCK]
    assert block["element"]["type"] == "static_select" and block["optional"] is True
    values = [o["value"] for o in block["element"]["options"]]
    valid = _valid(env)
    assert len(valid) >= 2  # a calendar month end and Contoso's NCE subscription's end
    assert values == ["keep", *valid]
    assert block["element"]["initial_option"]["value"] == "keep"


def test_a_wrong_end_date_names_the_valid_ones(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} end-date=2099-06-15")
    reply = wait_for(lambda: env.replies_to(REQUESTER))[0]
    assert "end-date=2099-06-15 is not an aligned end date" in reply
    for day in _valid(env):
        assert day in reply
    assert env.approval_messages() == []
