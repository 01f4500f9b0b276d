"""Unmodified MSAL gets tokens from the sandbox over HTTPS; Partner Center routes insist on them."""

from __future__ import annotations

import httpx
import msal
import pytest
import requests

from sandbox import known
from sandbox.server import SandboxServer


def cca(server: SandboxServer, secret: str | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        server.client_id,
        client_credential=secret or server.client_secret,
        authority=f"{server.authority}/{server.tenant_id}",
        instance_discovery=False,
        http_client=httpx.Client(verify=server.ssl_context()),
    )


def test_app_only_token_via_msal(pc_sandbox: SandboxServer) -> None:
    app = cca(pc_sandbox)
    first = app.acquire_token_for_client(scopes=[known.PC_SCOPE])
    assert "access_token" in first, first
    assert app.acquire_token_for_client(scopes=[known.PC_SCOPE])["token_source"] == "cache"
    with httpx.Client(verify=pc_sandbox.ssl_context()) as http:
        reply = http.get(
            f"{pc_sandbox.base_url}/v1/customers/{known.CONTOSO}",
            headers={"Authorization": f"Bearer {first['access_token']}"},
        )
    assert reply.status_code == 200
    assert reply.json()["companyProfile"]["companyName"] == "Contoso Ltd"


def test_refresh_token_then_silent(pc_sandbox: SandboxServer) -> None:
    app = cca(pc_sandbox)
    result = app.acquire_token_by_refresh_token(pc_sandbox.refresh_token, scopes=[known.PC_SCOPE])
    assert "access_token" in result, result
    assert result["refresh_token"] != pc_sandbox.refresh_token
    accounts = app.get_accounts()
    assert accounts and accounts[0]["username"] == pc_sandbox.state.user_upn
    silent = app.acquire_token_silent([known.PC_SCOPE], account=accounts[0])
    assert silent is not None and silent["access_token"] == result["access_token"]
    with httpx.Client(verify=pc_sandbox.ssl_context()) as http:
        reply = http.get(
            f"{pc_sandbox.base_url}/v1/customers?size=1", headers={"Authorization": f"Bearer {silent['access_token']}"}
        )
    assert reply.status_code == 200 and len(reply.json()["items"]) == 1


def test_bad_refresh_token_and_wrong_secret(pc_sandbox: SandboxServer) -> None:
    bad_rt = cca(pc_sandbox).acquire_token_by_refresh_token("not-a-refresh-token", scopes=[known.PC_SCOPE])
    assert bad_rt["error"] == "invalid_grant"
    wrong = cca(pc_sandbox, secret="wrong-secret").acquire_token_for_client(scopes=[known.PC_SCOPE])
    assert wrong["error"] == "invalid_client"
    assert wrong["error_description"].startswith("AADSTS7000215: Invalid client secret provided")
    assert "wrong-secret" not in wrong["error_description"]


def test_partner_center_routes_need_a_sandbox_token(pc_sandbox: SandboxServer) -> None:
    graph = cca(pc_sandbox).acquire_token_for_client(scopes=["https://graph.windows.net/.default"])["access_token"]
    url = f"{pc_sandbox.base_url}/v1/customers/{known.CONTOSO}/subscriptions"
    with httpx.Client(verify=pc_sandbox.ssl_context()) as http:
        for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": f"Bearer {graph}"}):
            reply = http.get(url, headers=headers)
            assert reply.status_code == 401
            assert reply.json()["code"] == 800001 and reply.json()["source"] == "PartnerFD"
            assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        token = cca(pc_sandbox).acquire_token_for_client(scopes=[known.PC_SCOPE])["access_token"]
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert http.post(f"{pc_sandbox.base_url}/_sandbox/tokens/expire").json()["expired"] >= 1
        assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_openid_configuration(pc_sandbox: SandboxServer) -> None:
    with httpx.Client(verify=pc_sandbox.ssl_context()) as http:
        config = http.get(f"{pc_sandbox.authority}/{pc_sandbox.tenant_id}/v2.0/.well-known/openid-configuration")
        unknown = http.get(f"{pc_sandbox.authority}/{known.UNKNOWN_CUSTOMER}/v2.0/.well-known/openid-configuration")
    body = config.json()
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "device_authorization_endpoint"):
        assert body[key].startswith(pc_sandbox.authority)
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_tenant"


def test_msal_default_http_client_trusts_the_exported_bundle(
    pc_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing but the printed settings: MSAL's own (requests) HTTP client, REQUESTS_CA_BUNDLE, the authority."""
    env = pc_sandbox.client_env()
    authority = f"{env['PARTNER_CENTER_AUTHORITY']}/{env['PARTNER_CENTER_TENANT_ID']}"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):  # HTTPS is real: the sandbox CA is not trusted by default
        msal.ConfidentialClientApplication(
            env["PARTNER_CENTER_CLIENT_ID"],
            client_credential=env["PARTNER_CENTER_CLIENT_SECRET"],
            authority=authority,
            instance_discovery=False,
        ).acquire_token_for_client(scopes=[known.PC_SCOPE])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
    app = msal.ConfidentialClientApplication(
        env["PARTNER_CENTER_CLIENT_ID"],
        client_credential=env["PARTNER_CENTER_CLIENT_SECRET"],
        authority=authority,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[known.PC_SCOPE])
    assert "access_token" in result, result
    user = app.acquire_token_by_refresh_token(pc_sandbox.refresh_token, scopes=[known.PC_SCOPE])
    assert "access_token" in user, user
    with httpx.Client(verify=pc_sandbox.ssl_context()) as http:
        url = f"{env['PARTNER_CENTER_BASE_URL']}/v1/customers"
        for token in (result["access_token"], user["access_token"]):
            assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        wrong = http.get(
            f"{env['PARTNER_CENTER_BASE_URL']}/v1/customers",
            headers={"Authorization": f"Bearer {result['access_token']}x"},
        )
    assert wrong.status_code == 401
    assert set(wrong.json()) == {"code", "description", "data", "source"}
