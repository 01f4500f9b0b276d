"""``ncebot`` itself: --version, a bare ``ncebot`` is a usage error, every --help says what it does and what it
reads, and ``doctor`` in sandbox + Socket Mode passes without Partner Center credentials or a signing secret."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from storage.migrate import upgrade

CHANNEL = "C0APPROVE1"


def _ncebot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PARTNER_CENTER_", "NCEBOT_"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = _ncebot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"ncebot {metadata.version('ncebot')}"


def test_bare_ncebot_prints_help_and_exits_2(tmp_path: Path) -> None:
    result = _ncebot(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: ncebot" in result.stderr and "doctor" in result.stderr and "--version" in result.stderr
    db = _ncebot("db", cwd=tmp_path)
    assert db.returncode == 2 and "upgrade" in db.stderr


@pytest.mark.parametrize(("command", "reads"), [
    (["run"], "SLACK_BOT_TOKEN"),
    (["doctor"], "PARTNER_CENTER_SANDBOX"),
    (["db", "upgrade"], "DATABASE_URL"),
    (["demo"], "Reads no settings"),
    (["sandbox"], "Reads no settings"),
])
def test_each_subcommand_help_says_what_it_does_and_what_it_reads(command: list[str], reads: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"usage: ncebot {' '.join(command)}")
    description = rest.split("\n\n")[0]
    assert len(description) > 40, text  # says what it does, not just its name
    assert reads in text.replace("\n", " ")


def test_doctor_in_sandbox_and_socket_mode_needs_no_partner_center_credentials(
    slack_standin: Any, tmp_path: Path
) -> None:
    slack_standin.channels[CHANNEL] = "nce-approvals"
    database = f"sqlite:///{tmp_path / 'doctor.db'}"
    upgrade(database)
    env = {
        "SLACK_BOT_TOKEN": slack_standin.bot_token,
        "SLACK_APP_TOKEN": "xapp-1-A0-0-doctor-app-token",  # Socket Mode: no SLACK_SIGNING_SECRET
        "SLACK_API_URL": slack_standin.base_url,
        "DATABASE_URL": database,
        "PARTNER_CENTER_SANDBOX": "true",  # no PARTNER_CENTER_TENANT_ID / CLIENT_ID / CLIENT_SECRET
        "NCEBOT_APPROVAL_CHANNEL": CHANNEL,
        "NCEBOT_APPROVERS": "U0APPROVER1,U0APPROVER2",  # two: the approval-rules check passes too
    }
    result = _ncebot("doctor", cwd=tmp_path, env=env)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines and all(line.startswith("✓ ") for line in lines), "\n".join(lines)
    settings = next(line for line in lines if line.startswith("✓ settings:"))
    assert "Socket Mode" in settings and "SLACK_SIGNING_SECRET is not needed" in settings
    assert "built-in sandbox" in settings
    token = next(line for line in lines if line.startswith("✓ partner center token:"))
    assert "no Partner Center credentials needed" in token
    assert any(line.startswith("✓ partner center read:") for line in lines)
    assert "PARTNER_CENTER_CLIENT_SECRET" not in result.stdout and "xapp-1-A0-0-doctor" not in result.stdout


def test_doctor_in_http_mode_says_socket_mode_is_the_alternative_to_a_signing_secret(
    slack_standin: Any, tmp_path: Path
) -> None:
    env = {"SLACK_BOT_TOKEN": slack_standin.bot_token, "SLACK_API_URL": slack_standin.base_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}", "PARTNER_CENTER_SANDBOX": "true",
           "NCEBOT_APPROVAL_CHANNEL": CHANNEL, "NCEBOT_APPROVERS": "U0APPROVER1"}
    result = _ncebot("doctor", cwd=tmp_path, env=env)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if "SLACK_SIGNING_SECRET" in line]
    assert line.startswith("✗ settings:") and "SLACK_APP_TOKEN" in line and "Socket Mode" in line
    assert not [line for line in result.stdout.splitlines() if line.startswith("✗ partner center")]
