"""Microsoft-led migrations seen (SPEC §10): labelled in /nce status and /nce schedules, over signed HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import known
from tests.fixtures.slack import REQUESTER, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_status_and_schedules_label_microsoft_led(slack_env: Any) -> None:
    env = slack_env()
    state = env.sandbox.state
    led = state.external_migration(known.WIDE_WORLD, known.EXTERNAL_SUB, microsoft_led=True)
    env.requester.command(f"status {known.WIDE_WORLD} {led['id']}")
    reply = wait_for(lambda: env.replies_to(REQUESTER))[0]
    assert reply.startswith(f"Microsoft-led migration {led['id']}") and "*Microsoft-led*" in reply

    with state.lock:  # a schedule that Microsoft made (the sandbox's own are partner-led)
        made = state.create_schedule(known.FABRIKAM, {"currentsubscriptionid": known.SCHEDULE_SUB,
                                                      "migrateonrenewal": True}, None)[1]
        state.schedules[made["id"]].microsoft_led = True
        partner = state.create_schedule(known.FABRIKAM, {"currentsubscriptionid": known.SCHEDULE_RENEWAL_SUB,
                                                         "migrateonrenewal": True}, None)[1]
    env.requester.command(f"schedules {known.FABRIKAM}")
    listed = wait_for(lambda: (lambda r: r[1] if len(r) > 1 else None)(env.replies_to(REQUESTER)))
    lines = [line for line in listed.split("\\n") if "`" in line]
    assert any(made["id"] in line and "Microsoft-led" in line for line in lines)
    assert not any(partner["id"] in line and "Microsoft-led" in line for line in lines)
