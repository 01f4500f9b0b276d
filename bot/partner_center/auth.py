"""Entra ID tokens for Partner Center through MSAL (App-only or App+User).

One ``msal.ConfidentialClientApplication`` per provider, built on first use (its construction already talks to
the authority) and reused, so MSAL's token cache serves repeated calls. MSAL's HTTP goes through the project's
``httpx.Client``. MSAL reports failures as dicts; they become :class:`PartnerCenterAuthError` with MSAL's
``error`` and ``error_description``, scrubbed of the client secret and refresh token.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
import msal
from pydantic import SecretStr

from bot.partner_center.errors import PartnerCenterAuthError

PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"
# Partner Center operated by 21Vianet: tokens must carry its own audience.
PARTNER_CENTER_SCOPE_CHINA = "https://partner.partnercenterapi.microsoftonline.cn/.default"
CHINA_API_HOST = "partner.partnercenterapi.microsoftonline.cn"

MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "login.microsoftonline.us",
        "login-us.microsoftonline.com",
        "login.usgovcloudapi.net",
        "login.microsoftonline.cn",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)


@runtime_checkable
class TokenProvider(Protocol):
    """What the client needs: a bearer token. Providers may also offer ``invalidate()`` for a 401 retry."""

    def token(self) -> str: ...


def scope_for_base_url(base_url: str) -> str:
    """The ``.default`` scope matching a Partner Center REST root (global/US Gov or 21Vianet)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return PARTNER_CENTER_SCOPE_CHINA if host == CHINA_API_HOST else PARTNER_CENTER_SCOPE


def is_microsoft_authority(authority_host: str) -> bool:
    host = (urlsplit(authority_host).hostname or authority_host).lower()
    return host in MICROSOFT_AUTHORITY_HOSTS


def _reveal(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


class PartnerCenterTokenProvider:
    """Bearer tokens for Partner Center. Thread-safe; ``token()`` is cheap once the cache is warm.

    App-only when ``refresh_token`` is ``None`` (client credentials); otherwise App+User: the stored refresh
    token is redeemed once, then ``acquire_token_silent`` with the resulting account (MSAL keeps the rotated
    refresh token in its cache).
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | SecretStr,
        http_client: httpx.Client,
        authority_host: str = "https://login.microsoftonline.com",
        scope: str = PARTNER_CENTER_SCOPE,
        refresh_token: str | SecretStr | None = None,
        token_cache: msal.TokenCache | None = None,
    ) -> None:
        if not tenant_id or not client_id:
            raise ValueError("tenant_id and client_id are required")
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._secret = _reveal(client_secret) or ""
        self._refresh_token = _reveal(refresh_token)
        self._http = http_client
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._authority_host = authority_host
        self._scopes = [scope]
        self._cache = token_cache if token_cache is not None else msal.TokenCache()
        self._app: msal.ConfidentialClientApplication | None = None
        self._account: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def app_plus_user(self) -> bool:
        return self._refresh_token is not None

    def token(self) -> str:
        with self._lock:
            try:
                app = self._application()
                result = self._acquire(app)
            except httpx.HTTPError as exc:
                # Connection refused, TLS failure, timeout: name the host and the failure kind, nothing more.
                raise PartnerCenterAuthError(
                    f"could not reach the Entra ID authority {urlsplit(self._authority).netloc}: {type(exc).__name__}",
                    error="authority_unreachable",
                ) from None
            except ValueError as exc:
                # MSAL raises ValueError when the authority's OpenID configuration cannot be read.
                raise PartnerCenterAuthError(self._scrub(str(exc)), error="invalid_authority") from None
        if result is None or "access_token" not in result:
            result = result or {}
            error = str(result.get("error") or "no_token")
            description = str(result.get("error_description") or "Entra ID returned no access token")
            raise PartnerCenterAuthError(self._scrub(description), error=error)
        return str(result["access_token"])

    def invalidate(self) -> None:
        """Drop cached access tokens so the next ``token()`` fetches a fresh one (after a 401)."""
        with self._lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(item)

    # --- internals -------------------------------------------------------------------------------------

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            kwargs: dict[str, Any] = {}
            if not is_microsoft_authority(self._authority_host):
                # A non-Microsoft host (a stand-in, a proxy) is unknown to Microsoft's instance discovery.
                kwargs["instance_discovery"] = False
            self._app = msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._secret,
                authority=self._authority,
                token_cache=self._cache,
                http_client=self._http,
                **kwargs,
            )
        return self._app

    def _acquire(self, app: msal.ConfidentialClientApplication) -> dict[str, Any] | None:
        if self._refresh_token is None:
            return app.acquire_token_for_client(scopes=self._scopes)  # type: ignore[no-any-return]
        if self._account is None:
            accounts = app.get_accounts()
            if accounts:
                self._account = accounts[0]
        if self._account is not None:
            result = app.acquire_token_silent_with_error(self._scopes, account=self._account)
            if result is not None:
                # A token, or MSAL's error from refreshing with the cached refresh token (e.g. invalid_grant).
                return result  # type: ignore[no-any-return]
        # First use, or the cached refresh token is gone: redeem the configured one.
        result = app.acquire_token_by_refresh_token(self._refresh_token, scopes=self._scopes)
        if result and "access_token" in result:
            accounts = app.get_accounts()
            self._account = accounts[0] if accounts else None
        return result  # type: ignore[no-any-return]

    def _scrub(self, text: str) -> str:
        for secret in (self._secret, self._refresh_token):
            if secret:
                text = text.replace(secret, "***")
        return text
