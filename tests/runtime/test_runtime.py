"""``bot.runtime``: the real wiring, in-process (build_runtime) and as the ``ncebot run`` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.runtime import Runtime, build_runtime
from bot.settings import load_settings
from sandbox import known
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester
from tests.fixtures.slack import wait_for
from tests.processes import start_bot

SIGNING_SECRET = "runtime-test-signing-secret-5f1c2a"
BOT_TOKEN = "xoxb-runtime-test-token-9d8e7f"
APPROVAL_CHANNEL = "CRTAPPROV1"
WORK_CHANNEL = "CRTWORK001"
REQUESTER = "URTREQ0001"
APPROVER = "URTAPPR001"
ROOT = Path(__file__).resolve().parents[2]


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


def metric_samples(text: str, family: str) -> dict[str, float]:
    """``{labels: value}`` of one family in a Prometheus text page (``""`` for an unlabelled sample)."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(family + "{") or line.startswith(family + " "):
            name_and_labels, value = line.rsplit(" ", 1)
            samples[name_and_labels[len(family):]] = float(value)
    return samples


def test_metrics_families_after_real_activity(runtime: Runtime, standin: SlackStandIn) -> None:
    """Requests by state, Partner Center calls by endpoint and status, 429s, retries, polling lag and Slack API
    errors, each from real work: a signed /nce migrate, a 429 and a 503 from the sandbox, a status poll, and a
    Slack call that fails."""
    from bot.tracking.scheduler import JOB_POLL_MIGRATIONS

    runtime.start_background()
    server = runtime.http_server("127.0.0.1", 0).start()
    runtime.closers.append(server.stop)
    before = httpx.get(server.url + "/metrics").text
    assert metric_samples(before, "ncebot_partner_center_calls_total") == {}
    assert metric_samples(before, "ncebot_requests")['{state="pending"}'] == 0
    assert metric_samples(before, "ncebot_partner_center_throttled_total") == {}
    assert metric_samples(before, "ncebot_slack_api_errors_total") == {}

    assert runtime.sandbox is not None
    # The next Partner Center call answers 429 (Retry-After 1 s), the one after it 503: two retries.
    runtime.sandbox.state.set_faults({"throttle_next": 1, "retry_after": 1, "fail_next": 1, "error_status": 503})
    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command(f"migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}", user=REQUESTER,
                             channel=WORK_CHANNEL).status_code == 200
    wait_for(lambda: standin.messages(APPROVAL_CHANNEL, include_ephemeral=False))
    assert runtime.tracking is not None
    assert runtime.tracking.jobs()[JOB_POLL_MIGRATIONS].func() is True  # a status poll, as the scheduler runs it
    standin.fail_next("chat.postMessage", status=200, retry_after=None, error="channel_not_found")
    with pytest.raises(Exception, match="channel_not_found"):
        runtime.deps.slack_client.chat_postMessage(channel=APPROVAL_CHANNEL, text="lost")

    response = httpx.get(server.url + "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert metric_samples(text, "ncebot_requests")['{state="pending"}'] == 1
    calls = metric_samples(text, "ncebot_partner_center_calls_total")
    assert any('status="200"' in labels and value > 0 for labels, value in calls.items()), calls
    assert all('endpoint="' in labels for labels in calls), calls
    assert sum(metric_samples(text, "ncebot_partner_center_throttled_total").values()) == 1
    assert sum(metric_samples(text, "ncebot_partner_center_retries_total").values()) == 2
    assert list(metric_samples(text, "ncebot_poll_lag_seconds")) == [""]
    errors = metric_samples(text, "ncebot_slack_api_errors_total")
    assert errors == {'{error="channel_not_found",method="chat.postMessage"}': 1}, errors  # labels sorted by name


def test_healthz_is_503_when_the_database_is_unreachable_or_the_scheduler_stopped(
    standin: SlackStandIn, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = {**run_env(standin, tmp_path), "DATABASE_URL": f"sqlite:///{data / 'ncebot.db'}"}
    runtime = build_runtime(load_settings(env, env_file=None, require_run=True))
    try:
        runtime.start_background()
        server = runtime.http_server("127.0.0.1", 0).start()
        runtime.closers.append(server.stop)
        assert httpx.get(server.url + "/healthz").status_code == 200

        assert runtime.session_factory is not None
        runtime.session_factory.kw["bind"].dispose()  # drop pooled connections: the next check connects anew
        data.rename(tmp_path / "gone")  # the database file is no longer where DATABASE_URL says
        down = httpx.get(server.url + "/healthz")
        assert down.status_code == 503, down.text
        assert down.json()["status"] == "unavailable"
        database = down.json()["checks"]["database"]
        assert database["ok"] is False and database["detail"].startswith("unreachable: OperationalError")
        (tmp_path / "gone").rename(data)
        assert httpx.get(server.url + "/healthz").status_code == 200

        assert runtime.tracking is not None
        runtime.tracking.stop(release=False)
        stopped = httpx.get(server.url + "/healthz")
        assert stopped.status_code == 503
        assert stopped.json()["checks"]["scheduler"] == {"ok": False, "detail": "not running"}
        assert stopped.json()["checks"]["database"]["ok"] is True
    finally:
        runtime.close()


def test_audit_and_check_are_wired_by_the_runtime(runtime: Runtime, standin: SlackStandIn) -> None:
    """``build_runtime`` gives the workflow its database and Slack names (for /nce audit) and the app the partner
    tenant (for /nce check)."""
    assert runtime.sandbox is not None and runtime.deps.partner_tenant_id == runtime.sandbox.tenant_id
    server = runtime.http_server("127.0.0.1", 0).start()
    runtime.closers.append(server.stop)
    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command("audit", user=APPROVER, channel=WORK_CHANNEL).status_code == 200
    uploads = wait_for(lambda: [f for f in standin.files.values()
                                if f.filename.startswith("nce-audit-all-") and f.content])  # uploaded, not just named
    assert uploads[0].content.decode("utf-8-sig").startswith("at,request_id,customer_id,actor,actor_name,action")
    assert not [call for call in standin.calls_to("response_url") if "not available" in call.params["text"]]


def test_bulk_request_message_lists_its_subscriptions(runtime: Runtime, standin: SlackStandIn) -> None:
    """The production wiring makes /nce bulk a campaign (SPEC §8): planned and validated, one request holding the
    eligible subscriptions, its message stating what will happen."""
    import json

    eligible = sorted(known.INELIGIBLE_BY_CODE[code][1] for code in (11, 12))  # eligible as is
    server = runtime.http_server("127.0.0.1", 0).start()
    runtime.closers.append(server.stop)
    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command(f"bulk {known.ADVENTURE_WORKS}", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
    [message] = wait_for(lambda: standin.messages(APPROVAL_CHANNEL, include_ephemeral=False))
    shown = json.dumps(message.blocks)
    assert "Migrate 2 subscriptions of 1 customer" in shown and "12 not eligible or skipped" in shown
    from storage.models import ChangeRequest

    with runtime.session_factory() as session:
        [stored] = session.query(ChangeRequest).all()
        planned = sorted(m["base"]["subscription_id"] for m in (stored.plan or {})["migrations"])
    assert planned == eligible


def test_slack_api_errors_are_counted(runtime: Runtime, standin: SlackStandIn) -> None:
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError):
        runtime.deps.slack_client.chat_postMessage(channel="", text="nowhere")
    assert runtime.metrics is not None
    assert runtime.metrics.value("ncebot_slack_api_errors_total", method="chat.postMessage",
                                 error="channel_not_found") == 1


def test_socket_mode_ops_server_serves_health_but_not_slack_events(runtime: Runtime, standin: SlackStandIn) -> None:
    runtime.start_background()
    server = runtime.http_server("127.0.0.1", 0, slack_events=False).start()
    runtime.closers.append(server.stop)
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert "ncebot_requests" in httpx.get(server.url + "/metrics").text
    with SlackRequester(server.url, standin, SIGNING_SECRET) as slack:
        assert slack.command("help", user=REQUESTER, channel=WORK_CHANNEL).status_code in (404, 405)
    assert standin.calls_to("response_url") == []


def test_ncebot_run_serves_http_and_stops_cleanly_on_sigterm(standin: SlackStandIn, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update(run_env(standin, tmp_path))
    bot, url = start_bot(env, tmp_path)
    try:
        response = httpx.get(url + "/healthz", timeout=10)
        assert response.status_code == 200, (response.text, bot.output)
        checks = response.json()["checks"]
        assert {name for name, check in checks.items() if check["ok"]} == {"database", "scheduler", "lease"}
        with SlackRequester(url, standin, SIGNING_SECRET) as slack:
            assert slack.command("help", user=REQUESTER, channel=WORK_CHANNEL).status_code == 200
            forged = slack.post(slack.command_body("help", user=REQUESTER, channel=WORK_CHANNEL),
                                signature="v0=" + "0" * 64)
            assert forged.status_code == 401
        posted = wait_for(lambda: standin.calls_to("response_url"))
    finally:
        code = bot.stop()
    output = bot.output
    assert code == 0, output
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


def test_ncebot_run_says_when_its_port_is_taken(standin: SlackStandIn, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env.update(run_env(standin, tmp_path))
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        env["PORT"] = str(taken.getsockname()[1])
        result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert f"ncebot: the HTTP server could not listen on 0.0.0.0:{env['PORT']}" in result.stderr
    assert "Traceback" not in result.stderr


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
