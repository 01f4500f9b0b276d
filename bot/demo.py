"""``ncebot demo``: the whole product, offline, in about twenty seconds.

Starts the Partner Center sandbox (fast clock), a local Slack Web API stand-in (an approval channel, a work
channel and four people), and the real app in HTTP mode through :func:`bot.runtime.build_runtime` — the same
builder as ``ncebot run`` — on SQLite in a temporary directory, with the tracking service running. It then plays a
session through SIGNED Slack HTTP requests (slash commands and button clicks, exactly as Slack sends them), checks
what the app answered at every step, prints the conversation and a one-line summary. Exit code 0 when every
expectation held, 1 otherwise (with a line saying which one failed).
"""

from __future__ import annotations

import json
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import httpx

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from sandbox.slack_api import Message, SlackStandIn
    from sandbox.slack_requests import SlackRequester

T = TypeVar("T")

DEFAULT_TIME_SCALE = 60.0  # one real second is one sandbox minute
STEP_TIMEOUT = 15.0  # seconds to wait for any one expected effect

# The people and places of the demo workspace.
ALICE = "UALICE0001"  # ops engineer: asks for the changes (also an approver, but never of her own requests)
BOB = "UBOB000002"  # billing lead: approver
CAROL = "UCAROL0003"  # senior engineer: approver
DAVE = "UDAVE00004"  # sales: not an approver
USERS = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave"}
APPROVERS_GROUP = "SNCEAPPROV1"  # the @nce-approvers user group
APPROVAL_CHANNEL = "CNCEAPPROV1"
WORK_CHANNEL = "CCLOUDOPS01"
CHANNELS = {APPROVAL_CHANNEL: "nce-approvals", WORK_CHANNEL: "cloud-ops"}

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
        text = re.sub(r"<!subteam\^([A-Z0-9]+)(\|[^>]*)?>", lambda m: "@nce-approvers"
                      if m.group(1) == APPROVERS_GROUP else "@" + m.group(1), text)
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


# ==================================================================================================== the session
def play(s: Session) -> None:
    from bot.slack import ids
    from sandbox import known

    sandbox = s.runtime.sandbox
    assert sandbox is not None
    today = datetime.now(UTC).date()

    s.chapter("Getting started")
    s.command(ALICE, "help")
    s.reply(ALICE, "/nce migrate", "the help lists /nce migrate")

    s.chapter("Checking eligibility")
    s.command(ALICE, f"validate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y billing=monthly")
    s.reply(ALICE, "Eligible", "validate of an eligible subscription answers Eligible")
    ineligible_customer, ineligible_sub = known.INELIGIBLE_BY_CODE[5]  # no NCE offer for this product yet
    s.command(ALICE, f"validate {ineligible_customer} {ineligible_sub}")
    s.reply(ALICE, "Not eligible", "validate of an ineligible subscription answers Not eligible with its reasons")

    s.chapter("A migration, asked for and approved")
    s.command(ALICE, f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y billing=monthly")
    s.reply(ALICE, "waiting for approval", "the requester is told the request waits for approval")
    first = s.new_request("migrate Microsoft 365 E5")
    s.stats.migrations_requested += 1
    if set(first.buttons) != {ids.APPROVE_ACTION, ids.REJECT_ACTION}:
        raise DemoFailure(f"the request message should offer Approve and Reject, it offers {first.buttons}")

    s.click(DAVE, first, ids.APPROVE_ACTION)
    s.reply(DAVE, "Only approvers", "someone who is not an approver is refused")
    s.click(ALICE, first, ids.APPROVE_ACTION)
    s.reply(ALICE, "another approver", "the requester cannot approve her own request (self-approval is off)")
    if "Approved by" in s.parent(first):
        raise DemoFailure("the request was approved by a click that should have been refused")

    s.click(BOB, first, ids.APPROVE_ACTION)
    s.wait("the request message is edited to 'Approved by @bob'",
           lambda: f"Approved by <@{BOB}>" in s.parent(first) and ids.APPROVE_ACTION not in s.parent(first))
    submitted = s.in_thread(first, rf"migration id `({GUID})`", "the thread says the migration was submitted")
    migration_id = submitted.group(1)

    s.chapter("A second migration, which Partner Center will fail")
    s.command(ALICE, f"migrate {known.CONTOSO} {known.FAILING_SUB}")
    s.reply(ALICE, "waiting for approval", "the second request waits for approval")
    second = s.new_request("migrate a subscription whose migration fails")
    s.stats.migrations_requested += 1
    s.click(CAROL, second, ids.APPROVE_ACTION)
    s.wait("the second request is approved by @carol", lambda: f"Approved by <@{CAROL}>" in s.parent(second))
    s.in_thread(second, r"migration id `", "the thread says the second migration was submitted")

    s.chapter("Partner Center works on them (sandbox clock fast-forwarded 4 minutes); ncebot follows up")
    sandbox.advance(240)
    s.in_thread(first, rf"completed at [^:]*:[^:]*: new NCE subscription `({GUID})`",
                "the thread of the first request shows the completion with the new NCE subscription id",
                timeout=30)
    s.stats.migrations_completed += 1
    s.wait("the first request shows it completed", lambda: "ompleted" in s.parent(first))
    s.in_thread(second, rf"failed: {known.FAILING_ERROR_CODE}",
                f"the thread of the second request shows the failure with code {known.FAILING_ERROR_CODE}",
                timeout=30)
    s.stats.migrations_failed += 1
    s.command(ALICE, f"status {known.CONTOSO} {migration_id}")
    s.reply(ALICE, "Completed", "/nce status shows the migration completed")

    s.chapter("A schedule: created, moved, cancelled — each approved")
    first_date, second_date = today + timedelta(days=14), today + timedelta(days=21)
    s.command(ALICE, f"schedule {known.FABRIKAM} {known.SCHEDULE_SUB} date={first_date.isoformat()}")
    s.reply(ALICE, "waiting for approval", "the schedule request waits for approval")
    create = s.new_request("schedule")
    s.click(CAROL, create, ids.APPROVE_ACTION)
    schedule_id = s.in_thread(create, rf"schedule `({GUID})` created", "the thread says the schedule was created"
                              ).group(1)
    s.stats.schedule_changes += 1

    s.command(ALICE, f"schedules {known.FABRIKAM} {known.SCHEDULE_SUB}")
    s.reply(ALICE, schedule_id, "/nce schedules lists the new schedule")

    s.command(ALICE, f"reschedule {known.FABRIKAM} {schedule_id} date={second_date.isoformat()}")
    s.reply(ALICE, "waiting for approval", "the reschedule request waits for approval")
    move = s.new_request("reschedule")
    s.click(BOB, move, ids.APPROVE_ACTION)
    s.in_thread(move, rf"schedule `{schedule_id}` updated", "the thread says the schedule was updated")
    s.stats.schedule_changes += 1
    _expect_schedule(s, schedule_id, "target date moved", lambda sch: _day(sch.get("targetDate")) == second_date)

    s.command(ALICE, f"cancel {known.FABRIKAM} {schedule_id}")
    s.reply(ALICE, "waiting for approval", "the cancel request waits for approval")
    cancel = s.new_request("cancel schedule")
    s.click(CAROL, cancel, ids.APPROVE_ACTION)
    s.in_thread(cancel, rf"schedule `{schedule_id}` cancelled", "the thread says the schedule was cancelled")
    s.stats.schedule_changes += 1
    _expect_schedule(s, schedule_id, "cancelled in Partner Center",
                     lambda sch: str(sch.get("status", "")).lower() == "cancelled")

    s.chapter("Operations")
    _check_ops(s)
    s.collect()


def _day(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _expect_schedule(s: Session, schedule_id: str, what: str, check: Callable[[dict[str, Any]], bool]) -> None:
    """Ask Partner Center (the sandbox) itself, through ncebot's own client, what became of the schedule."""
    from sandbox import known

    def current() -> bool:
        schedule = s.runtime.partner_center.get_schedule(known.FABRIKAM, schedule_id)
        return check(schedule.model_dump(mode="json", by_alias=True))

    s.wait(f"Partner Center has schedule {schedule_id} {what}", current)
    s.say(f"  (Partner Center confirms: schedule {schedule_id[:8]}… {what})")


def _check_ops(s: Session) -> None:
    server_url = s.requester.url.removesuffix("/slack/events")
    health = httpx.get(server_url + "/healthz", timeout=10)
    body = health.json()
    checks = body.get("checks") or {}
    names = ("database", "scheduler", "lease")
    if health.status_code != 200 or not all((checks.get(n) or {}).get("ok") for n in names):
        raise DemoFailure(f"GET /healthz should be 200 with database, scheduler and lease ok, got "
                          f"{health.status_code} {body}")
    metrics = httpx.get(server_url + "/metrics", timeout=10).text
    calls = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                if line.startswith("ncebot_partner_center_calls_total{"))
    if calls <= 0:
        raise DemoFailure("GET /metrics should count the Partner Center calls made")
    s.say(f"GET /healthz -> {health.status_code} "
          + ", ".join(f"{n}: {checks[n]['detail']}" for n in ("database", "scheduler", "lease")))
    s.say(f"GET /metrics -> {int(calls)} Partner Center calls counted in ncebot_partner_center_calls_total")


# ==================================================================================================== the harness
def run_demo(keep_running: bool = False, time_scale: float | None = None, out: IO[str] = sys.stdout) -> int:
    from bot.logging_setup import configure_logging
    from bot.runtime import build_runtime
    from bot.settings import load_settings
    from sandbox.slack_api import SlackStandIn
    from sandbox.slack_requests import SlackRequester

    started = time.monotonic()
    configure_logging("ERROR", json_output=False)
    scale = DEFAULT_TIME_SCALE if time_scale is None else time_scale
    if scale <= 0:
        print("ncebot demo: --time-scale must be positive", file=out)
        return 2
    signing_secret = secrets.token_hex(16)
    bot_token = "xoxb-demo-" + secrets.token_hex(8)
    workdir = tempfile.TemporaryDirectory(prefix="ncebot-demo-")
    standin = SlackStandIn(signing_secret=signing_secret, bot_token=bot_token, users=USERS, channels=CHANNELS,
                           usergroups={APPROVERS_GROUP: [ALICE, BOB, CAROL]})
    runtime: Runtime | None = None
    server = None
    requester = None
    stats = Stats()
    session: Session | None = None
    code = 0
    try:
        standin.start()
        env = {
            "SLACK_BOT_TOKEN": bot_token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": standin.base_url,
            "DATABASE_URL": f"sqlite:///{Path(workdir.name) / 'ncebot-demo.db'}",
            "PARTNER_CENTER_SANDBOX": "true",
            "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
            "NCEBOT_APPROVERS": APPROVERS_GROUP,
            "NCEBOT_POLL_INTERVAL": "1",
        }
        settings = load_settings(env, env_file=None, require_run=True)
        runtime = build_runtime(settings, sandbox_time_scale=scale, post_spacing=0.05, drain_seconds=0.25)
        runtime.start_background()
        server = runtime.http_server("127.0.0.1", 0).start()
        requester = SlackRequester(server.url, standin, signing_secret, user_names=USERS)
        _header(out, runtime, server.url, standin, scale)
        session = Session(runtime=runtime, standin=standin, requester=requester, out=out, stats=stats)
        play(session)
    except DemoFailure as exc:
        stats.errors += 1
        code = 1
        failure = f"demo FAILED: expected {exc}"
    except Exception as exc:  # a crash of the harness or the app: still print what happened
        stats.errors += 1
        code = 1
        failure = f"demo FAILED: {type(exc).__name__}: {exc}"
    else:
        failure = ""
    if session is not None:
        session.collect()
        print("\n".join(session.lines), file=out)
        stats.requests = requester.sent if requester is not None else stats.requests
    if failure:
        print("", file=out)
        print(failure, file=out)
    elapsed = time.monotonic() - started
    print("", file=out)
    print(f"demo {'complete' if code == 0 else 'failed'}: {stats.requests} Slack requests, "
          f"{stats.migrations_requested} migrations requested, {stats.migrations_completed} completed, "
          f"{stats.migrations_failed} failed, {stats.schedule_changes} schedule changes, {stats.errors} errors "
          f"in {elapsed:.1f} s", file=out)
    out.flush()
    try:
        if keep_running and runtime is not None and server is not None:
            _keep_running(out, runtime, server.url, standin, signing_secret, bot_token, settings.database_url)
    finally:
        if requester is not None:
            requester.close()
        if server is not None:
            server.stop()
        if runtime is not None:
            runtime.close()
        standin.stop()
        workdir.cleanup()
    return code


def _header(out: IO[str], runtime: Runtime, app_url: str, standin: SlackStandIn, scale: float) -> None:
    sandbox = runtime.sandbox
    print("ncebot demo: everything below runs on this machine; nothing talks to Slack or Microsoft.", file=out)
    print(f"  Partner Center sandbox  {sandbox.base_url if sandbox else '?'} (clock x{scale:g})", file=out)
    print(f"  Slack Web API stand-in  {standin.base_url}", file=out)
    print(f"  ncebot (HTTP mode)      {app_url}/slack/events, built by the same runtime as `ncebot run`", file=out)
    people = ", ".join(f"@{name}" for name in USERS.values())
    print(f"  people: {people} — approvers: @nce-approvers (@alice, @bob, @carol); @dave is in sales", file=out)
    print("  transcript: '#channel @who: …' is what someone did; indented lines are what Slack shows.", file=out)
    out.flush()


def _keep_running(out: IO[str], runtime: Runtime, app_url: str, standin: SlackStandIn, signing_secret: str,
                  bot_token: str, database_url: str) -> None:
    sandbox = runtime.sandbox
    print("", file=out)
    print("Still running (Ctrl-C to stop):", file=out)
    print(f"  ncebot           POST {app_url}/slack/events   GET {app_url}/healthz   GET {app_url}/metrics", file=out)
    print(f"  Slack stand-in   {standin.base_url} (what the app posted: the transcript above)", file=out)
    if sandbox is not None:
        print(f"  Partner Center   {sandbox.base_url} (sandbox; see `ncebot sandbox --help`)", file=out)
        print("Environment to point another ncebot or a script at them:", file=out)
        for key, value in sandbox.client_env().items():
            print(f"  {key}={value}", file=out)
    print(f"  SLACK_API_URL={standin.base_url}", file=out)
    print(f"  SLACK_BOT_TOKEN={bot_token}", file=out)
    print(f"  SLACK_SIGNING_SECRET={signing_secret}   (sign your own requests to {app_url}/slack/events)", file=out)
    print(f"  DATABASE_URL={database_url}", file=out)
    print(f"  NCEBOT_APPROVAL_CHANNEL={APPROVAL_CHANNEL}  NCEBOT_APPROVERS={APPROVERS_GROUP}", file=out)
    print("  users: " + ", ".join(f"{uid}={name}" for uid, name in USERS.items()), file=out)
    out.flush()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping", file=out)
