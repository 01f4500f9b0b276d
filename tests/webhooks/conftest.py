"""Webhook test wiring: the real runtime (``build_runtime``: Bolt app, workflow, tracking, webhook receiver) on a
real HTTP server, the Partner Center sandbox as Partner Center (it also sends the signed deliveries), the Slack
stand-in as Slack. The sandbox CA is trusted the way an operator would: ``SSL_CERT_FILE``."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.domain import RequestKind, RequestView
from bot.http_server import HttpServer
from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from bot.webhooks.registration import WEBHOOK_PATH
from sandbox import known
from sandbox.server import SandboxServer
from sandbox.slack_api import SlackStandIn
from sandbox.webhooks import signed_headers
from storage.tracking import outbox_rows
from tests.fixtures.slack import APPROVAL_CHANNEL, APPROVER, BOT_TOKEN, REQUESTER, SIGNING_SECRET, wait_for

DRAIN_TICK = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebhookEnv:
    sandbox: SandboxServer
    standin: SlackStandIn
    runtime: Runtime
    server: HttpServer
    env: dict[str, str]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def url(self) -> str:
        return self.server.url + WEBHOOK_PATH

    def migrate(self, subscription: str = known.ELIGIBLE_SIMPLE, customer: str = known.CONTOSO) -> RequestView:
        """A migration request, approved and submitted (through the real workflow), its thread posts drained."""
        workflow = self.runtime.deps.workflow
        view = workflow.request_change(kind=RequestKind.MIGRATE, requester=REQUESTER, customer_id=customer,
                                       subscription_id=subscription)
        workflow.approve(view.id, APPROVER)
        done = self.submitted(view.id)
        assert done.migration_id, done
        self.drain()
        return done

    def submitted(self, request_id: str) -> RequestView:
        """The lease holder's submission job, run now (as its 2-second tick would), then the request."""
        tracking = self.runtime.tracking
        assert tracking is not None
        tracking.submissions.run_due(wait_for_all=True)
        return self.runtime.deps.workflow.get_request(request_id)

    def drain(self) -> None:
        """Wake the outbox drainer (the workflow's own posts do not) and wait until the outbox is empty."""
        tracking = self.runtime.tracking
        assert tracking is not None and self.runtime.session_factory is not None
        tracking.wake_drainer()

        def empty() -> bool:
            with self.runtime.session_factory() as session:  # type: ignore[misc]
                return not outbox_rows(session, ("pending", "sending"))

        wait_for(empty, timeout=15)

    def request(self, view: RequestView) -> RequestView:
        return self.runtime.deps.workflow.get_request(view.id)

    def thread_texts(self, view: RequestView) -> list[str]:
        message = self.request(view).message
        assert message is not None
        return [m.text for m in self.standin.thread(message.channel, message.ts)]

    def slack_writes(self) -> int:
        return len(self.standin.calls_to("chat.postMessage")) + len(self.standin.calls_to("chat.update"))

    def event_body(self, event: str, migration_id: str, customer: str = known.CONTOSO) -> bytes:
        uri = (f"{self.sandbox.base_url}/webhooks/v1/customers/{customer}/migrations/newcommerce/{migration_id}")
        return json.dumps({"EventName": event, "ResourceUri": uri, "ResourceName": "NewCommerceMigration",
                           "AuditUri": None, "ResourceChangeUtcDate": "2026-01-01T00:00:00Z"}).encode()

    def signed(self, body: bytes) -> dict[str, str]:
        """Headers as the sandbox signs a delivery (its Microsoft-issued leaf)."""
        hub = self.sandbox.webhooks
        return signed_headers(body, hub.identity().key, hub.cert_url())

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(self.url, content=body, headers=headers)

    def metrics(self) -> str:
        return self.http.get(self.server.url + "/metrics").text


@pytest.fixture
def webhook_env_factory(
    pc_sandbox: SandboxServer, slack_standin: SlackStandIn, session_factory: Any, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., WebhookEnv]]:
    # The receiver trusts what this process trusts: SSL_CERT_FILE (public roots + the sandbox CA).
    monkeypatch.setenv("SSL_CERT_FILE", pc_sandbox.ca_bundle_path)
    made: list[WebhookEnv] = []

    def make(**overrides: str) -> WebhookEnv:
        port = free_port()
        env = {k: v for k, v in pc_sandbox.client_env().items() if k.startswith("PARTNER_CENTER_")}
        env.update({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_standin.base_url, "DATABASE_URL": database_url,
            "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL, "NCEBOT_APPROVERS": APPROVER,
            "NCEBOT_POLL_INTERVAL": "300", "PORT": str(port),
            "PARTNER_CENTER_WEBHOOK_CERT_HOSTS": f"127.0.0.1:{pc_sandbox.port}",
            "NCEBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
            **overrides,
        })
        # The outbox's own tick is 30 s here: a post within seconds proves the drainer was woken by the commit.
        runtime = build_runtime(load_settings(env, env_file=None, require_run=True), post_spacing=0.0,
                                drain_seconds=DRAIN_TICK)
        server = runtime.http_server("127.0.0.1", port).start()
        runtime.closers.append(server.stop)
        runtime.start_background()
        webhook_env = WebhookEnv(sandbox=pc_sandbox, standin=slack_standin, runtime=runtime, server=server, env=env)
        made.append(webhook_env)
        return webhook_env

    yield make
    for webhook_env in made:
        webhook_env.http.close()
        webhook_env.runtime.close()


@pytest.fixture
def webhook_env(webhook_env_factory: Callable[..., WebhookEnv]) -> WebhookEnv:
    return webhook_env_factory()
