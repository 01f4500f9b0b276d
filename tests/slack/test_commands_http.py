"""/nce over real signed HTTP requests into the real Bolt app; Slack is the stand-in, Partner Center the sandbox."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack import ids
from bot.slack.commands import SUBCOMMANDS
from sandbox import known
from tests.fixtures.slack import (
    APPROVER,
    APPROVER2,
    APPROVER_GROUP,
    REQUESTER,
    SlackEnv,
    stored_view,
    wait_for,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def reply_to(env: SlackEnv, user: str = REQUESTER, count: int = 1) -> str:
    replies = wait_for(lambda: (lambda r: r if len(r) >= count else None)(env.replies_to(user)))
    return str(replies[count - 1])


def test_help_lists_every_subcommand(slack_env: Any) -> None:
    env = slack_env()
    response = env.requester.command("help")
    assert response.status_code == 200
    text = reply_to(env)
    assert {"check", "bulk", "audit"} <= {sub.name for sub in SUBCOMMANDS}
    for sub in SUBCOMMANDS:
        assert f"/nce {sub.name}" in text
    assert "coming soon" not in text.lower()
    assert env.standin.calls_to("response_url")[0].params["response_type"] == "ephemeral"


def test_subscriptions_nests_addons_under_their_base(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"subscriptions {known.CONTOSO}")
    text = reply_to(env)
    base_at = text.index(known.ELIGIBLE_BASE)
    for addon in known.ELIGIBLE_BASE_ADDONS:
        assert text.index(addon) > base_at
        assert "add-on" in text


def test_validate_shows_eligibility_and_target(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"validate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y")
    text = reply_to(env)
    assert "Eligible" in text and "target catalog item" in text
    customer, sub = known.INELIGIBLE_BY_CODE[0]
    env.requester.command(f"validate {customer} {sub}")
    assert "Not eligible" in reply_to(env, count=2)


def test_migrate_posts_the_request_and_confirms_with_a_link(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} quantity=20")
    text = reply_to(env)
    assert "waiting for approval" in text and "https://standin.slack.invalid/archives/CAPPROVALS1/" in text
    [message] = env.approval_messages()
    actions = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [ids.APPROVE_ACTION, ids.REJECT_ACTION]
    assert actions[0]["value"] in text  # the button's value is the request id
    assert "20 seats" in json.dumps(message.blocks) and f"<@{REQUESTER}>" in json.dumps(message.blocks)
    # the approvers are mentioned in the posted message and its notification text, so Slack notifies them
    for mention in (f"<@{APPROVER}>", f"<@{APPROVER2}>", f"<!subteam^{APPROVER_GROUP}>"):
        assert mention in json.dumps(message.blocks) and mention in message.text
    env.requester.command("pending")
    assert actions[0]["value"] in reply_to(env, count=2)


def test_ineligible_migrate_is_refused_and_nothing_posted(slack_env: Any) -> None:
    env = slack_env()
    customer, sub = known.INELIGIBLE_BY_CODE[0]
    env.requester.command(f"migrate {customer} {sub}")
    assert "cannot be migrated" in reply_to(env)
    assert env.approval_messages() == []


def test_schedule_watch_and_unwatch(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_RENEWAL_SUB} on-renewal")
    assert "waiting for approval" in reply_to(env)
    assert "migrates at renewal" in json.dumps(env.approval_messages()[0].blocks).lower()
    env.requester.command(f"watch {known.WIDE_WORLD}")
    assert "Watching customer" in reply_to(env, count=2)
    env.requester.command(f"unwatch {known.WIDE_WORLD}")
    assert "Stopped watching" in reply_to(env, count=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"migrate 123 {known.ELIGIBLE_SIMPLE}", "No customer matches `123` among the partner's 6 customers"),
        (f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} colour=blue", "unknown option `colour`"),
        (f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P5Y", "`term` must be one of"),
        (f"schedules {known.CONTOSO} not-a-guid", "not a valid subscription id"),
        ("launch", "unknown subcommand `launch`"),
    ],
)
def test_wrong_arguments_get_an_ephemeral_naming_them(slack_env: Any, text: str, expected: str) -> None:
    env = slack_env()
    assert env.requester.command(text).status_code == 200
    assert expected in reply_to(env)
    assert env.approval_messages() == []


def test_missing_arguments_open_the_modal_before_partner_center(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO}")
    wait_for(lambda: env.standin.calls_to("views.update"))
    opened, updated = env.standin.calls_to("views.open")[0], env.standin.calls_to("views.update")[0]
    assert opened.params["trigger_id"] and opened.at <= updated.at
    view_id = updated.params["view_id"]
    view = stored_view(env.standin, view_id)
    assert view["callback_id"] == ids.MIGRATE_MODAL
    assert known.ELIGIBLE_BASE in json.dumps(view["blocks"])  # the customer's legacy subscriptions

    # Picking a subscription re-renders the modal with its add-ons.
    env.requester.block_action(ids.SUBSCRIPTION_SELECT, user=REQUESTER, view=view, block_id=ids.SUBSCRIPTION_BLOCK,
                               selected_option={"value": known.ELIGIBLE_BASE, "text": {"type": "plain_text",
                                                                                        "text": "E3"}})
    wait_for(lambda: len(env.standin.calls_to("views.update")) >= 2)
    view = stored_view(env.standin, view_id)
    assert known.ELIGIBLE_BASE_ADDONS[0] in json.dumps(view["blocks"])

    # A bad field gets an error on its own input block; nothing is requested.
    values = {
        ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"type": "external_select", "selected_option": {
            "value": known.CONTOSO}}},
        ids.SUBSCRIPTION_BLOCK: {ids.SUBSCRIPTION_SELECT: {"type": "static_select", "selected_option": {
            "value": known.ELIGIBLE_BASE}}},
        ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"type": "plain_text_input", "value": "-3"}},
    }
    response = env.requester.view_submission(view, values, user=REQUESTER)
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {ids.QUANTITY_BLOCK: (
        "Seats must be a whole number from 1.")}}
    assert env.approval_messages() == []

    values[ids.QUANTITY_BLOCK] = {ids.QUANTITY_INPUT: {"type": "plain_text_input", "value": "7"}}
    assert env.requester.view_submission(view, values, user=REQUESTER).status_code == 200
    message = wait_for(lambda: env.approval_messages())[0]
    assert "7 seats" in json.dumps(message.blocks)
    assert "waiting for approval" in reply_to(env)


def test_customer_picker_loads_options(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("migrate")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    response = env.requester.block_suggestion(ids.CUSTOMER_SELECT, ids.CUSTOMER_BLOCK, "fabri", user=REQUESTER,
                                              view=view)
    assert response.status_code == 200
    assert [o["value"] for o in response.json()["options"]] == [known.FABRIKAM]


def test_reschedule_modal_field_errors(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command("reschedule")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    values = {
        ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": known.FABRIKAM}}},
        ids.SCHEDULE_ID_BLOCK: {ids.SCHEDULE_ID_INPUT: {"value": "nope"}},
        ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": "2001-01-01"}},
    }
    body = env.requester.view_submission(view, values, user=REQUESTER).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {ids.SCHEDULE_ID_BLOCK, ids.TARGET_DATE_BLOCK}


def test_bad_or_stale_signatures_are_refused(slack_env: Any) -> None:
    env = slack_env()
    body = env.requester.command_body(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    form = "application/x-www-form-urlencoded"
    assert env.requester.post(body, form, signature="v0=" + "0" * 64).status_code == 401
    assert env.requester.post(body, form, timestamp=int(time.time()) - 3600).status_code == 401
    assert env.requester.post(body + "&x=1", form, signature=env.requester.verifier.generate_signature(
        timestamp=str(int(time.time())), body=body)).status_code == 401
    time.sleep(0.3)  # give a wrongly accepted request the chance to act
    assert env.standin.calls == []
    assert env.workflow.pending_requests() == []


def test_ack_is_fast_even_when_partner_center_is_slow(slack_env: Any) -> None:
    env = slack_env()
    env.sandbox.state.set_faults({"latency": 5.0})
    for text in (f"subscriptions {known.CONTOSO}", f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}",
                 f"migrate {known.CONTOSO}"):
        started = time.monotonic()
        response = env.requester.command(text)
        assert response.status_code == 200
        assert time.monotonic() - started < 2.5
    env.sandbox.state.clear_faults()
    # the modal was opened at once, before the slow Partner Center call
    assert wait_for(lambda: env.standin.calls_to("views.open"))


def test_health_and_metrics_endpoints(slack_env: Any) -> None:
    import httpx

    env = slack_env()
    health = httpx.get(env.url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx.get(env.url + "/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")


_WORDS = st.sampled_from([s.name for s in SUBCOMMANDS] + [
    known.CONTOSO, "not-a-guid", "term=P1Y", "term=", "=", "quantity=-1", "date=2030-02-31", "on-renewal",
    "full-term=yes", "addons=", "billing=weekly", "<@U1>", "`", "*", "ü", "\u200b",
])


def test_random_text_is_always_answered(slack_env: Any) -> None:
    env = slack_env()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(words=st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=6))
    def check(words: list[str]) -> None:
        text = " ".join(words)
        before = len(env.standin.calls_to("response_url")) + len(env.standin.calls_to("views.open"))
        response = env.requester.command(text)
        assert response.status_code == 200, text
        wait_for(lambda: len(env.standin.calls_to("response_url")) + len(env.standin.calls_to("views.open")) > before)

    check()
    answers = [c.params.get("text", "") for c in env.standin.calls_to("response_url")]
    assert answers and not any("Traceback" in a or "Something went wrong" in a for a in answers)


def _approve_latest(env: SlackEnv) -> tuple[str, str]:
    """Approve the newest request in the approval channel (as an approver); returns (request id, message ts)."""
    from tests.fixtures.slack import APPROVER

    message = wait_for(lambda: env.request_messages())[-1]
    request_id = next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    assert env.requester.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER,
                                      message_ts=message.ts).status_code == 200
    return request_id, message.ts


def test_schedule_approved_then_schedules_reschedule_and_cancel(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_RENEWAL_SUB} on-renewal")
    request_id, ts = _approve_latest(env)
    schedule_id = wait_for(lambda: env.workflow.get_request(request_id).schedule_id)
    parent = wait_for(lambda: (lambda t: t if schedule_id in t else None)(
        json.dumps(env.standin.message(env.approval_messages()[0].channel, ts).blocks)))
    # The parent message says what happened, in words (not "Submitted to Partner Center: the change").
    assert f"Schedule `{schedule_id}` created: migrates at renewal" in parent and "the change" not in parent

    env.requester.command(f"schedules {known.FABRIKAM}")
    listed = reply_to(env, count=2)
    assert schedule_id in listed
    assert ids.SCHEDULE_UPDATE_ACTION in listed and ids.SCHEDULE_CANCEL_ACTION in listed

    env.requester.command(f"reschedule {known.FABRIKAM} {schedule_id} quantity=5")
    assert "waiting for approval" in reply_to(env, count=3)
    assert schedule_id in json.dumps(env.request_messages()[-1].blocks)
    reschedule_id, _ = _approve_latest(env)
    assert wait_for(lambda: env.workflow.get_request(reschedule_id).state.is_final)
    assert env.workflow.get_request(reschedule_id).state.value == "completed"
    env.requester.command(f"cancel {known.FABRIKAM} {schedule_id}")
    assert "waiting for approval" in reply_to(env, count=4)
    cancel_message = env.request_messages()[-1]
    assert "Cancel a migration schedule" in json.dumps(cancel_message.blocks)
    assert len(env.request_messages()) == 3


def test_status_of_an_approved_migration(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    request_id, _ts = _approve_latest(env)
    migration_id = wait_for(lambda: env.workflow.get_request(request_id).migration_id)
    env.requester.command(f"status {known.CONTOSO} {migration_id}")
    text = reply_to(env, count=2)
    assert f"Migration {migration_id}" in text and known.ELIGIBLE_SIMPLE in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"subscriptions {known.UNKNOWN_CUSTOMER}", "20002: The partner does not have a commerce relationship"),
        (f"validate {known.CONTOSO} {known.UNKNOWN_SUB}", f"Subscription `{known.UNKNOWN_SUB}` was not found"),
        (f"status {known.CONTOSO} {known.UNKNOWN_SUB}", f"migration `{known.UNKNOWN_SUB}` was not found"),
        (f"cancel {known.FABRIKAM} {known.UNKNOWN_SUB}", f"schedule `{known.UNKNOWN_SUB}` was not found"),
        (f"reschedule {known.FABRIKAM} {known.UNKNOWN_SUB} date=2030-01-01 on-renewal", "not both"),
        (f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB} date=2030-02-31", "not a real date"),
        ("pending now", "unexpected argument `now`"),
        ("watch tailspin", "No customer matches `tailspin`"),  # customers may be named (SPEC §4)
        (f"unwatch {known.CONTOSO} extra", "unexpected argument"),
        (f"status {known.CONTOSO} quantity=3", "not used by `/nce status`"),
    ],
)
def test_each_subcommand_names_what_is_wrong(slack_env: Any, text: str, expected: str) -> None:
    env = slack_env()
    assert env.requester.command(text).status_code == 200
    answer = reply_to(env)
    assert expected in answer, answer
    assert "Something went wrong" not in answer
    assert env.approval_messages() == []


@pytest.mark.parametrize("text", ["status", f"status {known.CONTOSO}", "cancel", "subscriptions", "watch"])
def test_missing_ids_open_the_lookup_modal(slack_env: Any, text: str) -> None:
    env = slack_env()
    assert env.requester.command(text).status_code == 200
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    assert opened.response["view"]["callback_id"] == ids.LOOKUP_MODAL
    assert env.standin.calls_to("response_url") == []


def test_schedule_modal_field_errors_then_a_request(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"schedule {known.FABRIKAM} {known.SCHEDULE_RENEWAL_SUB}")  # no date: the modal
    wait_for(lambda: env.standin.calls_to("views.update"))
    view = stored_view(env.standin, env.standin.calls_to("views.update")[0].params["view_id"])
    assert view["callback_id"] == ids.SCHEDULE_MODAL
    base = {
        ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": known.FABRIKAM}}},
        ids.SUBSCRIPTION_BLOCK: {ids.SUBSCRIPTION_SELECT: {"selected_option": {"value": known.SCHEDULE_RENEWAL_SUB}}},
    }
    renewal = {ids.ON_RENEWAL_BLOCK: {ids.ON_RENEWAL_INPUT: {"selected_options": [{"value": ids.FLAG_ON_RENEWAL}]}}}
    for extra, block, words in [
        ({}, ids.TARGET_DATE_BLOCK, "Choose the date"),
        ({ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": "2001-01-01"}}}, ids.TARGET_DATE_BLOCK,
         "must be in the future"),
        ({**renewal, ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": "2099-01-01"}}},
         ids.TARGET_DATE_BLOCK, "not both"),
        ({**renewal, ids.TERM_BLOCK: {ids.TERM_INPUT: {"selected_option": {"value": "P9Y"}}}}, ids.TERM_BLOCK,
         "term must be one of"),
    ]:
        body = env.requester.view_submission(view, {**base, **extra}, user=REQUESTER).json()
        assert body["response_action"] == "errors" and list(body["errors"]) == [block], body
        assert words in body["errors"][block]
    assert env.request_messages() == []
    assert env.requester.view_submission(view, {**base, **renewal}, user=REQUESTER).status_code == 200
    message = wait_for(lambda: env.request_messages())[0]
    assert "migrates at renewal" in json.dumps(message.blocks).lower()


def test_lookup_modal_bad_id_gets_a_field_error(slack_env: Any) -> None:
    env = slack_env()
    env.requester.command(f"status {known.CONTOSO}")
    opened = wait_for(lambda: env.standin.calls_to("views.open"))[0]
    view = stored_view(env.standin, opened.response["view"]["id"])
    values = {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": known.CONTOSO}}},
              ids.OBJECT_ID_BLOCK: {ids.OBJECT_ID_INPUT: {"value": "12345"}}}
    body = env.requester.view_submission(view, values, user=REQUESTER).json()
    assert body["response_action"] == "errors" and list(body["errors"]) == [ids.OBJECT_ID_BLOCK]
    assert "not a valid migration id" in body["errors"][ids.OBJECT_ID_BLOCK]
