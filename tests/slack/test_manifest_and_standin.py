"""manifest.yml against the code, and the Slack Web API stand-in itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import build_slack_client
from bot.settings import load_settings
from bot.slack import ids
from bot.slack.commands import SUBCOMMANDS
from sandbox.slack_api import SlackStandIn

ROOT = Path(__file__).resolve().parents[2]
SCOPES_FOR = {
    "chat_postMessage": {"chat:write"}, "chat_update": {"chat:write"}, "chat_postEphemeral": {"chat:write"},
    "usergroups_users_list": {"usergroups:read"}, "usergroups_list": {"usergroups:read"},
    "users_info": {"users:read"},
    "conversations_info": {"channels:read"}, "conversations_replies": {"channels:history"},
    "files_upload_v2": {"files:write"}, "files_getUploadURLExternal": {"files:write"},
    "files_completeUploadExternal": {"files:write"}, "conversations_open": {"im:write"},
    "files_info": {"files:read"},  # /nce import: the uploaded file's record and download address
    "conversations_history": {"channels:history"},
    # no scope needed: modals work with a trigger id, permalinks and auth.test with any token
    "views_open": set(), "views_update": set(), "views_push": set(), "chat_getPermalink": set(), "auth_test": set(),
    # the App Home tab: views.publish needs no scope beyond the bot token (nor does the app_home_opened event)
    "views_publish": set(),
}
# Scopes that cover private channels, paired with their public-channel twin (used by the same calls).
PRIVATE_TWIN = {"groups:read": "channels:read", "groups:history": "channels:history"}


def test_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [ids.COMMAND]
    hint = manifest["features"]["slash_commands"][0]["usage_hint"]
    assert [w.strip() for w in hint.split("|")] == [s.name for s in SUBCOMMANDS]
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == list(ids.BOT_EVENTS)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write.public"} <= scopes
    source = "\n".join(p.read_text() for d in ("bot", "handlers") for p in (ROOT / d).rglob("*.py"))
    slack_families = r"(?:chat|views|users|usergroups|conversations|files|auth|reactions|team|apps|bots|pins)"
    called = set(re.findall(rf"client\.({slack_families}_\w+)\(", source))  # Web API methods, not Partner Center
    assert called, "no Web API calls found"
    for method in called:
        assert method in SCOPES_FOR, f"client.{method}: add the scopes it needs to SCOPES_FOR and manifest.yml"
        assert SCOPES_FOR[method] <= scopes, method
    # ...and no scope the code does not use ("the bot scopes it really uses")
    used = {"commands", "chat:write.public"}.union(*(SCOPES_FOR[m] for m in called))
    unused = {s for s in scopes if s not in used and PRIVATE_TWIN.get(s) not in used}
    assert unused == set(), unused
    # every registered id is a declared one, and the approval ids are SPEC's
    assert (ids.APPROVE_ACTION, ids.REJECT_ACTION) == ("ncebot_approve", "ncebot_reject")
    handlers = "\n".join(p.read_text() for p in (ROOT / "handlers").glob("*.py"))
    for used in re.findall(r"app\.(?:action|view|options|event)\(ids\.(\w+)\)", handlers):
        assert hasattr(ids, used)
    events = re.findall(r"app\.event\(ids\.(\w+)\)", handlers)
    assert sorted(getattr(ids, e) for e in events) == sorted(ids.BOT_EVENTS)  # each subscribed event is handled
    for callback in ids.MODAL_CALLBACKS:
        assert len(callback) <= 255
    assert all(f"ids.{name}" in handlers for name in ("APPROVE_ACTION", "REJECT_ACTION", "REJECT_MODAL"))


def test_standin_records_rate_limits_and_auth() -> None:
    with SlackStandIn(bot_token="xoxb-t") as standin:
        settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": standin.base_url})
        client = build_slack_client(settings)
        standin.fail_next("chat.postMessage", status=429, retry_after=0)
        posted = client.chat_postMessage(channel="C1", text="hello")
        assert [c.status for c in standin.calls_to("chat.postMessage")] == [429, 200]
        client.chat_postMessage(channel="C1", thread_ts=posted["ts"], text="in thread")
        assert [m.text for m in standin.thread("C1", posted["ts"])] == ["in thread"]
        assert "xoxb-t" not in repr(standin.calls)
        with pytest.raises(SlackApiError) as caught:
            WebClient(token="xoxb-wrong", base_url=standin.base_url).auth_test()
        assert caught.value.response["error"] == "invalid_auth"
        with pytest.raises(SlackApiError):
            client.conversations_info(channel="CUNKNOWN")
        client.files_upload_v2(channel="C1", filename="report.csv", content="a,b\n1,2\n", title="Report")
        [stored] = standin.files.values()
        assert stored.content == b"a,b\n1,2\n" and stored.channels == ["C1"]
        lines = standin.transcript()
        assert lines[0].startswith("#C1 ncebot: hello") and "(thread" in lines[1] and "report.csv" in lines[-1]


def test_user_group_members_are_cached_briefly_and_fail_closed() -> None:
    from bot.domain import MembershipUnconfirmed
    from bot.slack.membership import SlackMembershipResolver

    now = [1000.0]
    with SlackStandIn(bot_token="xoxb-t", usergroups={"SGROUP1": ["UA", "UB"]}) as standin:
        client = WebClient(token="xoxb-t", base_url=standin.base_url)
        resolver = SlackMembershipResolver(client, ttl_seconds=60, clock=lambda: now[0])
        assert resolver.members("SGROUP1") == {"UA", "UB"}
        now[0] += 59
        assert resolver.members("SGROUP1") == {"UA", "UB"}
        assert len(standin.calls_to("usergroups.users.list")) == 1  # served from the cache
        now[0] += 2
        standin.fail_next("usergroups.users.list", status=500, retry_after=None, error="fatal_error")
        with pytest.raises(MembershipUnconfirmed) as err:  # Slack failed and the list is past its TTL: fail closed
            resolver.members("SGROUP1")
        assert "@sgroup1" in str(err.value)  # named by its handle (usergroups.list)
        assert len(standin.calls_to("usergroups.users.list")) == 2
        assert resolver.members("SUNKNOWN") == frozenset()  # an unreadable group approves nobody
