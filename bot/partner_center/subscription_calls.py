"""Partner Center calls about customers and their subscriptions: list and read customers, subscriptions and
add-ons, and after migration (SPEC §10) change an NCE subscription (PATCH) and read the coterm end dates."""

from __future__ import annotations

from datetime import date

from bot.operations import OperationKind
from bot.partner_center.limiter import SUBSCRIPTIONS
from bot.partner_center.models import Customer, CustomTermEndDate, Subscription, SubscriptionStatus
from bot.partner_center.transport import CallCore, parse_item
from bot.partner_center.transport import quote_segment as _q


class SubscriptionCalls(CallCore):
    """Customers, subscriptions and add-ons; PATCH of an NCE subscription; coterm end dates."""

    def list_customers(self, *, page_size: int = 500) -> list[Customer]:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        items = self._paged("list_customers", "/v1/customers", {"size": str(page_size)}, seek=True)
        return [parse_item(Customer, item) for item in items]

    def get_customer(self, customer_id: str) -> Customer:
        response = self._call("get_customer", "GET", f"/v1/customers/{_q(customer_id)}")
        return self._model(Customer, response)

    def list_subscriptions(self, customer_id: str) -> list[Subscription]:
        items = self._paged(
            "list_subscriptions",
            f"/v1/customers/{_q(customer_id)}/subscriptions",
            {},
            seek=True,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [parse_item(Subscription, item) for item in items]

    def get_subscription(self, customer_id: str, subscription_id: str) -> Subscription:
        response = self._call(
            "get_subscription",
            "GET",
            f"/v1/customers/{_q(customer_id)}/subscriptions/{_q(subscription_id)}",
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return self._model(Subscription, response)

    def list_addons(self, customer_id: str, subscription_id: str) -> list[Subscription]:
        items = self._paged(
            "list_addons",
            f"/v1/customers/{_q(customer_id)}/subscriptions/{_q(subscription_id)}/addons",
            {},
            seek=True,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [parse_item(Subscription, item) for item in items]

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
            OperationKind.PATCH_SUBSCRIPTION,
            "PATCH",
            f"/v1/customers/{_q(customer_id)}/subscriptions/{_q(current.id)}",
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
            f"/v1/customers/{_q(customer_id)}/subscriptions/customTermEndDates",
            params,
            limit=(SUBSCRIPTIONS, self._partner_key),
        )
        return [CustomTermEndDate.model_validate(item) for item in items]
