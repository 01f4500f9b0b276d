"""sandbox/known.py agrees with sandbox/data/default.yaml (the source of truth)."""

from __future__ import annotations

from typing import Any

import yaml

from sandbox import known
from sandbox.state import DEFAULT_DATA


def load() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_DATA.read_text(encoding="utf-8"))


def subs_of(data: dict[str, Any], customer: str) -> dict[str, dict[str, Any]]:
    cust = next(c for c in data["customers"] if c["id"] == customer)
    return {s["id"].lower(): s for s in cust["subscriptions"]}


def test_partner_and_customers_agree() -> None:
    data = load()
    assert data["partner"]["tenant_id"] == known.TENANT_ID and data["partner"]["client_id"] == known.CLIENT_ID
    listed = [c["id"] for c in data["customers"] if c.get("relationship", "reseller") != "none"]
    assert listed == known.LISTED_CUSTOMERS and len(listed) >= 5
    litware = next(c for c in data["customers"] if c["id"] == known.LITWARE)
    assert litware["relationship"] == "none"
    ids = {c["id"] for c in data["customers"]}
    assert known.UNKNOWN_CUSTOMER not in ids


def test_subscriptions_agree() -> None:
    data = load()
    contoso = subs_of(data, known.CONTOSO)
    for sub in [
        known.ELIGIBLE_SIMPLE,
        known.ELIGIBLE_MONTHLY,
        known.ELIGIBLE_BASE,
        known.NESTED_BASE,
        known.TRIAL_SUB,
        known.NCE_SUB,
        known.FAILING_SUB,
        known.INACTIVE_ADDON,
        *known.ELIGIBLE_BASE_ADDONS,
        *known.NESTED_BASE_ADDONS,
    ]:
        assert sub in contoso, sub
    assert all(contoso[a]["parent"] == known.ELIGIBLE_BASE for a in known.ELIGIBLE_BASE_ADDONS)
    assert contoso[known.NESTED_ADDON]["parent"] == known.NESTED_PARENT_ADDON
    assert contoso[known.NESTED_PARENT_ADDON]["parent"] == known.NESTED_BASE
    assert contoso[known.INACTIVE_ADDON]["status"] == "suspended"
    assert contoso[known.TRIAL_SUB]["is_trial"] is True
    assert contoso[known.NCE_SUB]["offer_id"].count(":") == 2
    outcome = contoso[known.FAILING_SUB]["migration_outcome"]
    assert outcome["status"] == "failed" and outcome["error_code"] == known.FAILING_ERROR_CODE
    fabrikam = subs_of(data, known.FABRIKAM)
    assert {known.SCHEDULE_SUB, known.SCHEDULE_RENEWAL_SUB, known.SCHEDULE_FAILING_SUB} <= set(fabrikam)
    wide = subs_of(data, known.WIDE_WORLD)
    assert {known.EXTERNAL_SUB, known.WIDE_WORLD_MONTHLY} <= set(wide)
    northwind = subs_of(data, known.NORTHWIND)
    assert list(northwind) == known.NORTHWIND_SUBS and len(northwind) >= 30
    adventure = subs_of(data, known.ADVENTURE_WORKS)
    assert {sub for _, sub in known.INELIGIBLE_BY_CODE.values()} | {known.RECENT_ADDON} == set(adventure)
    assert adventure[known.LAST_DAY_SUB]["term_end"] == "+12h"
    all_ids = [s["id"].lower() for c in data["customers"] for s in c["subscriptions"]]
    assert len(all_ids) == len(set(all_ids)) and known.UNKNOWN_SUB not in all_ids
