"""Customers by id, domain or name (SPEC §4, §9) against the Partner Center sandbox over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.customers import (
    AmbiguousCustomer,
    CustomerDirectory,
    MatchedBy,
    UnknownCustomer,
    clean_query,
    fold,
)
from bot.domain import InvalidInput, NotFound
from bot.partner_center.client import PartnerCenterClient, build_partner_center_client
from bot.settings import load_settings
from sandbox import known, large_seed
from sandbox.server import SandboxServer
from tests.workflow.conftest import sandbox_env


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client_of(sandbox: SandboxServer) -> PartnerCenterClient:
    return build_partner_center_client(load_settings(env=sandbox_env(sandbox)), verify=sandbox.ca_path)


@pytest.fixture
def default_pc(pc_sandbox: SandboxServer) -> Iterator[tuple[SandboxServer, PartnerCenterClient]]:
    with client_of(pc_sandbox) as client:
        yield pc_sandbox, client


@pytest.fixture(scope="module")
def large_pc() -> Iterator[tuple[SandboxServer, PartnerCenterClient]]:
    with SandboxServer(data=large_seed.build()) as sandbox, client_of(sandbox) as client:
        yield sandbox, client


def test_id_domain_whole_name_and_unique_part(default_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    _sandbox, client = default_pc
    directory = CustomerDirectory(client)
    by_id = directory.resolve(known.CONTOSO.upper())
    assert by_id.by is MatchedBy.ID and by_id.one is not None and by_id.one.name == "Contoso Ltd"
    assert by_id.total_customers == len(known.LISTED_CUSTOMERS)
    assert directory.require("fabrikam.onmicrosoft.com").id == known.FABRIKAM
    assert directory.resolve("FABRIKAM.onmicrosoft.com").by is MatchedBy.DOMAIN
    assert directory.require("adventure works cycles").id == known.ADVENTURE_WORKS
    assert directory.resolve("Adventure Works Cycles").by is MatchedBy.NAME
    found = directory.resolve("northwind")
    assert found.by is MatchedBy.PART and found.one is not None and found.one.id == known.NORTHWIND
    assert directory.require("  wide  world ").id == known.WIDE_WORLD  # spaces as typed
    assert directory.require("<http://contoso.onmicrosoft.com|contoso.onmicrosoft.com>").id == known.CONTOSO
    assert directory.require("woodgrove").domain.endswith(".onmicrosoft.com")


def test_none_and_ambiguous_answers_with_totals(default_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    _sandbox, client = default_pc
    directory = CustomerDirectory(client)
    with pytest.raises(UnknownCustomer) as missing:
        directory.require("tailspin")
    assert isinstance(missing.value, NotFound) and "6 customers" in str(missing.value)
    assert directory.resolve(known.UNKNOWN_CUSTOMER).matches == ()  # 403 from Partner Center: no such customer
    assert directory.resolve(known.LITWARE).matches == ()  # no relationship: not listed, refused when asked
    with pytest.raises(InvalidInput):
        directory.resolve("   ")
    with pytest.raises(InvalidInput, match="every customer"):
        directory.resolve(" ALL ")  # reserved for campaigns, even if a name contained "all"
    many = directory.resolve("o")  # in most names
    assert many.one is None and many.count >= 4 and many.total_customers == 6
    with pytest.raises(AmbiguousCustomer) as ambiguous:
        directory.require("o")
    text = str(ambiguous.value)
    assert ambiguous.value.field == "customer" and "Contoso Ltd (contoso.onmicrosoft.com, " in text
    assert f"matches {many.count} customers" in text


def test_the_list_is_paged_once_and_cached_for_the_ttl(default_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    sandbox, client = default_pc
    ticker = Ticker()
    directory = CustomerDirectory(client, ttl=300, timer=ticker, page_size=2)  # three pages
    before = sandbox.state.counts.get("list_customers", 0)
    directory.require("contoso")
    directory.require("fabrikam")
    directory.search("wood")
    assert sandbox.state.counts["list_customers"] - before == 3
    ticker.now = 301
    directory.require("contoso")
    assert sandbox.state.counts["list_customers"] - before == 6
    directory.invalidate()
    directory.customers()
    assert sandbox.state.counts["list_customers"] - before == 9
    # An id missing from the cached list is asked for directly, once.
    gets = sandbox.state.counts.get("get_customer", 0)
    assert directory.resolve(known.LITWARE).matches == ()
    assert sandbox.state.counts["get_customer"] == gets + 1


def test_search_for_the_customers_command(default_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    _sandbox, client = default_pc
    directory = CustomerDirectory(client)
    everyone = directory.search()
    assert everyone.by is MatchedBy.ALL and everyone.count == 6 and everyone.cut_note() is None
    assert [c.name for c in everyone.matches] == sorted((c.name for c in everyone.matches), key=str.casefold)
    assert [c.id for c in directory.search("onmicrosoft").matches] == [c.id for c in everyone.matches]
    assert [c.id for c in directory.search(known.NORTHWIND[:8]).matches] == [known.NORTHWIND]
    assert everyone.cut_note(limit=4) == "showing 4 of 6" and len(everyone.head(4)) == 4


def test_large_partner(large_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    sandbox, client = large_pc
    directory = CustomerDirectory(client)
    everyone = directory.search()
    assert everyone.total_customers == everyone.count == 200
    assert everyone.cut_note() == "showing 48 of 200"
    seeded = list(sandbox.state.customers.values())
    for customer in seeded[::40]:  # by id, domain and whole name, each one customer
        assert directory.require(customer.id).name == customer.company_name
        assert directory.require(customer.domain.upper()).id == customer.id
        assert directory.require(customer.company_name.lower()).id == customer.id
    banks = [c for c in seeded if "bank" in c.company_name.lower()]
    found = directory.resolve("BANK")
    assert found.by is MatchedBy.PART and {c.id for c in found.matches} == {c.id for c in banks}
    with pytest.raises(AmbiguousCustomer) as err:
        directory.require("bank")
    assert f"matches {len(banks)} customers" in str(err.value)
    assert directory.require("lamna motors malmo").name == "Lamna Motors Malmö"  # accents as people type them
    # A whole name wins over the longer names that contain it; a part that fits one is enough.
    assert directory.require("munson's bank").name == "Munson's Bank"
    assert directory.resolve("Munson's Bank").by is MatchedBy.NAME
    assert directory.require("munson's bank l").name == "Munson's Bank Leeds"


def test_helpers() -> None:
    assert fold("  Malmö   Bank ") == "malmo bank" and fold("STRASSE") == "strasse"
    assert clean_query("<https://contoso.com/>") == "contoso.com"
    assert clean_query("<mailto:x@contoso.com|x@contoso.com>") == "x@contoso.com"
    assert clean_query('"Wide World') == "Wide World"


def test_concurrent_misses_list_once(default_pc: tuple[SandboxServer, PartnerCenterClient]) -> None:
    import threading

    sandbox, client = default_pc
    directory = CustomerDirectory(client)
    before = sandbox.state.counts.get("list_customers", 0)
    threads = [threading.Thread(target=directory.customers) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.state.counts["list_customers"] - before == 1

