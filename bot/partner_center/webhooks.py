"""Shapes of the Partner Center webhook registration API (``/webhooks/v1/registration``, SPEC §11).

The API answers PascalCase (``WebhookUrl``) where the migration API answers camelCase, so these are read
case-insensitively by hand rather than with the migration models' camelCase aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REGISTRATION_PATH = "/webhooks/v1/registration"


def _lower_keys(data: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class WebhookRegistration:
    """The partner tenant's one registration: where Partner Center posts, and which events."""

    url: str
    events: tuple[str, ...]
    subscriber_id: str | None = None
    last_modified: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, data: Any) -> WebhookRegistration:
        values = _lower_keys(data)
        events = values.get("webhookevents") or []
        return cls(
            url=str(values.get("webhookurl") or ""),
            events=tuple(str(e) for e in events if isinstance(e, str)),
            subscriber_id=str(values["subscriberid"]) if values.get("subscriberid") else None,
            last_modified=str(values["lastmodifiedtimestamp"]) if values.get("lastmodifiedtimestamp") else None,
            raw=dict(data) if isinstance(data, dict) else {},
        )


@dataclass(frozen=True)
class ValidationResult:
    """``GET …/validationEvents/{correlationId}``: the status of a test delivery and Partner Center's results."""

    correlation_id: str
    status: str
    callback_url: str | None
    results: tuple[dict[str, Any], ...]

    @classmethod
    def parse(cls, correlation_id: str, data: Any) -> ValidationResult:
        values = _lower_keys(data)
        results = values.get("results") or []
        return cls(
            correlation_id=correlation_id,
            status=str(values.get("status") or "unknown"),
            callback_url=str(values["callbackurl"]) if values.get("callbackurl") else None,
            results=tuple(_lower_keys(r) for r in results if isinstance(r, dict)),
        )
