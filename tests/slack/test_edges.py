"""Issue #9's domain edges through the real signed HTTP app, the Slack stand-in and the Partner Center sandbox:
membership that fails closed, no orphaned requests, input edges and policy edges."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any

import pytest

from bot.domain import RequestState
from bot.slack import ids
from sandbox import known
from storage import repositories as repo
from tests.fixtures.slack import (
    APPROVAL_CHANNEL,
    APPROVER,
    APPROVER_GROUP,
    GROUP_MEMBERS,
    REQUESTER,
    STRANGER,
    SlackEnv,
    stored_view,
    wait_for,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ALL_STATES = list(RequestState)


class FakeTimer:
    """The user-group cache's timer: tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def reply_with(env: SlackEnv, user: str, words: str) -> str:
    return str(wait_for(lambda: next((r for r in env.replies_to(user) if words in r), None)))


def request_button(env: SlackEnv) -> tuple[str, str]:
    message = wait_for(lambda: env.request_messages())[-1]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    return request_id, message.ts


def creates(env: SlackEnv) -> int:
    return int(env.sandbox.state.counts.get("create_migration", 0))


# --- 4. group membership fails closed ------------------------------------------------------------------------


def test_expired_membership_cache_is_refused_when_slack_fails(slack_env: Any) -> None:
    timer = FakeTimer()
    env = slack_env(approvers=(APPROVER_GROUP,), required_approvals=2, membership_clock=timer)
    env.standin.usergroup_handles[APPROVER_GROUP] = "nce<approvers>&co"  # Slack's text: shown escaped
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    request_id, ts = request_button(env)
    first, second = GROUP_MEMBERS
    # Slack's next usergroups.users.list fails. Within the TTL the cached list answers (no call is made)...
    env.standin.fail_next("usergroups.users.list", status=500, retry_after=None, error="fatal_error")
    calls = len(env.standin.calls_to("usergroups.users.list"))
    timer.advance(30)
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=first, message_ts=ts)
    reply_with(env, first, "recorded")
    assert len(env.standin.calls_to("usergroups.users.list")) == calls
    # ...past it, the failed call leaves the membership unconfirmed: the click is refused, nothing decided.
    timer.advance(61)
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=second, message_ts=ts)
    refusal = reply_with(env, second, "could not confirm")
    assert "could not confirm your membership of @nce&lt;approvers&gt;&amp;co; try again" in refusal
    assert env.standin.calls_to("usergroups.users.list")[-1].status == 500
    assert env.workflow.get_request(request_id).state is RequestState.PENDING
    assert creates(env) == 0
    # Slack answers again: the same click goes through.
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=second, message_ts=ts)
    wait_for(lambda: creates(env) == 1)
    assert len(env.workflow.get_request(request_id).decided_by) == 2


def test_unreadable_group_without_cache_is_not_a_no(slack_env: Any) -> None:
    """A group never read and Slack failing: "try again", not "you are not an approver"."""
    timer = FakeTimer()
    env = slack_env(approvers=(APPROVER, APPROVER_GROUP), membership_clock=timer)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    request_id, ts = request_button(env)
    timer.advance(3600)
    env.standin.fail_next("usergroups.users.list", status=200, retry_after=None, error="internal_error")
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=GROUP_MEMBERS[0], message_ts=ts)
    refusal = reply_with(env, GROUP_MEMBERS[0], "could not confirm")
    assert "only approvers" not in refusal.lower()
    assert env.workflow.get_request(request_id).state is RequestState.PENDING


# --- 5. no orphaned requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "error"), [(200, "channel_not_found"), (200, "not_in_channel"),
                                               (503, "service_unavailable")])
def test_unposted_request_ends_at_once_and_asking_again_posts(
    slack_env: Any, session_factory: Any, status: int, error: str
) -> None:
    env = slack_env()
    env.standin.fail_next("chat.postMessage", status=status, retry_after=None, error=error)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    told = reply_with(env, REQUESTER, "could not post")
    assert (f"could not post the request to <#{APPROVAL_CHANNEL}>: {error}; nothing was stored as pending, "
            "ask again once fixed") in told
    assert "Something went wrong" not in told
    assert env.workflow.pending_requests() == []
    [ended] = env.workflow.requests(ALL_STATES)
    assert ended.state is RequestState.EXPIRED and ended.error_code == "post_failed" and ended.message is None
    with session_factory() as session:
        events = [(e.action, e.from_state, e.to_state, e.detail) for e in repo.audit_events(session,
                                                                                           request_id=ended.id)]
    assert ("post_failed", "pending", "expired") in [e[:3] for e in events]
    assert any((e[3] or {}).get("reason") == "post_failed" and (e[3] or {}).get("error") == error for e in events)
    # Fixed: asking again posts a new request with its buttons.
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    reply_with(env, REQUESTER, "waiting for approval")
    request_id, _ = request_button(env)
    assert request_id != ended.id and env.workflow.get_request(request_id).state is RequestState.PENDING


# --- 9. input edges ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "expected"), [
    ("quantity=\u00b2", "`quantity` must be a whole number"),
    ("quantity=\u0663", "`quantity` must be a whole number"),
    ("quantity=\uff13", "`quantity` must be a whole number"),
    ("end-date=\uff12\uff10\uff13\uff10-01-01", "`end-date` must be a date as YYYY-MM-DD"),
    ("end-date=2030-01-0\u0663", "`end-date` must be a date as YYYY-MM-DD"),
])
def test_non_ascii_digits_get_the_fields_own_message(slack_env: Any, option: str, expected: str) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} {option}")
    answer = reply_with(env, REQUESTER, "must be")
    assert expected in answer and ":boom:" not in answer
    assert env.approval_messages() == [] and env.workflow.requests(ALL_STATES) == []


def test_schedule_after_the_term_end_is_refused_naming_it(slack_env: Any) -> None:
    env = slack_env()
    [node] = [n for n in env.workflow.legacy_subscriptions(known.FABRIKAM)
              if n.subscription.id == known.SCHEDULE_SUB]
    end: date = node.subscription.commitment_end_date.date()
    after = end + timedelta(days=1)
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB} date={after.isoformat()}")
    answer = reply_with(env, REQUESTER, "term end")
    assert f"after the subscription's term end {end.isoformat()}" in answer
    assert env.approval_messages() == [] and env.workflow.requests(ALL_STATES) == []
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB} date={end.isoformat()}")  # the last day
    reply_with(env, REQUESTER, "waiting for approval")


def _schedule_modal(env: SlackEnv) -> dict[str, Any]:
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB}")  # no date: the modal
    update = wait_for(lambda: env.standin.calls_to("views.update"))[0]
    return stored_view(env.standin, update.params["view_id"])


def _picked(customer: str, subscription: str) -> dict[str, Any]:
    return {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": customer}}},
            ids.SUBSCRIPTION_BLOCK: {ids.SUBSCRIPTION_SELECT: {"selected_option": {"value": subscription}}}}


@pytest.mark.parametrize(("extra", "block", "words"), [
    ({ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"value": "\u00b2"}}}, ids.QUANTITY_BLOCK,
     "Seats must be a whole number"),
    ({ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": "31/12/2030"}}}, ids.TARGET_DATE_BLOCK,
     "must be a date as YYYY-MM-DD"),
    ({ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": "2030-02-30"}}}, ids.TARGET_DATE_BLOCK,
     "not a real date"),
    ({ids.END_DATE_BLOCK: {ids.END_DATE_INPUT: {"selected_date": "soon"}}}, ids.END_DATE_BLOCK,
     "end-date must be a date"),
    ({**_picked("not-a-customer", known.SCHEDULE_SUB)}, ids.CUSTOMER_BLOCK, "not a valid customer id"),
    ({**_picked(known.FABRIKAM, "<!channel>")}, ids.SUBSCRIPTION_BLOCK, "not a valid subscription id"),
    ({ids.FLAGS_BLOCK: {ids.FLAGS_INPUT: {"selected_options": "full-term"}},
      ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"value": "\u0663"}}}, ids.QUANTITY_BLOCK, "Seats must be"),
])
def test_malformed_modal_values_get_a_field_error(slack_env: Any, extra: dict[str, Any], block: str,
                                                  words: str) -> None:
    env = slack_env()
    view = _schedule_modal(env)
    renewal = {ids.ON_RENEWAL_BLOCK: {ids.ON_RENEWAL_INPUT: {"selected_options": [{"value": ids.FLAG_ON_RENEWAL}]}}}
    values = {**_picked(known.FABRIKAM, known.SCHEDULE_SUB), **({} if ids.TARGET_DATE_BLOCK in extra else renewal),
              **extra}
    response = env.requester.view_submission(view, values, user=REQUESTER)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors" and words in body["errors"][block], body
    assert env.approval_messages() == [] and env.workflow.requests(ALL_STATES) == []
    assert not [r for r in env.replies_to(REQUESTER) if ":boom:" in r]


@pytest.mark.parametrize("metadata", ['{"kind":"bogus"}', '{"kind":"help"}', '{"kind":["migrate"]}'])
def test_damaged_private_metadata_gets_a_form_error(slack_env: Any, metadata: str) -> None:
    env = slack_env()
    view = {**_schedule_modal(env), "private_metadata": metadata}
    renewal = {ids.ON_RENEWAL_BLOCK: {ids.ON_RENEWAL_INPUT: {"selected_options": [{"value": ids.FLAG_ON_RENEWAL}]}}}
    body = env.requester.view_submission(view, {**_picked(known.FABRIKAM, known.SCHEDULE_SUB), **renewal},
                                         user=REQUESTER).json()
    assert body["response_action"] == "errors"
    assert "out of date or damaged" in json.dumps(body["errors"])
    assert env.approval_messages() == [] and env.workflow.requests(ALL_STATES) == []
    assert not [r for r in env.replies_to(REQUESTER) if ":boom:" in r]


def test_damaged_lookup_and_reject_metadata_get_a_form_error(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("status")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    lookup = {**stored_view(env.standin, opened.response["view"]["id"]), "private_metadata": '{"kind":"migrate"}'}
    values = {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": known.CONTOSO}}},
              ids.OBJECT_ID_BLOCK: {ids.OBJECT_ID_INPUT: {"value": known.UNKNOWN_SUB}}}
    body = env.requester.view_submission(lookup, values, user=REQUESTER).json()
    assert body["response_action"] == "errors" and "out of date or damaged" in json.dumps(body["errors"])

    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    request_id, ts = request_button(env)
    env.requester.block_action(ids.REJECT_ACTION, request_id, user=APPROVER, message_ts=ts)
    opened = wait_for(lambda: (lambda o: o[1] if len(o) > 1 else None)(env.standin.calls_to("views.open")))
    reject = stored_view(env.standin, opened.response["view"]["id"])
    reason = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"value": "wrong seats"}}}
    for damaged in ('{"kind":"reject","request":"../../admin"}', "not json", ""):
        body = env.requester.view_submission({**reject, "private_metadata": damaged}, reason, user=APPROVER).json()
        assert body["response_action"] == "errors" and "out of date or damaged" in body["errors"][ids.REASON_BLOCK]
    assert env.workflow.get_request(request_id).state is RequestState.PENDING
    # The reason's length rule is the workflow's (2000), not a second, smaller one in the modal.
    long_reason = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"value": "x" * 1500}}}
    assert env.requester.view_submission(reject, long_reason, user=APPROVER).status_code == 200
    wait_for(lambda: env.workflow.get_request(request_id).state is RequestState.REJECTED)
    too_long = {ids.REASON_BLOCK: {ids.REASON_INPUT: {"value": "x" * 2001}}}
    body = env.requester.view_submission(reject, too_long, user=APPROVER).json()
    assert "2000 characters" in body["errors"][ids.REASON_BLOCK]


# --- 10. policy edges ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("subcommand", ["watch", "unwatch"])
def test_watch_and_unwatch_follow_ncebot_requesters(slack_env: Any, subcommand: str) -> None:
    env = slack_env(requesters=(REQUESTER,))
    env.requester.command(f"watch {known.WIDE_WORLD}")  # a listed requester may
    reply_with(env, REQUESTER, "Watching customer")
    env.requester.command(f"{subcommand} {known.WIDE_WORLD}", user=STRANGER)
    refusal = reply_with(env, STRANGER, "allowed to ask for changes")
    assert refusal.startswith(":lock:")
    assert env.workflow.watched_customers() == [known.WIDE_WORLD]


def test_request_nobody_could_approve_is_refused_up_front(slack_env: Any) -> None:
    env = slack_env(approvers=(REQUESTER, APPROVER), required_approvals=2)
    validations = dict(env.sandbox.state.counts)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    refusal = reply_with(env, REQUESTER, "never be approved")
    assert "needs 2 distinct approval(s) but only 1 approver(s) other than the requester" in refusal
    assert "NCEBOT_" not in refusal  # users never read setting names
    assert env.approval_messages() == [] and env.workflow.requests(ALL_STATES) == []
    assert dict(env.sandbox.state.counts) == validations  # refused before Partner Center was asked
    # Someone who is not an approver can still ask: both approvers can decide on it.
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=STRANGER)
    reply_with(env, STRANGER, "waiting for approval")


def test_group_members_count_towards_who_could_approve(slack_env: Any) -> None:
    env = slack_env(approvers=(APPROVER_GROUP,), required_approvals=2)
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=GROUP_MEMBERS[0])
    refusal = reply_with(env, GROUP_MEMBERS[0], "never be approved")
    assert "only 1 approver(s) other than the requester" in refusal
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    reply_with(env, REQUESTER, "waiting for approval")
