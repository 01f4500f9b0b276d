"""The README documents every setting and every command of the contract."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SPEC = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_every_setting_is_in_the_settings_table() -> None:
    table = _section(README, "## Settings")
    names = {name.upper() for name in Settings.model_fields}
    assert len(names) >= 20
    missing = [name for name in sorted(names) if f"`{name}`" not in table]
    assert not missing, f"settings missing from README: {missing}"


def test_every_slash_subcommand_of_spec_section_4() -> None:
    block = _section(SPEC, "## 4.")
    subcommands = set(re.findall(r"/nce (\w+)", block))
    assert {"help", "migrate", "bulk", "unwatch", "audit"} <= subcommands
    commands = _section(README, "## Commands")
    missing = [sub for sub in sorted(subcommands) if f"/nce {sub}" not in commands]
    assert not missing, f"/nce subcommands missing from README: {missing}"


def test_every_program_command_of_spec_section_7() -> None:
    block = _section(SPEC, "## 7.")
    program = set(re.findall(r"^ncebot ([a-z]+(?: upgrade)?)", block, re.MULTILINE))
    assert program == {"run", "demo", "sandbox", "doctor", "db upgrade"}
    commands = _section(README, "## Commands")
    for command in program:
        assert f"`ncebot {command}`" in commands


def test_quick_start_has_exactly_the_two_make_commands() -> None:
    quick = _section(README, "## Quick start")
    block = quick.split("```")[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    assert [line.split()[:2] for line in lines] == [["make", "demo"], ["make", "test"]]
    assert all("#" in line and len(line.split("#", 1)[1].strip()) > 10 for line in lines)


def test_deployment_and_troubleshooting_topics() -> None:
    for text in (
        "docker run --env-file ncebot.env -v ncebot-data:/data -p 3000:3000 ncebot",
        "ncebot db upgrade",
        "/healthz",
        "/metrics",
        "/slack/events",
        "PostgreSQL",
        "invalid_auth",
        "channel_not_found",
        "AADSTS",
        "429",
        "expired_trigger_id",
        "dispatch_failed",
        "secure application model",
        "MFA",
    ):
        assert text in README, text
