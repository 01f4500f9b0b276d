"""Partner Center calls about NCE subscriptions after migration (SPEC §10): change (PATCH) and the coterm end-date
helper. A mixin of :class:`bot.partner_center.client.PartnerCenterClient`, kept apart so the client module does
not grow; it reuses the client's one logical-call path (ids, limiter, retries, logging)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.partner_center.limiter import SUBSCRIPTIONS
from bot.partner_center.models import CustomTermEndDate, Subscription, SubscriptionStatus

if TYPE_CHECKING:
    import httpx


class SubscriptionCalls:
    if TYPE_CHECKING:
        _partner_key: str

        def _call(
            self,
            endpoint: str,
            method: str,
            path: str,
            *,
            params: Mapping[str, str] | None = None,
            body: dict[str, Any] | None = None,
            headers: Mapping[str, str] | None = None,
            request_id: str | None = None,
            correlation_id: str | None = None,
            limit: tuple[str, str] | None = None,
        ) -> httpx.Response: ...

        def _paged(
            self,
            endpoint: str,
            path: str,
            params: dict[str, str],
            *,
            seek: bool = False,
            limit: tuple[str, str] | None = None,
        ) -> list[Any]: ...

        @staticmethod
        def _json(response: httpx.Response) -> Any: ...

    def patch_subscription(
        self,
        customer_id: str,
        current: Subscription,
        *,
        quantity: int | None = None,
        status: SubscriptionStatus | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Subscription:
        """``PATCH …/subscriptions/{id}`` with the FULL subscription resource as read (the API requires it), with
        the new total ``quantity`` and/or ``status`` (``deleted`` cancels)."""
        if quantity is None and status is None:
            raise ValueError("give quantity or status")
        body = current.to_api()
        if quantity is not None:
            body["quantity"] = quantity
        if status is not None:
            body["status"] = status.value
        response = self._call(
            "patch_subscription",
            "PATCH",
            f"/v1/customers/{quote(customer_id, safe='')}/subscriptions/{quote(current.id, safe='')}",
            body=body,
            request_id=request_id,
            correlation_id=correlation_id,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return Subscription.model_validate(self._json(response) or {"id": current.id})

    def custom_term_end_dates(
        self,
        customer_id: str,
        term_duration: str,
        *,
        term_start_date: date | None = None,
        target_coterm_subscription_id: str | None = None,
    ) -> list[CustomTermEndDate]:
        """The valid ``customTermEndDate`` values for a new term (at most 300 a page; pages followed)."""
        params = {"term_duration": term_duration}
        if term_start_date is not None:
            params["term_start_date"] = term_start_date.isoformat()
        if target_coterm_subscription_id:
            params["target_coterm_subscription_id"] = target_coterm_subscription_id
        items = self._paged(
            "custom_term_end_dates",
            f"/v1/customers/{quote(customer_id, safe='')}/subscriptions/customTermEndDates",
            params,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [CustomTermEndDate.model_validate(item) for item in items]
