"""/nce renewals over signed HTTP into the real Bolt app (SPEC §10): legacy subscriptions ending soon with no
schedule, each with the day Microsoft migrates it, and buttons that open the existing modals pre-filled."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.slack import ids
from sandbox import known
from tests.fixtures.slack import REQUESTER, stored_view, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _ends_in(env: Any, customer: str, sub: str, days: int) -> Any:
    """Seed data of the Partner Center stand-in: this subscription's term ends ``days`` from now."""
    state = env.sandbox.state
    with state.lock:
        entry = state.customers[customer].subs[sub]
        entry.term_end = state.now() + timedelta(days=days)
        return entry.term_end.date()


def test_renewals_lists_unscheduled_with_microsofts_day_and_opens_prefilled_modals(slack_env: Any) -> None:
    env = slack_env()
    end = _ends_in(env, known.CONTOSO, known.ELIGIBLE_SIMPLE, 5)
    _ends_in(env, known.CONTOSO, known.ELIGIBLE_MONTHLY, 5)
    state = env.sandbox.state
    with state.lock:  # a partner schedule exists for the monthly one: Microsoft will not migrate it
        state.create_schedule(known.CONTOSO, {"currentsubscriptionid": known.ELIGIBLE_MONTHLY,
                                              "migrateonrenewal": True}, None)

    env.requester.command(f"renewals days=7 {known.CONTOSO}")
    reply = wait_for(lambda: env.replies_to(REQUESTER))[0]
    assert known.ELIGIBLE_SIMPLE in reply and known.ELIGIBLE_MONTHLY not in reply
    migrates = (end + timedelta(days=1)).isoformat()
    assert "Microsoft migrates it on <!date^" in reply and f"|{migrates}>" in reply
    assert "annual term (P1Y), same 25 seat(s), monthly billing" in reply
    assert known.ELIGIBLE_BASE not in reply  # its term ends later than 7 days

    value = f"{known.CONTOSO}|{known.ELIGIBLE_SIMPLE}"
    for action, callback in ((ids.RENEWAL_SCHEDULE_ACTION, ids.SCHEDULE_MODAL),
                             (ids.RENEWAL_MIGRATE_ACTION, ids.MIGRATE_MODAL)):
        before = len(env.standin.calls_to("views.update"))
        assert env.requester.block_action(action, value, user=REQUESTER).status_code == 200
        update = wait_for(lambda b=before: env.standin.calls_to("views.update")[b:])[0]
        view = stored_view(env.standin, update.params["view_id"])
        assert view["callback_id"] == callback
        metadata = json.loads(view["private_metadata"])
        assert metadata["customer"] == known.CONTOSO and metadata["subscription"] == known.ELIGIBLE_SIMPLE
        selects = [b for b in view["blocks"] if b.get("block_id") == ids.SUBSCRIPTION_BLOCK]
        assert selects and selects[0]["element"]["initial_option"]["value"] == known.ELIGIBLE_SIMPLE


def test_renewals_of_a_customer_given_by_name(slack_env: Any) -> None:
    env = slack_env()
    _ends_in(env, known.CONTOSO, known.ELIGIBLE_SIMPLE, 5)
    env.requester.command("renewals days=7 contoso")
    reply = wait_for(lambda: env.replies_to(REQUESTER))[0]
    assert known.ELIGIBLE_SIMPLE in reply and "Microsoft migrates it on <!date^" in reply


def test_renewals_of_every_customer_answers_then_updates_in_place(slack_env: Any) -> None:
    env = slack_env()
    _ends_in(env, known.WIDE_WORLD, known.WIDE_WORLD_MONTHLY, 3)
    env.requester.command("renewals")
    final = wait_for(lambda: [c for c in env.standin.calls_to("response_url")
                              if c.params.get("replace_original") and "blocks" in c.params])
    first = env.standin.calls_to("response_url")[0]
    assert "updates itself" in first.params["text"] and not first.params.get("replace_original")
    assert known.WIDE_WORLD_MONTHLY in json.dumps(final[-1].params)


def test_renewals_refuses_a_bad_days_value(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("renewals days=0")
    assert "`days` must be a whole number from 1 to 366" in wait_for(lambda: env.replies_to(REQUESTER))[0]
