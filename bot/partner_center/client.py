"""Synchronous Partner Center REST client for the NCE migration endpoints, customers, subscriptions and webhooks.

:class:`PartnerCenterClient` is the endpoint groups put together; each group lives in its own module and reuses
the one logical-call path of :class:`bot.partner_center.transport.CallCore` (ids, limiter, retries, logging,
paging). Importers keep using this module: ``PartnerCenterClient``, ``build_partner_center_client``,
``CallRecord`` and ``tls_verify`` are all here.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from bot.partner_center.api import PartnerCenterApi
from bot.partner_center.auth import PartnerCenterTokenProvider, scope_for_base_url
from bot.partner_center.limiter import Limit, RateLimiter, RateLimits
from bot.partner_center.migration_calls import MigrationCalls, ScheduleCalls
from bot.partner_center.subscription_calls import SubscriptionCalls
from bot.partner_center.transport import CallRecord
from bot.partner_center.webhook_calls import WebhookCalls

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["CallRecord", "PartnerCenterClient", "build_partner_center_client", "tls_verify"]


class PartnerCenterClient(MigrationCalls, ScheduleCalls, SubscriptionCalls, WebhookCalls):
    """Typed Partner Center calls. Thread-safe as long as ``http`` and ``token_provider`` are."""


def tls_verify(verify: str | bool | None) -> ssl.SSLContext | bool:
    """httpx ``verify=`` from a CA bundle path or a bool (httpx 0.28 deprecates a path; an SSLContext is the form)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return True if verify is None else verify


def build_partner_center_client(
    settings: Settings,
    *,
    http: httpx.Client | None = None,
    verify: str | bool | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
) -> PartnerCenterClient:
    """A client for the real Partner Center (or any stand-in at ``PARTNER_CENTER_BASE_URL``) from settings.

    App+User when ``PARTNER_CENTER_REFRESH_TOKEN`` is set, App-only otherwise. ``verify``: CA bundle path or
    bool for the httpx client built here (ignored when ``http`` is given). Raises ``SettingsError`` naming any
    missing credential.
    """
    from bot.settings import SettingsError

    missing = settings.missing_partner_center_credentials()
    if missing:
        raise SettingsError([f"{name}: missing (required)" for name in missing])
    assert settings.partner_center_tenant_id and settings.partner_center_client_id
    assert settings.partner_center_client_secret is not None
    owns_http = http is None
    if http is None:
        http = httpx.Client(
            timeout=httpx.Timeout(60.0, connect=10.0),
            verify=tls_verify(verify),
            headers={"User-Agent": "ncebot"},
        )
    tokens = PartnerCenterTokenProvider(
        tenant_id=settings.partner_center_tenant_id,
        client_id=settings.partner_center_client_id,
        client_secret=settings.partner_center_client_secret,
        refresh_token=settings.partner_center_refresh_token,
        http_client=http,
        authority_host=settings.partner_center_authority,
        scope=scope_for_base_url(settings.partner_center_base_url),
    )
    client = PartnerCenterClient(
        base_url=settings.partner_center_base_url,
        token_provider=tokens,
        http=http,
        # PARTNER_CENTER_CREATE_LIMIT / _VALIDATE_LIMIT (SPEC §3): Microsoft's documented limits unless changed.
        limiter=RateLimiter(RateLimits(
            validate=Limit(settings.validate_limit.calls, settings.validate_limit.window),
            create=Limit(settings.create_limit.calls, settings.create_limit.window),
        )),
        on_call=on_call,
        # Limits counted per partner tenant; one process serves one partner.
        partner_key=settings.partner_center_tenant_id,
    )
    client._owns_http = owns_http
    return client


def _satisfies_api(client: PartnerCenterClient) -> PartnerCenterApi:
    """Never called: mypy checks here that the client has every method of the Protocol, signatures included."""
    return client
