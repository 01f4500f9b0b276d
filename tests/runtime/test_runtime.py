"""``bot.runtime``: the real wiring, in-process (build_runtime) and as the ``ncebot run`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from sandbox import known
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester

SIGNING_SECRET = "runtime-test-signing-secret-5f1c2a"
BOT_TOKEN = "xoxb-runtime-test-token-9d8e7f"
APPROVAL_CHANNEL = "CRTAPPROV1"
WORK_CHANNEL = "CRTWORK001"
REQUESTER = "URTREQ0001"
APPROVER = "URTAPPR001"
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN,
                      channels={APPROVAL_CHANNEL: "nce-approvals", WORK_CHANNEL: "cloud-ops"}) as stand_in:
        yield stand_in


def run_env(standin: SlackStandIn, tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ncebot.db'}",
        "PARTNER_CENTER_SANDBOX": "true",
        "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
        "NCEBOT_APPROVERS": APPROVER,
    }


@pytest.fixture
def runtime(standin: SlackStandIn, tmp_path: Path) -> Iterator[Runtime]:
    settings = load_settings(run_env(standin, tmp_path), env_file=None, require_run=True)
    built = build_runtime(settings)
    try:
        yield built
    finally:
        built.close()


def test_healthz_reports_database_scheduler_and_lease(runtime: Runtime) -> None:
    server = runtime.http_server("127.0.0.1", 0).start()
    runtime.closers.append(server.stop)
    before = httpx.get(server.url + "/healthz")
    assert before.status_code == 503  # built, but the tracking service is not running yet
    assert before.json()["checks"]["scheduler"] == {"ok": False, "detail": "not running"}

    runtime.start_background()
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert set(checks) == {"database", "scheduler", "lease"}
    assert all(check["ok"] for check in checks.values())
    assert "at head" in checks["database"]["detail"] and checks["scheduler"]["detail"] == "running"
    assert checks["lease"]["detail"].startswith("held by this process")

    assert runtime.tracking is not None
    holder = runtime.tracking.holder_id
    assert runtime.tracking.lease_state().holder == holder
    runtime.close()  # stops the scheduler and releases the lease
    assert runtime.tracking.scheduler is None
    assert runtime.tracking.lease_state().holder is None


def test_metrics_count_partner_center_calls_and_requests(runtime: Runtime, standin: SlackStandIn) -> None:
    runtime.start_background()
    server = runtime.http_server("127.0.0.1", 0).start()
    runtime.closers.append(server.stop)
    before = httpx.get(server.url + "/metrics").text
    assert "ncebot_partner_center_calls_total{" not in before
    assert 'ncebot_requests{state="pending"} 0' in before

    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=REQUESTER,
                             channel=WORK_CHANNEL).status_code == 200
    wait_for(lambda: standin.messages(APPROVAL_CHANNEL, include_ephemeral=False))

    text = httpx.get(server.url + "/metrics").text
    calls = [line for line in text.splitlines() if line.startswith("ncebot_partner_center_calls_total{")]
    assert any('status="200"' in line and not line.endswith(" 0") for line in calls), calls
    assert 'ncebot_requests{state="pending"} 1' in text


def test_slack_api_errors_are_counted(runtime: Runtime, standin: SlackStandIn) -> None:
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError):
        runtime.deps.slack_client.chat_postMessage(channel="", text="nowhere")
    assert runtime.metrics is not None
    assert runtime.metrics.slack_api_errors.value(method="chat.postMessage", error="channel_not_found") == 1


def test_socket_mode_ops_server_serves_health_but_not_slack_events(runtime: Runtime, standin: SlackStandIn) -> None:
    runtime.start_background()
    server = runtime.http_server("127.0.0.1", 0, slack_events=False).start()
    runtime.closers.append(server.stop)
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert "ncebot_requests" in httpx.get(server.url + "/metrics").text
    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command("help", user=REQUESTER, channel=WORK_CHANNEL).status_code in (404, 405)
    assert standin.calls_to("response_url") == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ncebot_run_serves_http_and_stops_cleanly_on_sigterm(standin: SlackStandIn, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update(run_env(standin, tmp_path))
    env["PORT"] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            assert proc.poll() is None, proc.communicate()
            try:
                return httpx.get(url + "/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout=30)
        checks = httpx.get(url + "/healthz").json()["checks"]
        assert {name for name, check in checks.items() if check["ok"]} == {"database", "scheduler", "lease"}
        with SlackRequester(url, standin, SIGNING_SECRET) as slack:
            assert slack.command("help", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
            forged = slack.post(slack.command_body("help", user=REQUESTER, channel=WORK_CHANNEL),
                                signature="v0=" + "0" * 64)
            assert forged.status_code == 401
        posted = wait_for(lambda: standin.calls_to("response_url"))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    output = stdout + stderr
    assert len(posted) == 1 and "/nce migrate" in posted[0].params["text"], output
    assert posted[0].params["response_type"] == "ephemeral"
    assert "shutting down" in output and "stopped" in output
    for secret in (SIGNING_SECRET, BOT_TOKEN, "sandbox-secret-do-not-use-in-production"):
        assert secret not in output
    # the lease was released on the way out
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT holder FROM leases")).all()
    engine.dispose()
    assert rows == []  # release deletes the row


def test_run_refuses_incomplete_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN: missing" in result.stderr and "NCEBOT_APPROVAL_CHANNEL: missing" in result.stderr


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # The subprocesses run with cwd=tmp_path: make sure they import this checkout.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
