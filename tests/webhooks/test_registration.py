"""``ncebot webhooks register|status|test`` and the doctor line against the sandbox's registration API: read
first, merge at the same URL, refuse another URL (exit 2, nothing changed), ``--replace`` keeps every event."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bot.cli import main
from bot.partner_center.client import build_partner_center_client
from bot.settings import load_settings
from bot.webhooks.registration import NCEBOT_EVENTS, main_args, run_webhooks, status_line
from sandbox.server import SandboxServer

HERE = "https://ncebot.example.com"
HERE_URL = HERE + "/partner-center/webhooks"
ELSEWHERE = "https://psa.example.net/hooks/partner-center"


def _env(sandbox: SandboxServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in sandbox.client_env().items() if k.startswith("PARTNER_CENTER_")}
    env.update(extra)
    return env


def _run(sandbox: SandboxServer, *argv: str, **extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_webhooks(main_args(argv), _env(sandbox, **extra), out, verify=sandbox.ca_path)
    return code, out.getvalue()


def _existing(sandbox: SandboxServer, url: str, events: list[str]) -> dict[str, Any]:
    with build_partner_center_client(load_settings(_env(sandbox)), verify=sandbox.ca_path) as pc:
        pc.save_webhook_registration(url, events, create=True)
    registration = sandbox.webhooks.registration
    assert registration is not None
    return dict(registration)


def test_fresh_registration_defaults_to_the_public_url(pc_sandbox: SandboxServer) -> None:
    code, out = _run(pc_sandbox, "register", NCEBOT_PUBLIC_URL=HERE)
    assert code == 0, out
    registration = pc_sandbox.webhooks.registration
    assert registration is not None
    assert registration["WebhookUrl"] == HERE_URL and registration["WebhookEvents"] == list(NCEBOT_EVENTS)
    assert out.startswith("created: " + HERE_URL)
    code, out = _run(pc_sandbox, "status", NCEBOT_PUBLIC_URL=HERE)
    assert code == 0 and HERE_URL in out and "points at this deployment" in out


def test_register_without_url_or_public_url_is_a_usage_error(pc_sandbox: SandboxServer,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(pc_sandbox, "register")
    assert code == 2 and "NCEBOT_PUBLIC_URL" in capsys.readouterr().err
    assert pc_sandbox.webhooks.registration is None


def test_merge_with_a_registration_at_the_same_url(pc_sandbox: SandboxServer) -> None:
    _existing(pc_sandbox, HERE_URL, ["invoice-ready", "new-commerce-migration-completed"])
    code, out = _run(pc_sandbox, "register", "--url", HERE_URL)
    assert code == 0 and out.startswith("updated: "), out
    registration = pc_sandbox.webhooks.registration
    assert registration is not None and registration["WebhookUrl"] == HERE_URL
    events = registration["WebhookEvents"]
    assert events[:2] == ["invoice-ready", "new-commerce-migration-completed"]  # kept, first, in their order
    assert set(events) == {"invoice-ready", *NCEBOT_EVENTS} and len(events) == len(set(events))
    code, out = _run(pc_sandbox, "register", "--url", HERE_URL)  # again: nothing to add
    assert code == 0 and out.startswith("unchanged: ")


def test_refuses_a_registration_pointing_elsewhere_and_changes_nothing(
    pc_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _existing(pc_sandbox, ELSEWHERE, ["referral-created", "invoice-ready"])
    puts = pc_sandbox.state.counts.get("update_webhook_registration", 0)
    code, out = _run(pc_sandbox, "register", "--url", HERE_URL)
    err = capsys.readouterr().err
    assert code == 2, (out, err)
    assert ELSEWHERE in err and "referral-created" in err and "invoice-ready" in err and "--replace" in err
    assert pc_sandbox.webhooks.registration == before
    assert pc_sandbox.state.counts.get("update_webhook_registration", 0) == puts


def test_replace_moves_it_here_keeping_every_old_event(pc_sandbox: SandboxServer) -> None:
    _existing(pc_sandbox, ELSEWHERE, ["referral-created", "invoice-ready"])
    code, out = _run(pc_sandbox, "register", "--url", HERE_URL, "--replace")
    assert code == 0 and out.startswith("replaced: ") and f"previously: {ELSEWHERE}" in out, out
    registration = pc_sandbox.webhooks.registration
    assert registration is not None and registration["WebhookUrl"] == HERE_URL
    assert set(registration["WebhookEvents"]) == {"referral-created", "invoice-ready", *NCEBOT_EVENTS}


def test_doctor_line_says_whether_the_registration_points_here(pc_sandbox: SandboxServer) -> None:
    settings = load_settings(_env(pc_sandbox, NCEBOT_PUBLIC_URL=HERE))
    with build_partner_center_client(settings, verify=pc_sandbox.ca_path) as pc:
        ok, detail, fix = status_line(settings, pc)
        assert not ok and "no registration" in detail and fix and "webhooks register" in fix
        _existing(pc_sandbox, ELSEWHERE, ["referral-created"])
        ok, detail, _ = status_line(settings, pc)
        assert not ok and ELSEWHERE in detail
        assert _run(pc_sandbox, "register", "--url", HERE_URL, "--replace")[0] == 0
        ok, detail, _ = status_line(settings, pc)
        assert ok and "registered to this deployment" in detail and "3600" in detail
        unset = load_settings(_env(pc_sandbox))
        ok, detail, _ = status_line(unset, pc)
        assert ok and "NCEBOT_PUBLIC_URL not set" in detail and "polling every 300 s" in detail


def test_the_ncebot_command_runs_it(pc_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in pc_sandbox.client_env().items():
        monkeypatch.setenv(key, value)
    assert main(["webhooks", "status"]) == 0
    assert "no webhook registration" in capsys.readouterr().out
    assert main(["webhooks", "register", "--url", HERE_URL]) == 0
    assert pc_sandbox.webhooks.registration is not None


def test_doctor_prints_the_webhooks_line(pc_sandbox: SandboxServer, slack_standin: Any, tmp_path: Any) -> None:
    from bot.doctor import run_doctor
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    upgrade(url)
    slack_standin.channels["CDOCTOR001"] = "nce-approvals"
    env = _env(pc_sandbox, NCEBOT_PUBLIC_URL=HERE, SLACK_BOT_TOKEN=slack_standin.bot_token,
               SLACK_SIGNING_SECRET="doctor-signing-secret", SLACK_API_URL=slack_standin.base_url,
               DATABASE_URL=url, NCEBOT_APPROVAL_CHANNEL="CDOCTOR001", NCEBOT_APPROVERS="UDOCTOR001")
    out = io.StringIO()
    run_doctor(env, out, verify=pc_sandbox.ca_path)
    lines = [line for line in out.getvalue().splitlines() if "webhooks:" in line]
    assert len(lines) == 1 and f"not registered to {HERE_URL}" in lines[0] and "webhooks register" in lines[0]
    assert _run(pc_sandbox, "register", NCEBOT_PUBLIC_URL=HERE)[0] == 0
    out = io.StringIO()
    assert run_doctor(env, out, verify=pc_sandbox.ca_path) == 0, out.getvalue()
    assert "registered to this deployment" in out.getvalue()
