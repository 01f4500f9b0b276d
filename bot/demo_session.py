"""The demo's driver: :class:`Session` acts like Slack would (signed commands and clicks through
:class:`sandbox.slack_requests.SlackRequester`), waits for what the app must do, and keeps the transcript read
from the Slack stand-in's record."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeVar

from bot.demo_world import APPROVAL_CHANNEL, CHANNELS, GROUPS, USERS, WORK_CHANNEL

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from sandbox.slack_api import Message, SlackStandIn
    from sandbox.slack_requests import SlackRequester

T = TypeVar("T")

STEP_TIMEOUT = 15.0  # seconds to wait for any one expected effect
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class DemoFailure(Exception):
    """An expectation of the demo did not hold."""


@dataclass
class Stats:
    requests: int = 0
    migrations_requested: int = 0
    migrations_completed: int = 0
    migrations_failed: int = 0
    schedule_changes: int = 0
    rejections: int = 0
    reports: int = 0
    errors: int = 0


@dataclass
class ApprovalMessage:
    """A request as posted in the approval channel."""

    request_id: str
    ts: str
    buttons: dict[str, str]  # action_id -> button text


@dataclass
class Session:
    """Drives the running app like Slack would, and keeps the transcript."""

    runtime: Runtime
    standin: SlackStandIn
    requester: SlackRequester
    out: IO[str]
    stats: Stats = field(default_factory=Stats)
    lines: list[str] = field(default_factory=list)
    threads: dict[str, str] = field(default_factory=dict)  # parent ts -> label
    _seen_events: int = 0
    _seen_requests: set[str] = field(default_factory=set)
    _parents: dict[str, list[str]] = field(default_factory=dict)

    # --- transcript -------------------------------------------------------------------------------------------
    def names(self, text: str) -> str:
        text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: "@" + USERS.get(m.group(1), m.group(1)), text)
        text = re.sub(r"<!subteam\^([A-Z0-9]+)(\|[^>]*)?>", lambda m: "@" + GROUPS.get(m.group(1), m.group(1)), text)
        text = re.sub(r"<#(C[A-Z0-9]+)(\|[^>]*)?>", lambda m: "#" + CHANNELS.get(m.group(1), m.group(1)), text)
        # Shown as a Slack client shows it: the three escaped characters read as themselves.
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def collect(self) -> None:
        """Append what the app said since the last call (from the stand-in's record of Slack calls)."""
        events = self.standin.transcript()
        for line in events[self._seen_events:]:
            line = re.sub(r" {2,}/? *", lambda m: "  " if "/" not in m.group(0) else " / ", self.names(line))
            line = re.sub(r"\(thread ([0-9.]+)\)",
                          lambda m: f"(in the thread of {self.threads.get(m.group(1), m.group(1))})", line)
            line = self._shorten_edit(line)
            if len(line) > 900:  # a request message with its ids line and buttons fits
                line = line[:897] + "..."
            self.lines.append("    " + line)
        self._seen_events = len(events)

    def _shorten_edit(self, line: str) -> str:
        """A request message is edited several times: show what each edit changed, not the whole message."""
        match = re.search(r"Request `([0-9a-f]{32})`", line)
        if match is None or " | " not in line:
            return line
        request_id = match.group(1)
        head, _, body = line.partition(": ")
        segments = body.split(" | ")
        before = self._parents.get(request_id)
        self._parents[request_id] = segments
        if before is None or "(edited) " not in head + body[:10]:
            return line
        changed = [seg for seg in segments if seg not in before and not seg.startswith("(edited)")]
        buttons = re.search(r"((?:  \[[^\]]+\])+)$", segments[-1])
        shown = " | ".join(changed) or "(no visible change)"
        if buttons is None and "[" not in shown:
            shown += "  (buttons removed)" if re.search(r"\]$", before[-1]) else ""
        return f"{head}: (edited) request {request_id[:8]}: {shown}"

    def say(self, text: str) -> None:
        self.collect()
        self.lines.append(text)

    def chapter(self, title: str) -> None:
        self.collect()
        self.lines.append("")
        self.lines.append(f"== {title}")

    # --- waiting ----------------------------------------------------------------------------------------------
    def wait(self, what: str, predicate: Callable[[], T | None], timeout: float = STEP_TIMEOUT) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                self.collect()
                raise DemoFailure(what)
            time.sleep(0.05)

    # --- acting -----------------------------------------------------------------------------------------------
    def command(self, user: str, text: str, channel: str = WORK_CHANNEL) -> None:
        self.say(f"#{CHANNELS[channel]} @{USERS[user]}: /nce {text}")
        before = len(self.standin.ephemeral_to(user))
        response = self.requester.command(text, user=user, channel=channel, channel_name=CHANNELS[channel])
        self.stats.requests += 1
        if response.status_code != 200:
            raise DemoFailure(f"/nce {text}: the app answered HTTP {response.status_code}")
        self._last_private = before

    def reply(self, user: str, contains: str, what: str) -> str:
        """Wait for a private answer to ``user`` (newer than the last command) containing ``contains``."""

        def found() -> str | None:
            for message in self.standin.ephemeral_to(user)[self._last_private:]:
                text = message.text + " " + json.dumps(message.blocks)
                if contains.lower() in text.lower():
                    return text
            return None

        return self.wait(what, found)

    def click(self, user: str, request: ApprovalMessage, action_id: str) -> None:
        label = request.buttons.get(action_id, action_id)
        self.say(f"#{CHANNELS[APPROVAL_CHANNEL]} @{USERS[user]} clicks [{label}] on request {request.request_id}")
        self._last_private = len(self.standin.ephemeral_to(user))
        response = self.requester.block_action(action_id, request.request_id, user=user, channel=APPROVAL_CHANNEL,
                                               message_ts=request.ts, button_text=label)
        self.stats.requests += 1
        if response.status_code != 200:
            raise DemoFailure(f"click on [{label}]: the app answered HTTP {response.status_code}")

    _last_private: int = 0

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Wait until the app has said nothing new for ``quiet`` seconds (work runs after the ack, on a queue), so
        the next step's lines follow it in the transcript instead of interleaving with late ones."""
        deadline = time.monotonic() + timeout
        count, since = len(self.standin.transcript()), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
            now = len(self.standin.transcript())
            if now != count:
                count, since = now, time.monotonic()

    def open_home(self, user: str) -> dict[str, Any]:
        """``user`` opens the App Home tab (``app_home_opened``); the view the app published for them."""
        self.settle()
        self.say(f"@{USERS[user]} opens the ncebot app's Home tab")
        before = self.standin.home_views.get(user)
        old_hash = before.hash if before is not None else None
        response = self.requester.app_home_opened(user)
        if response.status_code != 200:
            raise DemoFailure(f"app_home_opened: the app answered HTTP {response.status_code}")

        def published() -> dict[str, Any] | None:
            view = self.standin.home_view(user)
            return view if view is not None and view.get("hash") != old_hash else None

        return self.wait(f"the Home tab of @{USERS[user]} is published", published)

    def modal(self, user: str, callback_id: str) -> dict[str, Any]:
        """The newest modal with ``callback_id`` opened for ``user`` (by a trigger of theirs)."""
        from sandbox.slack_requests import stored_view

        def opened() -> dict[str, Any] | None:
            for stored in reversed(list(self.standin.views.values())):
                if (stored.view.get("callback_id") == callback_id and stored.trigger_id
                        and stored.trigger_id.endswith(f".trigger.{user}")):
                    return stored_view(self.standin, stored.id)
            return None

        return self.wait(f"a {callback_id} modal opens for @{USERS[user]}", opened)

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any], what: str) -> None:
        title = (view.get("title") or {}).get("text", "")
        self.say(f"@{USERS[user]} fills in the {title!r} modal ({what}) and submits it")
        self._last_private = len(self.standin.ephemeral_to(user))
        response = self.requester.view_submission(view, values, user=user)
        self.stats.requests += 1
        if response.status_code != 200 or response.text.strip():
            raise DemoFailure(f"the {title!r} modal is accepted and closed, the app answered "
                              f"HTTP {response.status_code} {response.text[:200]}")

    # --- reading the approval channel -------------------------------------------------------------------------
    def new_request(self, label: str) -> ApprovalMessage:
        """The next request message posted in the approval channel, with its Approve/Reject buttons."""

        def find() -> ApprovalMessage | None:
            for message in self.standin.messages(APPROVAL_CHANNEL, include_ephemeral=False):
                if message.thread_ts and message.thread_ts != message.ts:
                    continue
                parsed = _approval(message)
                if parsed is not None and parsed.request_id not in self._seen_requests:
                    return parsed
            return None

        found = self.wait(f"a new request ({label}) in #{CHANNELS[APPROVAL_CHANNEL]} with Approve/Reject buttons",
                          find)
        self._seen_requests.add(found.request_id)
        self.threads[found.ts] = f"{label}, request {found.request_id[:8]}"
        return found

    def parent(self, request: ApprovalMessage) -> str:
        message = self.standin.message(APPROVAL_CHANNEL, request.ts)
        return message.text + " " + json.dumps(message.blocks)

    def thread_text(self, request: ApprovalMessage) -> str:
        return "\n".join(m.text + " " + json.dumps(m.blocks) for m in self.standin.thread(APPROVAL_CHANNEL, request.ts))

    def in_thread(self, request: ApprovalMessage, pattern: str, what: str,
                  timeout: float = STEP_TIMEOUT) -> re.Match[str]:
        return self.wait(what, lambda: re.search(pattern, self.thread_text(request)), timeout)


def _approval(message: Message) -> ApprovalMessage | None:
    from bot.slack import ids

    buttons: dict[str, str] = {}
    request_id = None
    for block in message.blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if element.get("action_id") in (ids.APPROVE_ACTION, ids.REJECT_ACTION):
                buttons[str(element["action_id"])] = str((element.get("text") or {}).get("text", ""))
                request_id = str(element.get("value"))
    if request_id is None:
        return None
    return ApprovalMessage(request_id=request_id, ts=message.ts, buttons=buttons)
