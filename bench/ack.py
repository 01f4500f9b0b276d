"""Ack latency under load: signed ``/nce validate`` commands against ncebot and against a bare Bolt app.

Run by hand (``.venv/bin/python -m bench.ack``); never part of the test suite. Each side runs in its own process,
as in production: ``ncebot run`` (HTTP mode, SQLite) against the Partner Center sandbox (``ncebot sandbox``, a
third process) answering every call after ``--latency`` seconds; the bare app is a Bolt ``App`` whose ``/nce``
listener only acks, behind the same ``bot.http_server.HttpServer`` (Starlette on uvicorn). The Slack stand-in
(response URLs) and the request threads live in this process. Both apps get ``--total`` signed commands,
``--concurrency`` at a time. Printed: HTTP answers slower than 3 s (Slack's ack deadline), p50/p99/max, and for
ncebot how long until every command's own answer had arrived (the work queue's throughput, not the ack).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.http_server import HttpServer
from sandbox import known
from sandbox.slack_api import SlackStandIn
from sandbox.slack_requests import SlackRequester

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-signing-secret-0123456789"
TOKEN = "xoxb-bench-token"
CHANNEL = "CBENCH0001"
DEADLINE = 3.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def burst(url: str, standin: SlackStandIn, total: int, concurrency: int,
          text: str = f"validate {known.CONTOSO} {known.ELIGIBLE_SIMPLE}") -> list[tuple[float, int]]:
    """(seconds until the HTTP answer, its status) of each command."""
    with SlackRequester(url, standin, SECRET, timeout=60) as requester:
        def one(n: int) -> tuple[float, int]:
            started = time.monotonic()
            response = requester.command(text, user=f"UBENCH{n:05d}", channel=CHANNEL)
            return time.monotonic() - started, response.status_code

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(one, range(total)))


def report(name: str, answers: list[tuple[float, int]]) -> float:
    took = [t for t, _ in answers]
    slow = sum(t >= DEADLINE for t in took)
    failed = sum(status != 200 for _, status in answers)  # Bolt answers 404 when no ack came within 3 s
    p99 = percentile(took, 99)
    print(f"{name:>8}: {len(took)} commands, {slow} answered in 3 s or more ({failed} not HTTP 200), "
          f"p50 {statistics.median(took) * 1000:5.0f} ms, p99 {p99 * 1000:5.0f} ms, max {max(took) * 1000:5.0f} ms")
    return p99


def bare_app(slack_api_url: str) -> App:
    app = App(signing_secret=SECRET, token_verification_enabled=False,
              client=WebClient(token=TOKEN, base_url=slack_api_url))

    @app.command("/nce")
    def ack_only(ack: Ack) -> None:
        ack()

    return app


def wait_until(predicate: Callable[[], bool], timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def serve_bare(slack_api_url: str) -> None:
    """Child process: the bare app on a free port until SIGTERM (prints the line RunningBot waits for)."""
    server = HttpServer(bare_app(slack_api_url), "127.0.0.1", 0).start()
    print(f"serving HTTP on port {server.port}: bare Bolt app", flush=True)
    signal.sigwait({signal.SIGTERM})
    server.stop()


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    env: dict[str, str] = {}
    while "REQUESTS_CA_BUNDLE" not in env:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox did not start")
        name, _, value = line.strip().partition("=")
        env[name] = value
    return proc, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the sandbox takes for every call")
    parser.add_argument("--serve-bare", metavar="SLACK_API_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        serve_bare(args.serve_bare)
        return
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    with SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "bench"}) as standin, \
            tempfile.TemporaryDirectory() as tmp:
        bare, _ = run_against(
            [sys.executable, "-m", "bench.ack", "--serve-bare", standin.base_url], base_env, standin, args)
        sandbox, pc_env = start_sandbox()
        try:
            httpx.post(pc_env["PARTNER_CENTER_BASE_URL"] + "/_sandbox/faults", json={"latency": args.latency},
                       verify=pc_env["SSL_CERT_FILE"]).raise_for_status()
            env = {**base_env, **pc_env, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": standin.base_url, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                   "NCEBOT_APPROVAL_CHANNEL": CHANNEL, "NCEBOT_APPROVERS": "UBENCHAPPR1"}
            ours, answered = run_against([sys.executable, "-m", "bot.cli", "run"], env, standin, args)
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)
    print(f"{args.total} signed `/nce validate`, {args.concurrency} at a time, Partner Center latency "
          f"{args.latency:g} s")
    bare_p99 = report("bare", bare)
    ours_p99 = report("ncebot", ours)
    print(f"ncebot p99 / bare p99: {ours_p99 / bare_p99:.2f}x")
    if answered is not None:
        print(f"every command's own answer had arrived {answered:.1f} s after the burst began")
    else:
        print("not every command was answered within 600 s")


def run_against(command: list[str], env: dict[str, str], standin: SlackStandIn,
                args: argparse.Namespace) -> tuple[list[tuple[float, int]], float | None]:
    """Start ``command`` (it prints "serving HTTP on port N:"), warm it up with 20 ``help`` commands, then time
    the burst of validates. Returns the HTTP answer times and, when the app answers commands (ncebot, through
    their response URLs), the seconds until every answer had arrived; then stops the process."""
    proc = subprocess.Popen(command, cwd=ROOT, env={**env, "PORT": "0"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    port = None
    for line in proc.stdout:
        found = re.search(r"serving HTTP on port (\d+):", line)
        if found:
            port = found.group(1)
            break
    if port is None:
        proc.wait(timeout=30)
        raise RuntimeError(f"{command} did not start (exit code {proc.returncode})")
    drain = ThreadPoolExecutor(max_workers=1)
    drain.submit(lambda: [None for _ in proc.stdout or []])  # keep its pipe from filling up
    url = f"http://127.0.0.1:{port}"
    try:
        before = len(standin.calls_to("response_url"))
        burst(url, standin, 20, args.concurrency, "help")  # warm up: no Partner Center call
        answers_expected = len(standin.calls_to("response_url")) > before  # the bare app never answers
        wait_until(lambda: not answers_expected or len(standin.calls_to("response_url")) >= before + 20, 60)
        started = time.monotonic()
        took = burst(url, standin, args.total, args.concurrency)
        answered = None
        if answers_expected:
            done = wait_until(lambda: len(standin.calls_to("response_url")) >= before + 20 + args.total, 600)
            answered = None if done is None else time.monotonic() - started
        return took, answered
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        drain.shutdown(wait=False)


if __name__ == "__main__":
    main()
