"""Partner Center error replies: ``{code, description, data, source: "PartnerFD"}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the sandbox answers with the documented Partner Center error JSON."""

    def __init__(self, status: int, code: int, description: str, data: list[Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {description}")
        self.status = status
        self.code = code
        self.description = description
        self.data = data or []

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "data": self.data, "source": "PartnerFD"}


def bad_request(description: str) -> ApiError:
    return ApiError(400, 800002, description)


def no_relationship(customer_id: str) -> ApiError:
    return ApiError(403, 20002, f"The partner does not have a commerce relationship with customer {customer_id}.")


def subscription_not_found(subscription_id: str) -> ApiError:
    return ApiError(404, 20003, f"Subscription {subscription_id} was not found.")
