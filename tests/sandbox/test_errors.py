"""Every eligibility code (0-12) and every documented error code is reachable from the seed data."""

from __future__ import annotations

import pytest

from sandbox import known
from sandbox.server import SandboxServer
from tests.sandbox.helpers import mig, pc_client, rid


@pytest.mark.parametrize("code", range(13))
def test_each_eligibility_code_on_validate_and_create(pc_sandbox: SandboxServer, code: int) -> None:
    customer, sub = known.INELIGIBLE_BY_CODE[code]
    body = {"currentSubscriptionId": sub, **known.INELIGIBLE_EXTRA_BODY.get(code, {})}
    with pc_client(pc_sandbox) as pc:
        validated = pc.post(mig(customer) + "/validate", json=body, headers=rid())
        created = pc.post(mig(customer), json=body, headers=rid())
        state = pc.get("/v1/migrations/newcommerce", params={"CustomerTenantId": customer})
    assert validated.status_code == 201
    answer = validated.json()
    assert answer["isEligible"] is False
    assert [e["code"] for e in answer["errors"]] == [code]
    assert answer["errors"][0]["description"]
    status, error_code = known.CREATE_ERROR_BY_CODE[code]
    assert (created.status_code, created.json()["code"]) == (status, error_code), created.text
    assert created.json()["source"] == "PartnerFD" and created.json()["description"]
    assert state.json() == []  # nothing was created


def test_last_day_sub_is_eligible_with_full_term(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        body = {"currentSubscriptionId": known.LAST_DAY_SUB, "purchaseFullTerm": True}
        assert pc.post(mig(known.ADVENTURE_WORKS) + "/validate", json=body).json()["isEligible"] is True
        assert pc.post(mig(known.ADVENTURE_WORKS), json=body, headers=rid()).status_code == 201


def test_custom_term_end_date_rules(pc_sandbox: SandboxServer) -> None:
    nce_end = pc_sandbox.state.customers[known.CONTOSO].subs[known.NCE_SUB].term_end.date()
    with pc_client(pc_sandbox) as pc:
        beyond = pc.post(
            mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE, **known.CUSTOM_END_BEYOND_TERM}
        )
        aligned = pc.post(
            mig(known.CONTOSO) + "/validate",
            json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE, "customTermEndDate": f"{nce_end}T00:00:00Z"},
        )
    assert (beyond.status_code, beyond.json()["code"]) == (400, 900291)
    assert aligned.json()["isEligible"] is True, aligned.text
    assert aligned.json()["customTermEndDate"].startswith(str(nce_end))


def test_add_on_rules(pc_sandbox: SandboxServer) -> None:
    base, addons = known.ELIGIBLE_BASE, known.ELIGIBLE_BASE_ADDONS
    with pc_client(pc_sandbox) as pc:
        missing = pc.post(
            mig(known.CONTOSO),
            json={"currentSubscriptionId": base, "addOnMigrations": [{"currentSubscriptionId": addons[0]}]},
        )
        dupes = pc.post(
            mig(known.CONTOSO),
            json={
                "currentSubscriptionId": base,
                "addOnMigrations": [{"currentSubscriptionId": a} for a in [*addons, addons[0]]],
            },
        )
        inactive = pc.post(
            mig(known.CONTOSO),
            json={
                "currentSubscriptionId": known.NESTED_BASE,
                "addOnMigrations": [
                    {"currentSubscriptionId": a} for a in [*known.NESTED_BASE_ADDONS, known.INACTIVE_ADDON]
                ],
            },
        )
        nonexistent = pc.post(
            mig(known.CONTOSO),
            json={"currentSubscriptionId": base, "addOnMigrations": [{"currentSubscriptionId": known.UNKNOWN_SUB}]},
        )
        validated = pc.post(mig(known.CONTOSO) + "/validate", json={"currentSubscriptionId": known.NESTED_BASE})
        nested_ok = pc.post(
            mig(known.CONTOSO),
            json={
                "currentSubscriptionId": known.NESTED_BASE,
                "addOnMigrations": [{"currentSubscriptionId": a.upper()} for a in known.NESTED_BASE_ADDONS],
            },
            headers=rid(),
        )
    assert (missing.status_code, missing.json()["code"]) == (400, 900219)
    assert addons[1] in missing.json()["description"]
    assert (dupes.status_code, dupes.json()["code"]) == (400, 900248)
    assert (inactive.status_code, inactive.json()["code"]) == (400, 900262)
    assert (nonexistent.status_code, nonexistent.json()["code"]) == (400, 900262)
    answer = validated.json()
    assert answer["isEligible"] is True
    assert {a["currentSubscriptionId"] for a in answer["addOnMigrations"]} == set(known.NESTED_BASE_ADDONS)
    assert nested_ok.status_code == 201, nested_ok.text
    assert {a["currentSubscriptionId"] for a in nested_ok.json()["addOnMigrations"]} == set(known.NESTED_BASE_ADDONS)


def test_add_on_without_its_nested_add_on_and_ineligible_add_on(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        alone = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.NESTED_PARENT_ADDON})
        base4 = pc.post(
            mig(known.ADVENTURE_WORKS) + "/validate", json={"currentSubscriptionId": known.INELIGIBLE_BY_CODE[4][1]}
        )
    assert alone.status_code == 201, alone.text  # an add-on may migrate alone; its own add-on goes with it
    assert [a["currentSubscriptionId"] for a in alone.json()["addOnMigrations"]] == [known.NESTED_ADDON]
    nested = base4.json()["addOnMigrations"]
    assert nested[0]["currentSubscriptionId"] == known.RECENT_ADDON and nested[0]["errors"][0]["code"] == 7


def test_trial_nce_and_processing(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        trial = pc.post(mig(known.CONTOSO) + "/validate", json={"currentSubscriptionId": known.TRIAL_SUB}).json()
        nce = pc.post(mig(known.CONTOSO) + "/validate", json={"currentSubscriptionId": known.NCE_SUB}).json()
        first = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, headers=rid())
        second = pc.post(mig(known.CONTOSO), json={"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, headers=rid())
    assert trial["isEligible"] is False and nce["isEligible"] is False
    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (400, 900216)


@pytest.mark.parametrize(
    ("customer", "body", "status", "code"),
    [
        (known.LITWARE, {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, 403, 20002),
        (known.UNKNOWN_CUSTOMER, {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, 403, 20002),
        (known.CONTOSO, {"currentSubscriptionId": known.UNKNOWN_SUB}, 404, 20003),
        (known.CONTOSO, {"currentSubscriptionId": "not-a-guid"}, 400, 800002),
        (known.CONTOSO, {"termDuration": "P1Y"}, 400, 800002),
        (known.CONTOSO, {"currentSubscriptionId": known.ELIGIBLE_SIMPLE, "quantity": "ten"}, 400, 800002),
        (known.CONTOSO, {"currentSubscriptionId": known.ELIGIBLE_SIMPLE, "termDuration": "P2Y"}, 400, 800002),
        (
            known.CONTOSO,
            {"currentSubscriptionId": known.ELIGIBLE_SIMPLE, "termDuration": "P1M", "billingCycle": "Annual"},
            400,
            900222,
        ),
        ("not-a-guid", {"currentSubscriptionId": known.ELIGIBLE_SIMPLE}, 400, 800002),
    ],
)
def test_request_errors(pc_sandbox: SandboxServer, customer: str, body: dict[str, str], status: int, code: int) -> None:
    with pc_client(pc_sandbox) as pc:
        reply = pc.post(mig(customer), json=body)
    assert (reply.status_code, reply.json()["code"]) == (status, code), reply.text
    assert set(reply.json()) == {"code", "description", "data", "source"}


def test_invalid_json_unknown_migration_and_lookups(pc_sandbox: SandboxServer) -> None:
    with pc_client(pc_sandbox) as pc:
        broken = pc.post(mig(known.CONTOSO), content=b"{not json", headers={"Content-Type": "application/json"})
        unknown = pc.get(f"{mig(known.CONTOSO)}/{known.UNKNOWN_SUB}")
        no_filter = pc.get("/v1/migrations/newcommerce")
        no_sub = pc.get(f"/v1/customers/{known.CONTOSO}/subscriptions/{known.UNKNOWN_SUB}")
        no_customer = pc.get(f"/v1/customers/{known.LITWARE}")
    assert (broken.status_code, broken.json()["code"]) == (400, 800002)
    assert (unknown.status_code, unknown.json()["code"]) == (400, 900224)
    assert (no_filter.status_code, no_filter.json()["code"]) == (400, 800002)
    assert (no_sub.status_code, no_sub.json()["code"]) == (404, 20003)
    assert (no_customer.status_code, no_customer.json()["code"]) == (403, 20002)
