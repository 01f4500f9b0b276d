"""``ncebot doctor`` against the Partner Center sandbox and the Slack stand-in (all on 127.0.0.1)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bot.doctor import run_doctor
from storage.migrate import upgrade

CHANNEL = "C0APPROVE1"
APPROVER = "U0APPROVER1"
SIGNING_SECRET = "doctor-signing-secret-value"


def _env(pc_sandbox: Any, slack_standin: Any, database_url: str, **overrides: str) -> dict[str, str]:
    slack_standin.channels[CHANNEL] = "nce-approvals"
    env = {key: value for key, value in pc_sandbox.client_env().items() if key != "SSL_CERT_FILE"}
    env.update(
        {
            "SLACK_BOT_TOKEN": slack_standin.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_standin.base_url,
            "DATABASE_URL": database_url,
            "NCEBOT_APPROVAL_CHANNEL": CHANNEL,
            "NCEBOT_APPROVERS": f"{APPROVER},U0APPROVER2",
        }
    )
    env.update(overrides)
    return env


def _doctor(env: dict[str, str], ca_path: Any) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_doctor(env, out, verify=str(ca_path))
    return code, out.getvalue().splitlines()


def _line(lines: list[str], name: str) -> str:
    found = [line for line in lines if line[2:].startswith(f"{name}:")]
    assert len(found) == 1, (name, lines)
    return found[0]


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    upgrade(url)
    return url


def _no_secrets(lines: list[str], env: dict[str, str]) -> None:
    text = "\n".join(lines)
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PARTNER_CENTER_CLIENT_SECRET",
                "PARTNER_CENTER_REFRESH_TOKEN"):
        if env.get(key):
            assert env[key] not in text, key


def test_doctor_passes_against_the_sandbox_and_the_stand_in(
    pc_sandbox: Any, slack_standin: Any, database_url: str
) -> None:
    upgrade(database_url)  # sqlite, and PostgreSQL when NCEBOT_TEST_POSTGRES_URL is set
    env = _env(pc_sandbox, slack_standin, database_url)
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 0, lines
    assert all(line.startswith("✓ ") for line in lines), lines
    for name in ("settings", "database", "partner center token", "partner center read", "slack auth",
                 "approval channel"):
        _line(lines, name)
    assert "App-only" in _line(lines, "partner center token")
    assert "at head" in _line(lines, "database")
    assert "#nce-approvals" in _line(lines, "approval channel")
    assert "customer(s)" in _line(lines, "partner center read")
    _no_secrets(lines, env)
    # It really talked to the stand-in.
    assert slack_standin.calls_to("auth.test") and slack_standin.calls_to("conversations.info")


def test_wrong_client_secret_names_the_msal_error_and_the_fix(
    pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str
) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite, PARTNER_CENTER_CLIENT_SECRET="not-the-right-secret")
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    token = _line(lines, "partner center token")
    assert token.startswith("✗ ")
    assert "AADSTS7000215" in token and "invalid_client" in token
    assert "— check PARTNER_CENTER_CLIENT_SECRET" in token
    assert _line(lines, "partner center read").startswith("✗ ")
    # Unrelated checks still pass.
    assert _line(lines, "database").startswith("✓ ") and _line(lines, "slack auth").startswith("✓ ")
    _no_secrets(lines, env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://ncebot:pg-password-1@127.0.0.1:1/x", "cannot connect"),
        ("sqlite:///{tmp}/missing/dir/ncebot.db", "does not exist"),
    ],
)
def test_unreachable_database(
    pc_sandbox: Any, slack_standin: Any, tmp_path: Path, url: str, expected: str
) -> None:
    env = _env(pc_sandbox, slack_standin, url.format(tmp=tmp_path))
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    database = _line(lines, "database")
    assert database.startswith("✗ ") and expected in database and "DATABASE_URL" in database
    assert "pg-password-1" not in "\n".join(lines)
    assert _line(lines, "partner center read").startswith("✓ ")


def test_database_behind_head_says_run_db_upgrade(pc_sandbox: Any, slack_standin: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    code, lines = _doctor(_env(pc_sandbox, slack_standin, f"sqlite:///{empty}"), pc_sandbox.ca_path)
    assert code == 1
    database = _line(lines, "database")
    assert database.startswith("✗ ") and "migration none" in database and "run `ncebot db upgrade`" in database


def test_missing_channel(pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite, NCEBOT_APPROVAL_CHANNEL="C0NOTTHERE")
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    channel = _line(lines, "approval channel")
    assert channel.startswith("✗ ") and "C0NOTTHERE" in channel and "channel_not_found" in channel
    assert "invite the bot" in channel and "NCEBOT_APPROVAL_CHANNEL" in channel
    assert [line for line in lines if line.startswith("✗ ")] == [channel]


def test_invalid_slack_token(pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite, SLACK_BOT_TOKEN="xoxb-0000-revoked-token")
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    auth = _line(lines, "slack auth")
    assert auth.startswith("✗ ") and "invalid_auth" in auth and "SLACK_BOT_TOKEN" in auth
    assert _line(lines, "approval channel").startswith("✗ ")
    _no_secrets(lines, env)


def test_settings_problems(pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite)
    del env["NCEBOT_APPROVERS"]
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    assert "✗ settings: NCEBOT_APPROVERS: missing (required)" in lines[0]

    env = _env(pc_sandbox, slack_standin, migrated_sqlite, SLACK_BOT_TOKEN="not-a-bot-token-secret",
               NCEBOT_APPROVAL_CHANNEL="general")
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 2
    assert all(line.startswith("✗ settings: ") for line in lines) and len(lines) == 2
    assert "not-a-bot-token-secret" not in "\n".join(lines)


def test_app_plus_user_with_the_ca_from_ssl_cert_file(
    pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str
) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite, PARTNER_CENTER_REFRESH_TOKEN=pc_sandbox.refresh_token,
               SSL_CERT_FILE=pc_sandbox.ca_path)
    out = io.StringIO()
    code = run_doctor(env, out)  # no verify=: the CA bundle comes from SSL_CERT_FILE in env
    lines = out.getvalue().splitlines()
    assert code == 0, lines
    assert "App+User" in _line(lines, "partner center token")
    _no_secrets(lines, env)


def test_revoked_refresh_token(pc_sandbox: Any, slack_standin: Any, migrated_sqlite: str) -> None:
    env = _env(pc_sandbox, slack_standin, migrated_sqlite, PARTNER_CENTER_REFRESH_TOKEN="0.revoked-refresh-token")
    code, lines = _doctor(env, pc_sandbox.ca_path)
    assert code == 1
    token = _line(lines, "partner center token")
    assert token.startswith("✗ ") and "invalid_grant" in token and "PARTNER_CENTER_REFRESH_TOKEN" in token
    _no_secrets(lines, env)
