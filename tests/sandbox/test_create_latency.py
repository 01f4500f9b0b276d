"""Create latency (for bench/campaign.py, issue #11): every create waits ``create_latency`` real seconds while every
other route stays fast; set through ``POST /_sandbox/faults``, the constructor, or ``ncebot sandbox``'s environment
(``SANDBOX_CREATE_LATENCY``, ``SANDBOX_FAULTS``), surviving ``/_sandbox/reset``."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import known
from sandbox.cli import faults_from_env
from sandbox.server import SandboxServer
from tests.fixtures.slack import wait_for
from tests.sandbox.helpers import admin, mig, pc_client, rid

SLOW_CREATE = 3.0  # seconds: every other call is made, and answered, while one create is held this long


def test_only_creates_wait(pc_sandbox: SandboxServer) -> None:
    base = mig(known.CONTOSO)
    body = {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}
    created: list[tuple[httpx.Response, float, float]] = []

    def create() -> None:
        with pc_client(pc_sandbox, timeout=60) as pc:
            started = time.monotonic()
            answer = pc.post(base, json=body, headers=rid())
            created.append((answer, started, time.monotonic()))

    with admin(pc_sandbox) as a:
        shown = a.post("/_sandbox/faults", json={"create_latency": SLOW_CREATE}).json()
    assert shown["create_latency"] == SLOW_CREATE and shown["latency"] == 0
    slow = threading.Thread(target=create)
    slow.start()
    with pc_client(pc_sandbox, timeout=30) as pc:
        wait_for(lambda: pc_sandbox.state.counts.get("create_latency_held") == 1)  # the create is being held
        others = [
            pc.post(base + "/validate", json=body),  # the same path prefix as the create
            pc.get(f"/v1/customers/{known.CONTOSO}"),
            pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.ELIGIBLE_BASE}"),
            pc.get("/v1/migrations/newcommerce", params={"CustomerTenantId": known.CONTOSO}),
            pc.post(mig(known.FABRIKAM) + "/schedules",
                    json={"currentSubscriptionId": known.SCHEDULE_RENEWAL_SUB, "migrateOnRenewal": True}),
        ]
        others_done = time.monotonic()
        # Answered while the create was still held: the create had not been handled yet.
        assert pc_sandbox.state.summary()["counts"]["migrations"] == 0 and slow.is_alive()
    slow.join(timeout=60)
    assert [r.status_code for r in others] == [201, 200, 200, 200, 201]
    assert others[3].json() == []  # the list call came before the create was handled
    (answer, started, finished), = created
    assert answer.status_code == 201 and answer.json()["currentSubscriptionId"] == known.ELIGIBLE_SIMPLE
    assert others_done < finished and finished - started >= SLOW_CREATE  # held at least that long (a lower bound)


@pytest.mark.parametrize("bad", [{"create_latency": -1}, {"create_latency": "1s"}, {"create_latency": True}])
def test_bad_create_latency_is_refused(pc_sandbox: SandboxServer, bad: dict[str, Any]) -> None:
    with admin(pc_sandbox) as a:
        reply = a.post("/_sandbox/faults", json=bad)
        assert reply.status_code == 400 and "create_latency" in reply.json()["description"]
        assert a.get("/_sandbox/faults").json()["create_latency"] == 0


def test_faults_from_the_environment() -> None:
    assert faults_from_env({}) == {}
    assert faults_from_env({"SANDBOX_CREATE_LATENCY": "1"}) == {"create_latency": 1.0}
    assert faults_from_env({"SANDBOX_FAULTS": '{"create_latency": 0.5, "latency": 0.1, "latency_path": "/x"}',
                            "SANDBOX_CREATE_LATENCY": "1.25"}) == {
        "create_latency": 1.25, "latency": 0.1, "latency_path": "/x"}
    assert faults_from_env({"SANDBOX_CREATE_LATENCY": "1"}, create_latency=2.0) == {"create_latency": 2.0}
    for env, words in (({"SANDBOX_CREATE_LATENCY": "soon"}, "SANDBOX_CREATE_LATENCY"),
                       ({"SANDBOX_FAULTS": "{"}, "SANDBOX_FAULTS is not JSON"),
                       ({"SANDBOX_FAULTS": "[1]"}, "JSON object"),
                       ({"SANDBOX_FAULTS": '{"create_latncy": 1}'}, "Unknown fault settings: create_latncy"),
                       ({"SANDBOX_CREATE_LATENCY": "-1"}, "create_latency must be a number >= 0")):
        with pytest.raises(ValueError, match=words):
            faults_from_env(env)


def test_faults_given_at_start_survive_a_reset() -> None:
    with SandboxServer(settings={"faults": faults_from_env({"SANDBOX_CREATE_LATENCY": "1"})}) as server, \
            admin(server) as a:
        assert a.get("/_sandbox/faults").json()["create_latency"] == 1.0
        a.post("/_sandbox/faults", json={"create_latency": 0})
        a.post("/_sandbox/reset")
        assert a.get("/_sandbox/faults").json()["create_latency"] == 1.0


@pytest.mark.slow  # starts a process
def test_ncebot_sandbox_takes_the_create_latency_from_its_environment() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SANDBOX_CREATE_LATENCY": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--host", "127.0.0.1", "--port", "0"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        settings = dict(proc.stdout.readline().rstrip("\n").split("=", 1) for _ in range(7))
        context = ssl.create_default_context(cafile=settings["SSL_CERT_FILE"])
        with httpx.Client(verify=context) as http:
            shown = http.get(settings["PARTNER_CENTER_BASE_URL"] + "/_sandbox/faults").json()
        assert shown["create_latency"] == 1.0 and shown["latency"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=15)
    assert proc.returncode == 0 and '"create_latency": 1.0' in errors  # the banner names the faults in force
