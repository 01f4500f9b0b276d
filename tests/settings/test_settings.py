"""Settings (SPEC §3): every variable read, one line per problem naming it, exit code 2, no secret echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings, parse_duration

SECRET = "xoxb-never-print-me-1234567890"


def test_defaults_match_the_spec() -> None:
    s = load_settings({})
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.port == 3000
    assert s.database_url == "sqlite:///./ncebot.db"
    assert s.partner_center_base_url == "https://api.partnercenter.microsoft.com"
    assert s.partner_center_authority == "https://login.microsoftonline.com"
    assert s.partner_center_sandbox is False
    assert s.ncebot_required_approvals == 1
    assert s.ncebot_allow_self_approval is False
    assert s.ncebot_approval_ttl == timedelta(hours=24)
    assert s.ncebot_poll_interval == 300
    assert s.requesters == [] and s.approvers == []
    assert not s.socket_mode and not s.app_plus_user


def test_every_spec_variable_is_a_setting() -> None:
    spec = (Path(__file__).parents[2] / "docs" / "SPEC.md").read_text()
    table = spec.split("## 3. Settings", 1)[1].split("## 4.", 1)[0]
    names = {cell.strip("` ") for line in table.splitlines() if line.startswith("| `")
             for cell in line.split("|")[1].split("/")}
    assert names, "the SPEC settings table was not found"
    assert {n.lower() for n in names} <= set(Settings.model_fields)


def test_lists_channels_durations_and_modes_are_parsed() -> None:
    s = load_settings(
        {
            "NCEBOT_APPROVERS": "U01AAA, S02GROUP ,U03BBB",
            "NCEBOT_REQUESTERS": "U09CCC",
            "NCEBOT_APPROVAL_CHANNEL": "C0APPROVE",
            "NCEBOT_APPROVAL_TTL": "90m",
            "SLACK_APP_TOKEN": "xapp-1-abc",
            "PARTNER_CENTER_REFRESH_TOKEN": "rt",
            "NCEBOT_REQUIRED_APPROVALS": "2",
        }
    )
    assert s.approvers == ["U01AAA", "S02GROUP", "U03BBB"]
    assert s.requesters == ["U09CCC"]
    assert s.notify_channel == "C0APPROVE"  # defaults to the approval channel
    assert s.ncebot_approval_ttl == timedelta(minutes=90)
    assert s.socket_mode and s.app_plus_user


@pytest.mark.parametrize(
    ("value", "expected"),
    [("24h", timedelta(hours=24)), ("3600", timedelta(hours=1)), ("2d", timedelta(days=2)),
     ("45s", timedelta(seconds=45))],
)
def test_durations(value: str, expected: timedelta) -> None:
    assert parse_duration(value) == expected


def test_each_problem_is_one_line_naming_the_variable_and_no_secret_is_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "PORT": "eighty",
                "NCEBOT_APPROVERS": "U01AAA,alice",
                "SLACK_BOT_TOKEN": "not-a-bot-token-" + SECRET,
                "NCEBOT_APPROVAL_TTL": "soon",
                "NCEBOT_APPROVAL_CHANNEL": "#general",
                "PARTNER_CENTER_BASE_URL": "ftp://example",
            }
        )
    problems = caught.value.problems
    assert len(problems) == 6
    for name in ("PORT", "NCEBOT_APPROVERS", "SLACK_BOT_TOKEN", "NCEBOT_APPROVAL_TTL", "NCEBOT_APPROVAL_CHANNEL",
                 "PARTNER_CENTER_BASE_URL"):
        assert sum(line.startswith(f"{name}:") for line in problems) == 1, (name, problems)
    assert "alice" in next(p for p in problems if p.startswith("NCEBOT_APPROVERS"))
    assert all(SECRET not in line and "not-a-bot-token" not in line for line in problems)


def test_run_requires_its_settings() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"SLACK_BOT_TOKEN": SECRET}, require_run=True)
    names = {line.split(":")[0] for line in caught.value.problems}
    assert names == {
        "NCEBOT_APPROVAL_CHANNEL", "NCEBOT_APPROVERS", "SLACK_SIGNING_SECRET",
        "PARTNER_CENTER_TENANT_ID", "PARTNER_CENTER_CLIENT_ID", "PARTNER_CENTER_CLIENT_SECRET",
    }
    # Socket Mode needs no signing secret; the sandbox needs no Partner Center credentials.
    ok = load_settings(
        {"SLACK_BOT_TOKEN": SECRET, "SLACK_APP_TOKEN": "xapp-1", "PARTNER_CENTER_SANDBOX": "true",
         "NCEBOT_APPROVAL_CHANNEL": "C1", "NCEBOT_APPROVERS": "U1"},
        require_run=True,
    )
    assert ok.socket_mode


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("NCEBOT_APPROVERS=U0FROMFILE\nPORT=4000\n")
    s = load_settings(env_file=str(env_file))
    assert s.approvers == ["U0FROMFILE"] and s.port == 4000


@pytest.mark.slow  # starts a process
def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCEBOT_", "PARTNER_CENTER_"))}
    env.update({"SLACK_BOT_TOKEN": SECRET, "PORT": "-1", "NCEBOT_POLL_INTERVAL": "often", "DATABASE_URL":
                f"sqlite:///{tmp_path}/x.db"})
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert any(line.startswith("ncebot: PORT:") for line in lines)
    assert any(line.startswith("ncebot: NCEBOT_POLL_INTERVAL:") for line in lines)
    assert SECRET not in result.stderr + result.stdout


def test_blank_values_count_as_unset() -> None:
    # A .env template line such as `PARTNER_CENTER_REFRESH_TOKEN=` must not switch on App+User with no token.
    s = load_settings(
        {
            "PARTNER_CENTER_REFRESH_TOKEN": "",
            "PARTNER_CENTER_CLIENT_SECRET": "  ",
            "SLACK_APP_TOKEN": "",
            "SLACK_BOT_TOKEN": "",
            "PARTNER_CENTER_TENANT_ID": " 11111111-2222-3333-4444-555555555555 ",
        }
    )
    assert not s.app_plus_user and not s.socket_mode
    assert s.partner_center_client_secret is None and s.slack_bot_token is None
    assert s.partner_center_tenant_id == "11111111-2222-3333-4444-555555555555"
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"SLACK_BOT_TOKEN": SECRET, "SLACK_SIGNING_SECRET": "", "PARTNER_CENTER_CLIENT_SECRET": "",
             "PARTNER_CENTER_TENANT_ID": "t", "PARTNER_CENTER_CLIENT_ID": "c", "NCEBOT_APPROVAL_CHANNEL": "C1",
             "NCEBOT_APPROVERS": "U1"},
            require_run=True,
        )
    assert caught.value.problems == [
        "SLACK_SIGNING_SECRET: missing (required)",
        "PARTNER_CENTER_CLIENT_SECRET: missing (required)",
    ]


def test_malformed_and_missing_values_are_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {"SLACK_BOT_TOKEN": "wrong-" + SECRET, "PORT": "-1", "NCEBOT_APPROVERS": "alice",
             "PARTNER_CENTER_SANDBOX": "true", "SLACK_APP_TOKEN": "xapp-1"},
            require_run=True,
        )
    names = [line.split(":", 1)[0] for line in caught.value.problems]
    # Each variable once: the malformed ones with their problem, then what is missing.
    assert names == ["SLACK_BOT_TOKEN", "PORT", "NCEBOT_APPROVERS", "NCEBOT_APPROVAL_CHANNEL"]
    assert all(SECRET not in line for line in caught.value.problems)


def test_port_zero_means_any_free_port() -> None:
    assert load_settings({"PORT": "0"}).port == 0
    with pytest.raises(SettingsError):
        load_settings({"PORT": "65536"})
