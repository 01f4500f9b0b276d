"""Partner Center layer: typed REST client, MSAL token provider, rate limiter and retry policy."""

from bot.partner_center.api import PartnerCenterApi
from bot.partner_center.auth import (
    PARTNER_CENTER_SCOPE,
    PARTNER_CENTER_SCOPE_CHINA,
    PartnerCenterTokenProvider,
    TokenProvider,
    scope_for_base_url,
)
from bot.partner_center.client import CallRecord, PartnerCenterClient, build_partner_center_client
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.limiter import Limit, RateLimiter, RateLimits
from bot.partner_center.retry import RetryPolicy, parse_retry_after

__all__ = [
    "PARTNER_CENTER_SCOPE",
    "PARTNER_CENTER_SCOPE_CHINA",
    "CallRecord",
    "Limit",
    "PartnerCenterApi",
    "PartnerCenterAuthError",
    "PartnerCenterClient",
    "PartnerCenterError",
    "PartnerCenterTokenProvider",
    "PartnerCenterUnavailable",
    "RateLimiter",
    "RateLimits",
    "RetryPolicy",
    "TokenProvider",
    "build_partner_center_client",
    "parse_retry_after",
    "scope_for_base_url",
]
