"""Real MSAL against the TLS Entra ID stand-in: App-only, App+User, failures, 401 re-auth."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from bot.partner_center import (
    PARTNER_CENTER_SCOPE,
    PARTNER_CENTER_SCOPE_CHINA,
    PartnerCenterAuthError,
    PartnerCenterClient,
    PartnerCenterError,
    PartnerCenterTokenProvider,
    build_partner_center_client,
    scope_for_base_url,
)
from bot.partner_center.auth import is_microsoft_authority
from bot.settings import load_settings
from tests.partner_center.stub_server import Reply, StubServer

CUSTOMER = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"


def test_app_only_token_fetched_once_for_many_calls(stub: StubServer, client: PartnerCenterClient) -> None:
    stub.route("GET", f"/v1/customers/{CUSTOMER}", lambda _: Reply(json={"id": CUSTOMER}))
    for _ in range(5):
        client.get_customer(CUSTOMER)

    tokens = stub.token_requests()
    assert len(tokens) == 1
    form = tokens[0].body
    assert form["grant_type"] == "client_credentials"
    assert PARTNER_CENTER_SCOPE in form["scope"].split()
    assert form["client_id"] == stub.client_id
    # MSAL read the authority's OpenID configuration from the stand-in, over TLS.
    assert any(r.path.endswith("/v2.0/.well-known/openid-configuration") for r in stub.requests)
    assert {r.headers["authorization"] for r in stub.api_requests()} == {"Bearer at-1"}


def test_app_plus_user_redeems_refresh_token_then_goes_silent(stub: StubServer, http: httpx.Client) -> None:
    # Tokens that expire within MSAL's 5-minute margin force the silent path to use the cached refresh token.
    stub.token_lifetime = 120
    provider = PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=SecretStr(stub.client_secret),
        refresh_token=SecretStr("rt-1"),
        http_client=http,
        authority_host=stub.base_url,
    )
    assert provider.app_plus_user
    assert provider.token() == "at-1"
    assert provider.token() == "at-2"

    first, second = stub.token_requests()
    assert first.body["grant_type"] == "refresh_token" and first.body["refresh_token"] == "rt-1"
    # The second came from acquire_token_silent with the account: it used the ROTATED refresh token from MSAL's
    # cache (the stand-in invalidated rt-1 when it issued rt-2).
    assert second.body["grant_type"] == "refresh_token" and second.body["refresh_token"] == "rt-2"


def test_app_plus_user_long_lived_token_served_from_cache(stub: StubServer, http: httpx.Client) -> None:
    provider = PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=stub.client_secret,
        refresh_token="rt-1",
        http_client=http,
        authority_host=stub.base_url,
    )
    assert [provider.token() for _ in range(3)] == ["at-1"] * 3
    assert len(stub.token_requests()) == 1


def test_token_endpoint_failure_raises_auth_error_without_secret(stub: StubServer, http: httpx.Client) -> None:
    secret = "wrong-secret-value-123"
    provider = PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=secret,
        http_client=http,
        authority_host=stub.base_url,
    )
    with pytest.raises(PartnerCenterAuthError) as caught:
        provider.token()
    error = caught.value
    assert error.error == "invalid_client"
    assert "AADSTS7000215: Invalid client secret provided" in error.description
    assert "AADSTS7000215" in str(error)
    # The stand-in echoed the secret back; it must not survive into any text.
    for text in (str(error), repr(error), error.description, str(error.args)):
        assert secret not in text


def test_refused_refresh_token(stub: StubServer, http: httpx.Client) -> None:
    provider = PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=stub.client_secret,
        refresh_token="revoked-refresh-token",
        http_client=http,
        authority_host=stub.base_url,
    )
    with pytest.raises(PartnerCenterAuthError) as caught:
        provider.token()
    assert caught.value.error == "invalid_grant"
    assert "revoked-refresh-token" not in str(caught.value)


def test_unreachable_authority_raises_auth_error(http: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on that port any more.
    provider = PartnerCenterTokenProvider(
        tenant_id="tenant",
        client_id="cid",
        client_secret="very-secret",
        http_client=http,
        authority_host=f"https://127.0.0.1:{port}",
    )
    with pytest.raises(PartnerCenterAuthError) as caught:
        provider.token()
    assert caught.value.error == "authority_unreachable"
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "very-secret" not in str(caught.value)


def test_unknown_tenant_raises_auth_error(stub: StubServer, http: httpx.Client) -> None:
    provider = PartnerCenterTokenProvider(
        tenant_id="no-such-tenant",
        client_id=stub.client_id,
        client_secret=stub.client_secret,
        http_client=http,
        authority_host=stub.base_url,
    )
    with pytest.raises(PartnerCenterAuthError) as caught:
        provider.token()
    assert caught.value.error == "invalid_authority"


def test_auth_error_surfaces_from_client_call_without_api_request(
    stub: StubServer, make_client: Callable[..., PartnerCenterClient]
) -> None:
    stub.token_failure = Reply(400, json={"error": "unauthorized_client", "error_description": "AADSTS700016: app"})
    client = make_client()
    with pytest.raises(PartnerCenterAuthError, match="AADSTS700016"):
        client.get_customer(CUSTOMER)
    assert stub.api_requests() == []


def test_401_invalidates_token_and_retries_once(stub: StubServer, client: PartnerCenterClient) -> None:
    path = f"/v1/customers/{CUSTOMER}"
    stub.script(
        "GET", path, Reply(401, json={"code": 800001, "description": "token expired"}), Reply(json={"id": CUSTOMER})
    )
    assert client.get_customer(CUSTOMER).id == CUSTOMER
    first, second = stub.api_requests()
    assert first.headers["authorization"] == "Bearer at-1"
    assert second.headers["authorization"] == "Bearer at-2"
    assert first.headers["ms-requestid"] == second.headers["ms-requestid"]
    assert len(stub.token_requests()) == 2

    stub.script("GET", path, *[Reply(401, json={"code": 800001, "description": "no"})] * 3)
    with pytest.raises(PartnerCenterError) as caught:
        client.get_customer(CUSTOMER)
    assert caught.value.status_code == 401 and caught.value.code == 800001
    assert len(stub.api_requests()) == 4  # one re-auth retry, then give up


def test_authorization_never_logged(
    stub: StubServer, client: PartnerCenterClient, caplog: pytest.LogCaptureFixture
) -> None:
    stub.route("GET", f"/v1/customers/{CUSTOMER}", lambda _: Reply(json={"id": CUSTOMER}))
    with caplog.at_level(logging.DEBUG):
        client.get_customer(CUSTOMER)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "at-1" not in text and stub.client_secret not in text


def test_authority_host_classification() -> None:
    assert is_microsoft_authority("https://login.microsoftonline.com")
    assert is_microsoft_authority("https://login.microsoftonline.us/")
    assert is_microsoft_authority("https://login.windows.net")
    assert is_microsoft_authority("login.microsoftonline.com")
    assert is_microsoft_authority("https://login.partner.microsoftonline.cn")
    assert is_microsoft_authority("https://login.chinacloudapi.cn")
    assert not is_microsoft_authority("https://127.0.0.1:8443")
    assert not is_microsoft_authority("https://login.microsoftonline.com.evil.example")
    assert scope_for_base_url("https://api.partnercenter.microsoft.com") == PARTNER_CENTER_SCOPE
    assert scope_for_base_url("https://partner.partnercenterapi.microsoftonline.cn") == PARTNER_CENTER_SCOPE_CHINA


def test_factory_builds_working_client_from_settings(stub: StubServer, ca_pem: str) -> None:
    settings = load_settings(
        {
            "PARTNER_CENTER_BASE_URL": stub.base_url,
            "PARTNER_CENTER_AUTHORITY": stub.base_url,
            "PARTNER_CENTER_TENANT_ID": stub.tenant_id,
            "PARTNER_CENTER_CLIENT_ID": stub.client_id,
            "PARTNER_CENTER_CLIENT_SECRET": stub.client_secret,
            "PARTNER_CENTER_REFRESH_TOKEN": "rt-1",
        }
    )
    stub.route("GET", f"/v1/customers/{CUSTOMER}", lambda _: Reply(json={"id": CUSTOMER}))
    records: list[object] = []
    with build_partner_center_client(settings, verify=ca_pem, on_call=records.append) as client:
        assert client.get_customer(CUSTOMER).id == CUSTOMER
    assert [t.body["grant_type"] for t in stub.token_requests()] == ["refresh_token"]
    assert len(records) == 1


def test_factory_rejects_missing_credentials() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError) as caught:
        build_partner_center_client(load_settings({"PARTNER_CENTER_CLIENT_SECRET": "x"}))
    assert caught.value.problems == [
        "PARTNER_CENTER_TENANT_ID: missing (required)",
        "PARTNER_CENTER_CLIENT_ID: missing (required)",
    ]


def test_factory_client_rejects_unknown_ca(stub: StubServer) -> None:
    settings = load_settings(
        {
            "PARTNER_CENTER_BASE_URL": stub.base_url,
            "PARTNER_CENTER_AUTHORITY": stub.base_url,
            "PARTNER_CENTER_TENANT_ID": stub.tenant_id,
            "PARTNER_CENTER_CLIENT_ID": stub.client_id,
            "PARTNER_CENTER_CLIENT_SECRET": stub.client_secret,
        }
    )
    # Default verification (system CAs) must refuse the stand-in's trustme certificate.
    with build_partner_center_client(settings) as client, pytest.raises(PartnerCenterAuthError) as caught:
        client.get_customer(CUSTOMER)
    # A TLS failure surfaces as an auth error naming the host, not as a crash.
    assert caught.value.error == "authority_unreachable"


def test_app_plus_user_client_fetches_one_token_for_many_calls(
    stub: StubServer, http: httpx.Client, make_client: Callable[..., PartnerCenterClient]
) -> None:
    provider = PartnerCenterTokenProvider(
        tenant_id=stub.tenant_id,
        client_id=stub.client_id,
        client_secret=SecretStr(stub.client_secret),
        refresh_token=SecretStr("rt-1"),
        http_client=http,
        authority_host=stub.base_url,
    )
    client = make_client(token_provider=provider)
    stub.route("GET", f"/v1/customers/{CUSTOMER}", lambda _: Reply(json={"id": CUSTOMER}))
    for _ in range(6):
        client.get_customer(CUSTOMER)

    (token_request,) = stub.token_requests()
    form = token_request.body
    assert (form["grant_type"], form["refresh_token"], form["client_id"]) == ("refresh_token", "rt-1", stub.client_id)
    assert PARTNER_CENTER_SCOPE in form["scope"].split()
    assert [r.headers["authorization"] for r in stub.api_requests()] == ["Bearer at-1"] * 6
