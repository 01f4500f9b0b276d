"""/nce check, bulk and audit over signed HTTP requests; Slack is the stand-in, Partner Center the sandbox."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from bot.domain import RequestState
from bot.reports import AUDIT_COLUMNS, CHECK_COLUMNS
from bot.slack import ids
from sandbox import known
from sandbox.slack_api import StoredFile
from tests.fixtures.slack import (
    APPROVAL_CHANNEL,
    APPROVER,
    GROUP_MEMBERS,
    REQUESTER,
    STRANGER,
    WORK_CHANNEL,
    SlackEnv,
    wait_for,
)

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AW = known.ADVENTURE_WORKS
AW_ELIGIBLE = sorted(known.INELIGIBLE_BY_CODE[code][1] for code in (11, 12))  # eligible as is (see reports tests)
NO_PRODUCT = known.INELIGIBLE_BY_CODE[5][1]  # code 5: NewCommerceProductUnavailable


def reply_with(env: SlackEnv, user: str, words: str) -> str:
    return str(wait_for(lambda: next((r for r in env.replies_to(user) if words in r), None)))


def rows_of(stored: StoredFile) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stored.content.decode("utf-8-sig"), newline="")))


def top_level(env: SlackEnv) -> list[Any]:
    return [m for m in env.approval_messages() if m.thread_ts in (None, m.ts)]


# --- /nce check -------------------------------------------------------------------------------------------


def test_check_posts_the_csv_in_the_channel_and_answers_the_summary(slack_env: Any) -> None:
    env = slack_env()
    assert env.requester.command(f"check {AW}").status_code == 200
    stored = wait_for(lambda: next((f for f in env.standin.files.values() if f.channels), None))
    assert stored.channels == [WORK_CHANNEL]
    assert stored.filename.startswith(f"nce-check-{AW}-") and stored.filename.endswith(".csv")
    assert stored.title == "NCE check: Adventure Works Cycles"
    assert stored.initial_comment is not None
    assert "2 eligible, 10 ineligible, 2 skipped" in stored.initial_comment
    assert f"<@{REQUESTER}>" in stored.initial_comment

    rows = {r["LegacySubscriptionId"]: r for r in rows_of(stored)}
    assert len(rows) == 14 and set(rows_of(stored)[0]) == set(CHECK_COLUMNS)
    ok = rows[AW_ELIGIBLE[0]]
    assert ok["MigrationEligible"] == "True" and ok["CheckResult"] == "eligible" and ok["ReasonCodes"] == ""
    refused = rows[NO_PRODUCT]
    assert refused["MigrationEligible"] == "False" and refused["CheckResult"] == "ineligible"
    assert refused["ReasonCodes"] == "5" and refused["ReasonNames"] == "NewCommerceProductUnavailable"
    assert refused["PartnerTenantId"] == known.TENANT_ID  # AppDeps.partner_tenant_id reached the report

    # "Checking…" first (before the slow part), then the summary with counts and top reasons.
    checking = reply_with(env, REQUESTER, "Checking")
    assert AW in checking
    summary = reply_with(env, REQUESTER, "Top reasons")
    assert "2 eligible, 10 ineligible, 2 skipped" in summary and "is posted in this channel" in summary
    assert "`7` SubscriptionActiveForLessThanOneMonth \\u2014 2 subscription(s)" in summary  # the most frequent
    first_answer = env.standin.calls_to("response_url")[0]
    assert "Checking" in first_answer.params["text"]
    assert first_answer.at < env.standin.calls_to("files.getUploadURLExternal")[0].at


def test_check_upload_refused_falls_back_to_the_summary_saying_why(slack_env: Any) -> None:
    env = slack_env()
    env.standin.fail_next("files.completeUploadExternal", status=200, retry_after=None, error="not_in_channel")
    env.requester.command(f"check {AW}")
    summary = reply_with(env, REQUESTER, "Top reasons")
    assert "could not be posted here" in summary and "not_in_channel" in summary and "/invite @ncebot" in summary
    assert "2 eligible, 10 ineligible, 2 skipped" in summary
    assert not any(f.channels for f in env.standin.files.values())
    assert env.standin.messages(WORK_CHANNEL, include_ephemeral=False) == []


# --- /nce audit -------------------------------------------------------------------------------------------


def _lifecycle(env: SlackEnv) -> str:
    """A migrate request, approved and submitted: its audit rows are requested, posted, approved, sent..."""
    env.requester.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}")
    message = wait_for(lambda: top_level(env))[0]
    request_id = str(next(e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]))
    env.requester.block_action(ids.APPROVE_ACTION, request_id, user=APPROVER, message_ts=message.ts)
    wait_for(lambda: env.workflow.get_request(request_id).state not in (RequestState.PENDING, RequestState.APPROVED))
    return request_id


def test_audit_sends_the_csv_privately_to_an_approver(slack_env: Any) -> None:
    env = slack_env()
    request_id = _lifecycle(env)
    env.requester.command(f"audit {known.CONTOSO}", user=APPROVER)
    text = reply_with(env, APPROVER, "direct messages")
    assert "not posted in the channel" in text
    stored = wait_for(lambda: next((f for f in env.standin.files.values() if f.channels), None))
    assert stored.filename.startswith(f"nce-audit-{known.CONTOSO}-")
    assert stored.channels[0] not in (WORK_CHANNEL, APPROVAL_CHANNEL)
    opened = env.standin.calls_to("conversations.open")
    assert opened and opened[0].params["users"] == APPROVER
    dm = opened[0].response["channel"]["id"]
    assert dm.startswith("D")
    assert stored.channels == [dm]
    rows = rows_of(stored)
    assert list(rows[0]) == list(AUDIT_COLUMNS)
    mine = [r for r in rows if r["request_id"] == request_id]
    actions = [r["action"] for r in mine]
    for expected in ("requested", "posted", "approved", "sent", "submitted"):
        assert expected in actions, actions
    assert {r["customer_id"] for r in rows} == {known.CONTOSO}
    approved = next(r for r in mine if r["action"] == "approved")
    assert approved["actor"] == APPROVER and approved["from_state"] == "pending" and approved["to_state"] == "approved"
    # names come from users.info, so the CSV reads without Slack; the system actor has none
    assert approved["actor_name"] == "Abe Approver"
    assert next(r for r in mine if r["action"] == "requested")["actor_name"] == "Rita Requester"
    assert {r["actor_name"] for r in mine if not r["actor"].startswith("U")} == {""}
    assert next(r for r in mine if r["action"] == "sent")["ms_request_id"]
    assert env.standin.messages(WORK_CHANNEL, include_ephemeral=False) == []


def test_audit_is_refused_to_a_non_approver_and_allowed_to_a_group_member(slack_env: Any) -> None:
    env = slack_env()
    _lifecycle(env)
    env.requester.command("audit", user=STRANGER)
    assert "Only approvers" in reply_with(env, STRANGER, ":lock:")
    env.requester.command("audit", user=REQUESTER)
    assert "Only approvers" in reply_with(env, REQUESTER, "Only approvers")
    assert env.standin.calls_to("files.getUploadURLExternal") == [] and env.standin.files == {}
    env.requester.command("audit", user=GROUP_MEMBERS[0])  # an approver through the S… user group
    assert "all customers" in reply_with(env, GROUP_MEMBERS[0], "direct messages")
    env.requester.command("audit not-a-customer", user=APPROVER)
    assert "No customer matches `not-a-customer`" in reply_with(env, APPROVER, "No customer")
