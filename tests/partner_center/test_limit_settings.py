"""PARTNER_CENTER_VALIDATE_LIMIT / PARTNER_CENTER_CREATE_LIMIT (SPEC §3) set the client's limiter."""

from __future__ import annotations

import pytest

from bot.partner_center.limiter import CREATE, VALIDATE
from bot.partner_center.models import MigrationRequest
from bot.settings import SettingsError, load_settings
from sandbox import known
from tests.fixtures.pc_inprocess import InProcessSandbox


def test_the_validate_limit_setting_paces_the_client(pc_inprocess: InProcessSandbox) -> None:
    # pc_inprocess.client() is build_partner_center_client(settings from these variables, http=in-process).
    with pc_inprocess.client(PARTNER_CENTER_VALIDATE_LIMIT="1/10m", PARTNER_CENTER_CREATE_LIMIT="7/60s") as pc:
        limiter = pc._limiter
        assert limiter is not None
        key = known.CONTOSO.lower()
        assert limiter.time_until_available(VALIDATE, key) == 0.0
        pc.validate_migration(known.CONTOSO, MigrationRequest(current_subscription_id=known.ELIGIBLE_SIMPLE))
        # one validation per 10 minutes: the window is full for about 600 s (the default would leave 449 free)
        assert 590 < limiter.time_until_available(VALIDATE, key) <= 600
        create = limiter._limits.for_bucket(CREATE)
        assert create is not None and (create.calls, create.period) == (7, 60.0)


@pytest.mark.parametrize("value", ["100", "0/300s", "x/300s", "100/0s", "²/300s"])
def test_a_malformed_limit_names_the_setting(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"PARTNER_CENTER_CREATE_LIMIT": value})
    assert any(line.startswith("PARTNER_CENTER_CREATE_LIMIT: expected N/W") for line in caught.value.problems)
