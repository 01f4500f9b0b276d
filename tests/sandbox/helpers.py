"""Plain-httpx helpers for the sandbox tests (the project's own Partner Center client is tested elsewhere)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from sandbox.known import PC_SCOPE
from sandbox.server import SandboxServer


def app_token(server: SandboxServer) -> str:
    """An App-only token from the sandbox token endpoint (MSAL itself is exercised in test_auth)."""
    with httpx.Client(verify=server.ssl_context()) as http:
        reply = http.post(
            f"{server.authority}/{server.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": server.client_id,
                "client_secret": server.client_secret,
                "scope": PC_SCOPE,
            },
        )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def pc_client(server: SandboxServer, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        verify=server.ssl_context(),
        timeout=timeout,
        headers={"Authorization": f"Bearer {app_token(server)}", "Accept": "application/json"},
    )


def admin(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, verify=server.ssl_context(), timeout=10.0)


def rid() -> dict[str, str]:
    return {"MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": str(uuid.uuid4())}


def mig(customer: str) -> str:
    return f"/v1/customers/{customer}/migrations/newcommerce"


def shape(value: Any) -> str:
    """JSON type name, for comparing shapes with the documented examples."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
