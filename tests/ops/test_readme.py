"""The README works as written from a fresh clone: the commands in its code blocks exist (``ncebot`` subcommands in
the CLI parser, ``make`` targets in the Makefile, files it copies), the settings it names exist in
``bot/settings.py``, every command and setting is documented, and ``.env.example`` lists every setting."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import _parser
from bot.settings import Settings
from bot.slack.commands import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = {name.upper() for name in Settings.model_fields}
# Environment variables the README may name that are not settings of bot/settings.py.
NOT_SETTINGS = {"NCEBOT_TEST_POSTGRES_URL", "SSL_CERT_FILE"}


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _code_blocks(text: str, languages: tuple[str, ...] = ("sh", "")) -> list[str]:
    """Fenced code blocks (indented ones inside lists too) whose language is one of ``languages``."""
    blocks = []
    for match in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
        if match.group(2) in languages:
            indent = len(match.group(1))
            blocks.append("\n".join(line[indent:] for line in match.group(3).splitlines()))
    return blocks


def _shell_commands() -> list[list[str]]:
    """Every command line of the README's ``sh`` blocks, without its trailing comment."""
    commands = []
    for block in _code_blocks(README, ("sh",)):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))


def _check_ncebot(args: list[str]) -> None:
    try:
        _parser().parse_args(args)
    except SystemExit as exc:  # argparse exits 2 on an unknown subcommand or option
        pytest.fail(f"README runs `ncebot {' '.join(args)}`, which the CLI does not accept (exit {exc.code})")


def test_every_command_in_the_readme_code_blocks_exists() -> None:
    commands = _shell_commands()
    assert len(commands) >= 8
    targets = _make_targets()
    checked = set()
    for words in commands:
        program, args = words[0], words[1:]
        if program == "make":
            assert args and args[0] in targets, f"`make {' '.join(args)}`: no such Makefile target"
        elif program in ("ncebot", ".venv/bin/ncebot"):
            _check_ncebot(args)
        elif program == "docker" and args[:1] == ["run"]:
            assert "--env-file" in args and args[args.index("--env-file") + 1] == ".env"
            image_at = next(i for i, word in enumerate(args) if word == "ncebot")
            if args[image_at + 1:]:
                assert args[image_at + 1] == "ncebot"
                _check_ncebot(args[image_at + 2:])
        elif program == "docker":
            assert (ROOT / "Dockerfile").is_file()
        elif program == "cp":
            assert (ROOT / args[0]).is_file(), f"`cp {args[0]}`: the file is not in the repository"
        elif program == "pipx":
            assert args == ["install", "."] and (ROOT / "pyproject.toml").is_file()
        else:
            pytest.fail(f"README runs `{' '.join(words)}`: this test does not know how to check it")
        checked.add(program)
    assert {"make", "ncebot", "docker", "cp", "pipx"} <= checked


def test_inline_ncebot_commands_exist() -> None:
    """`ncebot …` in backticks anywhere in the README (tables, prose) is a real command line too."""
    found = re.findall(r"`(?:\.venv/bin/)?ncebot ([a-z][^`…<]*)`", README)
    assert len(found) >= 6
    for args in found:
        _check_ncebot(shlex.split(args))


def test_settings_named_in_the_readme_exist() -> None:
    named = set(re.findall(r"\b((?:SLACK|PARTNER_CENTER|NCEBOT)_[A-Z0-9_]+|DATABASE_URL)\b", README))
    unknown = sorted(named - SETTINGS - NOT_SETTINGS)
    assert not unknown, f"README names settings that bot/settings.py does not have: {unknown}"


def test_every_setting_is_in_the_settings_table() -> None:
    table = _section(README, "## Settings")
    assert len(SETTINGS) >= 27
    missing = [name for name in sorted(SETTINGS) if f"`{name}`" not in table]
    assert not missing, f"settings missing from README: {missing}"


def test_env_example_lists_every_setting_with_a_comment_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    listed: list[str] = []
    for number, line in enumerate(lines):
        match = re.match(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if not match:
            continue
        listed.append(match.group(1))
        assert not re.search(r"\s#", match.group(2)), f"line {number + 1}: Docker's --env-file keeps inline comments"
        assert '"' not in match.group(2) and "'" not in match.group(2), f"line {number + 1}: quotes are kept too"
        above = lines[number - 1] if number else ""
        assert above.startswith("# ") and not re.match(r"^# [A-Z][A-Z0-9_]*=", above), (
            f"{match.group(1)} has no comment of its own above it")
    assert len(listed) == len(set(listed)), "a setting is listed twice"
    assert set(listed) == SETTINGS, (f"missing: {sorted(SETTINGS - set(listed))}, "
                                     f"unknown: {sorted(set(listed) - SETTINGS)}")
    # A copy of it is a valid .env: blank values are "not set", defaults stay defaults.
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=str(ENV_EXAMPLE))  # type: ignore[call-arg]
    assert settings.slack_bot_token is None and settings.approvers == [] and settings.port == 3000


def test_every_slash_subcommand_is_documented_and_nothing_else() -> None:
    commands = _section(README, "## Commands")
    names = {sub.name for sub in SUBCOMMANDS}
    missing = [name for name in sorted(names) if f"/nce {name}" not in commands]
    assert not missing, f"/nce subcommands missing from README: {missing}"
    named = set(re.findall(r"`/nce (\w+)", README))
    assert named <= names, f"README names /nce subcommands that do not exist: {sorted(named - names)}"


def test_every_program_command_is_documented() -> None:
    parser = _parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    table = _section(README, "## Commands")
    choices: dict[str, Any] = sub.choices  # type: ignore[assignment]
    for name, child in choices.items():
        nested = [a for a in child._actions if a.__class__.__name__ == "_SubParsersAction"]
        for command in ([f"{name} {n}" for n in nested[0].choices] if nested else [name]):
            assert f"`ncebot {command}`" in table, f"`ncebot {command}` is missing from the README's commands"
    assert "`ncebot --version`" in table


def test_quick_start_has_exactly_the_two_make_commands_first() -> None:
    quick = _section(README, "## Quick start")
    assert README.index("## Quick start") < README.index("## Set up for real")
    block = quick.split("```")[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    assert [line.split()[:2] for line in lines] == [["make", "demo"], ["make", "test"]]
    assert all("#" in line and len(line.split("#", 1)[1].strip()) > 10 for line in lines)
    # then the screenshot of the approval flow
    after = README[README.index("## Quick start") : README.index("## Set up for real")]
    assert "![The approval flow in the playground](docs/playground.png)" in after
    shot = ROOT / "docs" / "playground.png"
    if shot.exists():  # made by the playground's browser test
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_http_mode_names_every_request_url_of_the_manifest() -> None:
    setup = _section(README, "## Set up for real")
    [snippet] = [block for block in _code_blocks(setup, ("yaml",))]
    shown = yaml.safe_load(snippet)
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    urls = [
        shown["features"]["slash_commands"][0]["url"],
        shown["settings"]["event_subscriptions"]["request_url"],
        shown["settings"]["interactivity"]["request_url"],
        shown["settings"]["interactivity"]["message_menu_options_url"],
    ]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls)
    assert shown["settings"]["socket_mode_enabled"] is False
    # the same places exist in the manifest the README tells you to edit
    assert shown["features"]["slash_commands"][0]["command"] == manifest["features"]["slash_commands"][0]["command"]
    assert "event_subscriptions" in manifest["settings"] and "interactivity" in manifest["settings"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True  # hence the event URL


def test_first_hour_topics() -> None:
    setup = _section(README, "## Set up for real")
    for text in ("`.env`", ".env.example", "pipx install .", ".venv/bin/ncebot", "Reinstall", "Copy member ID",
                 "Copy group ID", "usergroups.list", "Channel ID", "PARTNER_CENTER_SANDBOX=true"):
        assert text in setup, text
    assert "ncebot.env" not in README
    assert "## Project structure" in README
    structure = _section(README, "## Project structure")
    for path in ("bot/", "handlers/", "storage/", "sandbox/", "tests/", "slack/blocks/", ".env.example"):
        assert path in structure, path


def test_deployment_and_troubleshooting_topics() -> None:
    for text in (
        "docker run --env-file .env -v ncebot-data:/data -p 3000:3000 ncebot",
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
