"""Entra ID (Azure AD v2) stand-in: just enough OpenID discovery and token endpoint for unmodified MSAL.

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``
- ``POST /{tenant}/oauth2/v2.0/token``: client_credentials, refresh_token (App+User; answers a new refresh token,
  an id_token and client_info so MSAL creates an account and ``acquire_token_silent`` works), device_code.
- ``POST /{tenant}/oauth2/v2.0/devicecode``: device flow, approved at once.

Access tokens are opaque, valid for ``token_lifetime_seconds`` of REAL time (advancing the sandbox clock does not
expire them, so lifecycle tests do not break token caches).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.state import PC_AUDIENCE, SandboxState, TokenInfo

RESERVED_SCOPES = {"openid", "profile", "offline_access"}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _root(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": error,
            "error_description": description,
            "error_codes": [int(description[6:].split(":")[0])] if description.startswith("AADSTS") else [],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": secrets.token_hex(16),
            "correlation_id": secrets.token_hex(16),
        },
        status_code=status,
    )


def _unknown_tenant(state: SandboxState, tenant: str) -> JSONResponse | None:
    """The error for a tenant other than the sandbox's own (or ``organizations``/``common``), else None."""
    if tenant.lower() in {state.tenant_id, "organizations", "common"}:
        return None
    return _oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")


def build_routes(state: SandboxState) -> list[Route]:
    async def openid_configuration(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if (unknown := _unknown_tenant(state, tenant)) is not None:
            return unknown
        root = f"{_root(request)}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{_root(request)}/{state.tenant_id}/v2.0",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "userinfo_endpoint": f"{root}/openid/userinfo",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "oid", "preferred_username", "tid"],
                "request_uri_parameter_supported": False,
                "tenant_region_scope": "WW",
                "cloud_instance_name": "sandbox.local",
            }
        )

    def issue(request: Request, tenant: str, scopes: list[str], user: bool) -> dict[str, Any]:
        resource_scopes = [s for s in scopes if s not in RESERVED_SCOPES] or [f"{PC_AUDIENCE}/.default"]
        audience = resource_scopes[0].rsplit("/", 1)[0] if "/" in resource_scopes[0] else resource_scopes[0]
        token = "sbx." + secrets.token_urlsafe(32)
        with state.lock:
            state.tokens[token] = TokenInfo(time.time() + state.token_lifetime, audience)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": state.token_lifetime,
            "ext_expires_in": state.token_lifetime,
            "access_token": token,
        }
        if user:
            now = int(time.time())
            refresh = "sbx-rt." + secrets.token_urlsafe(32)
            with state.lock:
                state.refresh_tokens.add(refresh)
            claims = {
                "aud": state.client_id,
                "iss": f"{_root(request)}/{state.tenant_id}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + state.token_lifetime,
                "name": state.user_name,
                "oid": state.user_oid,
                "preferred_username": state.user_upn,
                "sub": state.user_oid,
                "tid": state.tenant_id,
                "ver": "2.0",
            }
            body.update(
                {
                    "scope": " ".join(resource_scopes),
                    "refresh_token": refresh,
                    "id_token": f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.",
                    "client_info": _b64({"uid": state.user_oid, "utid": state.tenant_id}),
                }
            )
        return body

    async def token(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if (unknown := _unknown_tenant(state, tenant)) is not None:
            return unknown
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        scopes = form.get("scope", "").split()
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if secret is None and auth.lower().startswith("basic "):
            try:
                client_id, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
            except ValueError:
                secret = ""
        if client_id.lower() != state.client_id:
            return _oauth_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                f"'{state.tenant_id}'.",
            )
        if grant == DEVICE_GRANT:
            with state.lock:
                known = state.device_codes.pop(form.get("device_code", ""), None)
            if known is None or known < time.time():
                return _oauth_error(400, "expired_token", "AADSTS70020: The provided device code has expired.")
            return JSONResponse(issue(request, tenant, scopes, user=True))
        if secret is None:
            return _oauth_error(
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        if not secrets.compare_digest(secret.encode(), state.client_secret.encode()):
            return _oauth_error(
                401,
                "invalid_client",
                f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
                f"client secret value, not the client secret ID, for a secret added to app '{state.client_id}'.",
            )
        if grant == "client_credentials":
            if not scopes or not all(s.endswith("/.default") for s in scopes):
                return _oauth_error(
                    400,
                    "invalid_scope",
                    "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a "
                    "scope value with /.default suffixed to the resource identifier (application ID URI).",
                )
            return JSONResponse(issue(request, tenant, scopes, user=False))
        if grant == "refresh_token":
            with state.lock:
                valid = form.get("refresh_token", "") in state.refresh_tokens
            if not valid:
                return _oauth_error(
                    400, "invalid_grant", "AADSTS70000: The provided refresh token is invalid or has expired."
                )
            return JSONResponse(issue(request, tenant, scopes, user=True))
        return _oauth_error(
            400, "unsupported_grant_type", f"AADSTS70003: The app requested an unsupported grant type '{grant}'."
        )

    async def devicecode(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if (unknown := _unknown_tenant(state, tenant)) is not None:
            return unknown
        code = secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        with state.lock:
            state.device_codes[code] = time.time() + 900
        verification = f"{_root(request)}/devicelogin"
        return JSONResponse(
            {
                "device_code": code,
                "user_code": user_code,
                "verification_uri": verification,
                "expires_in": 900,
                "interval": 1,
                "message": f"Sandbox: the code {user_code} is approved automatically (no sign-in needed at "
                f"{verification}).",
            }
        )

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
    ]
