"""Fixtures of the Partner Center client tests: a TLS stub, an httpx client trusting it, fake time."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from bot.partner_center import CallRecord, PartnerCenterClient, PartnerCenterTokenProvider, RetryPolicy
from tests.partner_center.stub_server import StubServer

DATA = Path(__file__).parent / "data"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeTime:
    """Monotonic clock plus a sleep that only advances it and remembers each request."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_pem(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def stub(ca: trustme.CA) -> Iterator[StubServer]:
    with StubServer(ca) as server:
        yield server


@pytest.fixture
def http(ca_pem: str) -> Iterator[httpx.Client]:
    context = ssl.create_default_context(cafile=ca_pem)
    with httpx.Client(verify=context, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        yield client


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def tokens(stub: StubServer, http: httpx.Client) -> PartnerCenterTokenProvider:
    return PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=stub.client_secret,
        http_client=http,
        authority_host=stub.base_url,
    )


@pytest.fixture
def make_client(
    stub: StubServer,
    http: httpx.Client,
    tokens: PartnerCenterTokenProvider,
    fake_time: FakeTime,
    calls: list[CallRecord],
) -> Callable[..., PartnerCenterClient]:
    def build(**overrides: Any) -> PartnerCenterClient:
        kwargs: dict[str, Any] = {
            "base_url": stub.base_url,
            "token_provider": tokens,
            "http": http,
            "retry": RetryPolicy(jitter=False),
            "sleep": fake_time.sleep,
            "monotonic": fake_time.monotonic,
            "on_call": calls.append,
        }
        kwargs.update(overrides)
        return PartnerCenterClient(**kwargs)

    return build


@pytest.fixture
def client(make_client: Callable[..., PartnerCenterClient]) -> PartnerCenterClient:
    return make_client()
