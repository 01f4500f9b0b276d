"""``ncebot sandbox --seed large``: a deterministic partner of 200 customers and 5,000 legacy subscriptions."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable

import pytest

from bot.partner_center.client import build_partner_center_client
from bot.settings import load_settings
from sandbox import large_seed
from sandbox.server import SandboxServer
from sandbox.state import SandboxState
from tests.workflow.conftest import sandbox_env


@pytest.fixture(scope="module")
def state() -> SandboxState:
    return SandboxState(data=large_seed.build())


def test_counts_addons_and_one_very_large_customer(state: SandboxState) -> None:
    assert len(state.customers) == 200
    subs = [s for c in state.customers.values() for s in c.subs.values()]
    assert len(subs) == 5_000 and not any(s.is_nce for s in subs)
    addons = [s for s in subs if s.parent]
    assert 0.15 * 5_000 < len(addons) < 0.3 * 5_000
    for addon in addons:  # every add-on hangs off a subscription of its own customer
        assert addon.parent in state.customers[addon.customer_id].subs
    sizes = sorted((len(c.subs) for c in state.customers.values()), reverse=True)
    assert sizes[0] == 600 and sizes[-1] >= 2
    names = [c.company_name for c in state.customers.values()]
    domains = [c.domain for c in state.customers.values()]
    assert len(set(names)) == 200 and len(set(domains)) == 200
    assert sum("Bank" in n for n in names) > 3  # a part of a name that several customers share


def test_deterministic() -> None:
    first, second = large_seed.build(), large_seed.build()
    assert first == second
    assert large_seed.build(seed=1) != first


def test_realistic_mix_of_eligibility(state: SandboxState) -> None:
    codes: Counter[int] = Counter()
    eligible = bases = 0
    for customer in state.customers.values():
        for sub in customer.subs.values():
            if sub.parent:
                continue
            bases += 1
            answer = state.validate(customer.id, {"currentsubscriptionid": sub.id})  # the app lower-cases keys
            eligible += answer["isEligible"]
            codes.update({int(e["code"]) for e in answer.get("errors", [])})
    assert 0.6 * bases < eligible < 0.9 * bases, (eligible, bases)
    assert set(codes) >= {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, codes
    assert codes[5] > codes[8]  # no NCE offer / trials are commoner than trade blocks


def test_served_over_https_and_paged_through_the_client(
    pc_sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = pc_sandbox_factory(data=large_seed.build())
    with build_partner_center_client(load_settings(env=sandbox_env(sandbox)), verify=sandbox.ca_path) as client:
        customers = client.list_customers(page_size=64)  # four pages
        assert len({c.id for c in customers}) == 200
        big = next(c for c in customers if len(sandbox.state.customers[c.id].subs) == 600)
        subs = client.list_subscriptions(big.id)  # 24 pages of 25
        assert len(subs) == 600 and sum(1 for s in subs if s.parent_subscription_id) > 60
    # Seed data loads again on reset (the generated seed is kept, not re-read from a file).
    sandbox.state.load()
    assert len(sandbox.state.customers) == 200


def test_cli_offers_the_seed() -> None:
    out = subprocess.run([sys.executable, "-m", "bot.cli", "sandbox", "--help"], capture_output=True, text=True,
                         check=True, timeout=60)
    assert "--seed {default,large}" in out.stdout
    refused = subprocess.run([sys.executable, "-m", "bot.cli", "sandbox", "--seed", "large", "--data", "x.yaml"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "not allowed with argument" in refused.stderr
