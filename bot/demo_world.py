"""The demo workspace: its people and channels, and :class:`DemoWorld`, which starts everything the demo, the
browser playground and their tests run against — the Partner Center sandbox (fast clock), the Slack Web API
stand-in, and the real app in HTTP mode built by :func:`bot.runtime.build_runtime` (the same builder as
``ncebot run``) on SQLite in a temporary directory, with the tracking service running."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.http_server import HttpServer
    from bot.runtime import Runtime
    from sandbox.slack_api import SlackStandIn
    from sandbox.slack_requests import SlackRequester

DEFAULT_TIME_SCALE = 60.0  # one real second is one sandbox minute

# The people and places of the demo workspace.
ALICE = "UALICE0001"  # ops engineer: asks for the changes (also an approver, but never of her own requests)
BOB = "UBOB000002"  # billing lead: approver
CAROL = "UCAROL0003"  # senior engineer: approver
DAVE = "UDAVE00004"  # sales: not an approver
USERS = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave"}
ROLES = {ALICE: "ops engineer · requester (approver too)", BOB: "billing lead · approver",
         CAROL: "senior engineer · approver", DAVE: "sales · not an approver"}
APPROVERS_GROUP = "SNCEAPPROV1"  # the @nce-approvers user group
GROUPS = {APPROVERS_GROUP: "nce-approvers"}
APPROVAL_CHANNEL = "CNCEAPPROV1"
WORK_CHANNEL = "CCLOUDOPS01"
CHANNELS = {APPROVAL_CHANNEL: "nce-approvals", WORK_CHANNEL: "cloud-ops"}


@dataclass
class DemoWorld:
    """Everything running for a demo session; :meth:`close` stops it all (in reverse order)."""

    runtime: Runtime
    server: HttpServer
    standin: SlackStandIn
    requester: SlackRequester
    signing_secret: str
    bot_token: str
    database_url: str
    workdir: tempfile.TemporaryDirectory[str]

    @property
    def app_url(self) -> str:
        return self.server.url

    @classmethod
    def start(cls, time_scale: float = DEFAULT_TIME_SCALE) -> DemoWorld:
        from bot.runtime import build_runtime
        from bot.settings import load_settings
        from sandbox.slack_api import SlackStandIn
        from sandbox.slack_requests import SlackRequester

        signing_secret = secrets.token_hex(16)
        bot_token = "xoxb-demo-" + secrets.token_hex(8)
        workdir = tempfile.TemporaryDirectory(prefix="ncebot-demo-")
        standin = SlackStandIn(signing_secret=signing_secret, bot_token=bot_token, users=USERS, channels=CHANNELS,
                               usergroups={APPROVERS_GROUP: [ALICE, BOB, CAROL]})
        runtime: Runtime | None = None
        server: HttpServer | None = None
        try:
            standin.start()
            database_url = f"sqlite:///{Path(workdir.name) / 'ncebot-demo.db'}"
            env = {
                "SLACK_BOT_TOKEN": bot_token,
                "SLACK_SIGNING_SECRET": signing_secret,
                "SLACK_API_URL": standin.base_url,
                "DATABASE_URL": database_url,
                "PARTNER_CENTER_SANDBOX": "true",
                "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
                "NCEBOT_APPROVERS": APPROVERS_GROUP,
                "NCEBOT_POLL_INTERVAL": "1",
            }
            settings = load_settings(env, env_file=None, require_run=True)
            runtime = build_runtime(settings, sandbox_time_scale=time_scale, post_spacing=0.05, drain_seconds=0.25)
            runtime.start_background()
            server = runtime.http_server("127.0.0.1", 0).start()
            requester = SlackRequester(server.url, standin, signing_secret, user_names=USERS)
        except BaseException:
            if server is not None:
                server.stop()
            if runtime is not None:
                runtime.close()
            standin.stop()
            workdir.cleanup()
            raise
        return cls(runtime=runtime, server=server, standin=standin, requester=requester,
                   signing_secret=signing_secret, bot_token=bot_token, database_url=database_url, workdir=workdir)

    def close(self) -> None:
        self.requester.close()
        self.server.stop()
        self.runtime.close()
        self.standin.stop()
        self.workdir.cleanup()

    def __enter__(self) -> DemoWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
