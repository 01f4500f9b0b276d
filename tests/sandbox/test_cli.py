"""``ncebot sandbox --port 0``: prints the seven client settings with the bound port, serves until stopped."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

EXPECTED = [
    "PARTNER_CENTER_BASE_URL",
    "PARTNER_CENTER_AUTHORITY",
    "PARTNER_CENTER_TENANT_ID",
    "PARTNER_CENTER_CLIENT_ID",
    "PARTNER_CENTER_CLIENT_SECRET",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
]


def test_serve_prints_settings_and_serves() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from sandbox.cli import serve; sys.exit(serve('127.0.0.1', 0, None, 1.0))"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in EXPECTED]
        env = dict(line.split("=", 1) for line in lines)
        assert list(env) == EXPECTED
        assert not env["PARTNER_CENTER_BASE_URL"].endswith(":0")
        assert env["SSL_CERT_FILE"] == env["REQUESTS_CA_BUNDLE"] and Path(env["SSL_CERT_FILE"]).is_file()
        context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
        with httpx.Client(verify=context) as http:
            config = http.get(
                f"{env['PARTNER_CENTER_AUTHORITY']}/{env['PARTNER_CENTER_TENANT_ID']}/v2.0/.well-known/openid-configuration"
            )
        assert config.status_code == 200 and config.json()["token_endpoint"].startswith(env["PARTNER_CENTER_BASE_URL"])
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0
