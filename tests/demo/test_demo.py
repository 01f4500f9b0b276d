"""``ncebot demo``: the end-to-end run of the whole product (sandbox Partner Center, Slack stand-in, the real app
through the real runtime, signed Slack requests), as a user runs it."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.demo import DemoFailure, Session, run_demo

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^demo complete: (\d+) Slack requests, 2 migrations requested, 1 completed, 1 failed, 3 schedule changes, "
    r"1 rejected, 1 CSV report, 0 errors in (\d+\.\d) s$",
    re.MULTILINE,
)
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path_factory.mktemp("demo"), env=env,
                            capture_output=True, text=True, timeout=120)
    result.wall = time.monotonic() - started  # type: ignore[attr-defined]
    return result


def test_demo_exits_0_with_the_summary_line(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, demo_run.stdout[-3000:] + demo_run.stderr[-3000:]
    match = SUMMARY.search(demo_run.stdout)
    assert match, demo_run.stdout[-1500:]
    assert int(match.group(1)) >= 15
    assert float(match.group(2)) < 60 and demo_run.wall < 90  # type: ignore[attr-defined]
    assert demo_run.stdout.rstrip().splitlines()[-1] == match.group(0)
    assert "FAILED" not in demo_run.stdout and "Traceback" not in demo_run.stderr


def test_transcript_shows_the_refusals_and_the_approval(demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "#cloud-ops @alice: /nce help" in out
    assert re.search(r"\(only visible to @alice\) .*Eligible", out)
    assert re.search(r"\(only visible to @alice\) .*Not eligible", out)
    # the approval request in the channel, with its buttons
    assert re.search(r"#nce-approvals ncebot: :hourglass_flowing_sand: Migrate now · Waiting for approval "
                     r".*Requested by\* / @alice.*@nce-approvers, please approve.*\[Approve\] \[Reject\]", out)
    # an outsider and the requester herself are told no, privately
    assert "#nce-approvals @dave clicks [Approve]" in out
    assert re.search(r"\(only visible to @dave\) :lock: Only approvers", out)
    assert "#nce-approvals @alice clicks [Approve]" in out
    assert re.search(r"\(only visible to @alice\) :lock: You asked for this change, so another approver", out)
    # then an approver decides, and the message is edited in place
    assert re.search(r"\(edited\) request [0-9a-f]{8}: :white_check_mark: Approved by @bob at ", out)
    assert "(buttons removed)" in out
    # user ids are shown as names
    assert "<@U" not in out


def test_transcript_follows_the_migrations_to_their_end_in_their_threads(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    thread = r"#nce-approvals \(in the thread of migrate Microsoft 365 E5, request [0-9a-f]{8}\) ncebot: "
    assert re.search(thread + rf"Submitted to Partner Center: migration id `{GUID}`", out)
    assert re.search(thread + r"`MigrationStarted`", out)
    completed = re.search(thread + rf"@alice :white_check_mark: Migration `{GUID}` completed at .*: new NCE "
                          rf"subscription `({GUID})`", out)
    assert completed, out
    assert f":tada: Completed: new NCE subscription `{completed.group(1)}`" in out
    assert re.search(r"\(in the thread of migrate a subscription whose migration fails, request [0-9a-f]{8}\) "
                     r"ncebot: @alice :x: Migration .* failed: 900225", out)


def test_transcript_shows_the_schedule_created_moved_and_cancelled(demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    created = re.search(rf"schedule `({GUID})` created", out)
    assert created
    schedule = created.group(1)
    assert f"Submitted to Partner Center: schedule `{schedule}` updated" in out
    assert f"Submitted to Partner Center: schedule `{schedule}` cancelled" in out
    assert f":tada: Completed: schedule `{schedule}` cancelled" in out
    assert "(Partner Center confirms: schedule" in out and "cancelled in Partner Center)" in out
    assert re.search(r"GET /healthz -> 200 database: .*scheduler: running, lease: held by this process", out)


def test_transcript_shows_a_check_with_its_csv(demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "== A whole customer checked, with its CSV report" in out
    assert "#cloud-ops @alice: /nce check 75c5e79e-7e9f-429f-b772-ed3d38768f7c" in out
    posted = re.search(r"#cloud-ops ncebot: :bar_chart: @alice ran `/nce check`: Contoso Ltd: (\d+) eligible, .*"
                       r"files: (nce-check-75c5e79e-[0-9a-f-]+-\d{8}-\d{4}\.csv)", out)
    assert posted, out[-4000:]
    assert re.search(rf"\({re.escape(posted.group(2))}: \d+ subscription\(s\); columns: PartnerTenantId, ", out)


def test_transcript_shows_a_bulk_request_the_home_tab_and_a_rejection_through_the_modal(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "#cloud-ops @alice: /nce bulk 5e7a9c1b-3d5f-4e7a-9b1c-8d0f2a4c6e79" in out
    # a campaign (SPEC §8): planned and validated first, then one request for all of them
    assert re.search(r"#nce-approvals ncebot: .*Campaign · Pending \| \*Migrate 2 subscriptions of 1 customer\*",
                     out)
    # the Home tab, opened by an approver, lists the request with its buttons
    assert "@bob opens the ncebot app's Home tab\n    [home tab published] for @bob" in out
    assert re.search(r"\(@bob's Home tab: ncebot: NCE migrations with approval / Waiting for a decision \(1\) / .*"
                     r"the bulk request with \[Approve\] \[Reject\]\)", out)
    # the rejection: the Reject button opens the modal, the reason typed in it lands in the message and thread
    assert "#nce-approvals @carol clicks [Reject] on request" in out
    assert "    [modal opened] 'Reject request'" in out
    assert "(the modal asks for: Reason)" in out
    assert "@carol fills in the 'Reject request' modal (reason: Wide World renews in March" in out
    assert re.search(r"\(edited\) request [0-9a-f]{8}: .*:no_entry_sign: Rejected by @carol at ", out)
    assert re.search(r"\(in the thread of bulk migration of Wide World Importers, request [0-9a-f]{8}\) ncebot: "
                     r"@alice rejected by @carol: Wide World renews in March", out)


def test_a_failed_expectation_is_named() -> None:
    from sandbox.slack_api import SlackStandIn

    with SlackStandIn() as standin:
        session = Session(runtime=None, standin=standin, requester=None, out=io.StringIO())  # type: ignore[arg-type]
        with pytest.raises(DemoFailure, match="the thing that never happens"):
            session.wait("the thing that never happens", lambda: None, timeout=0.2)


def test_a_bad_time_scale_is_refused() -> None:
    out = io.StringIO()
    assert run_demo(time_scale=0, out=out) == 2
    assert "--time-scale must be positive" in out.getvalue()


def test_keep_running_leaves_the_app_up_prints_a_paste_ready_env_and_ends_with_the_playground(
        tmp_path: Path) -> None:
    import signal

    import httpx

    from bot.settings import load_settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--keep-running"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Playground: "):
                break
        text = "".join(lines)
        assert "Still running (Ctrl-C to stop):" in text, text[-2000:]
        health_url = re.search(r"GET (http://127\.0\.0\.1:\d+/healthz)", text)
        assert health_url
        assert httpx.get(health_url.group(1), timeout=5).status_code == 200

        # the environment block: NAME=value lines and nothing else, which load as settings as they are
        block = text.split("# Environment of this demo, paste-ready for a .env file", 1)[1].split("\n\n", 1)[0]
        env_lines = [ln for ln in block.splitlines()[1:] if not ln.startswith("#")]
        assert env_lines and all(re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", ln) for ln in env_lines), env_lines
        dotenv = tmp_path / ".env"
        dotenv.write_text("\n".join(block.splitlines()[1:]) + "\n")
        from dotenv import dotenv_values  # what pydantic-settings reads a .env with

        settings = load_settings({k: v or "" for k, v in dotenv_values(dotenv).items()})
        assert settings.slack_api_url and settings.slack_api_url.startswith("http://127.0.0.1:")
        assert settings.ncebot_approval_channel == "CNCEAPPROV1"
        assert settings.partner_center_base_url and settings.partner_center_base_url.startswith("https://127.0.0.1:")

        # the last line printed is the playground's URL, and it serves the page
        assert lines[-1].startswith("Playground: http://127.0.0.1:")
        playground_url = lines[-1].split(" ", 1)[1].strip()
        page = httpx.get(playground_url, timeout=5)
        assert page.status_code == 200 and "ncebot playground" in page.text
        state = httpx.get(playground_url + "api/state", params={"user": "UBOB000002"}, timeout=5).json()
        assert any("Migrate 2 subscriptions of 1 customer" in str(m["blocks"]) for m in state["messages"])
        carol = httpx.get(playground_url + "api/state", params={"user": "UCAROL0003"}, timeout=5).json()
        assert carol["modal"] is None  # the demo's Reject modal was submitted: it is history, not open
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(health_url.group(1), timeout=2)
    with pytest.raises(httpx.TransportError):
        httpx.get(playground_url, timeout=2)


def test_keep_running_with_a_taken_playground_port_says_so(tmp_path: Path) -> None:
    import socket

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--keep-running", "--port", str(port)],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"the playground could not listen on 127.0.0.1:{port}" in result.stdout
    assert "choose another with --port" in result.stdout and "Traceback" not in result.stderr
    assert "demo complete" not in result.stdout  # refused before playing the whole demo
