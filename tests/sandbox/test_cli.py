"""``ncebot sandbox --port 0``: prints the seven client settings with the bound port, serves until stopped."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

EXPECTED = [
    "PARTNER_CENTER_BASE_URL",
    "PARTNER_CENTER_AUTHORITY",
    "PARTNER_CENTER_TENANT_ID",
    "PARTNER_CENTER_CLIENT_ID",
    "PARTNER_CENTER_CLIENT_SECRET",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
]


@pytest.mark.slow  # starts a process
def test_ncebot_sandbox_prints_exactly_the_seven_settings_and_serves() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--host", "127.0.0.1", "--port", "0", "--time-scale", "7"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in EXPECTED]
        assert all(re.fullmatch(r"[A-Z_]+=\S+", line) for line in lines), lines
        env = dict(line.split("=", 1) for line in lines)
        assert list(env) == EXPECTED
        assert env["PARTNER_CENTER_BASE_URL"].startswith("https://127.0.0.1:")
        assert not env["PARTNER_CENTER_BASE_URL"].endswith(":0")
        assert env["PARTNER_CENTER_AUTHORITY"] == env["PARTNER_CENTER_BASE_URL"]
        assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] and Path(env["SSL_CERT_FILE"]).is_file()
        context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
        # The bundle keeps the public roots: exporting SSL_CERT_FILE must not cut the bot off from slack.com.
        assert context.cert_store_stats()["x509_ca"] > 10
        with httpx.Client(verify=context) as http:
            config = http.get(
                f"{env['PARTNER_CENTER_AUTHORITY']}/{env['PARTNER_CENTER_TENANT_ID']}/v2.0/.well-known/openid-configuration"
            )
            clock = http.get(f"{env['PARTNER_CENTER_BASE_URL']}/_sandbox/clock").json()
        assert config.status_code == 200 and config.json()["token_endpoint"].startswith(env["PARTNER_CENTER_BASE_URL"])
        assert clock["timeScale"] == 7
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, errors = proc.communicate(timeout=15)
    assert proc.returncode == 0, errors
    assert rest == ""  # exactly seven lines on stdout; the banner goes to stderr
    assert env["PARTNER_CENTER_CLIENT_SECRET"] not in errors
