"""Errors raised by the Partner Center layer. Each carries what a support case needs."""

from __future__ import annotations

from typing import Any


class PartnerCenterError(Exception):
    """A Partner Center call failed with an answer: HTTP status plus the API's ``{code, description}``."""

    def __init__(
        self,
        description: str,
        *,
        status_code: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        data: list[Any] | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.data = data or []
        self.source = source

    def __str__(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(f"Partner Center error {self.code}: {self.description}")
        else:
            parts.append(f"Partner Center error: {self.description}")
        if self.status_code is not None:
            parts.append(f"(HTTP {self.status_code})")
        return " ".join(parts)


class PartnerCenterAuthError(PartnerCenterError):
    """No token: Entra ID refused or could not be reached. ``description`` is MSAL's ``error_description``."""

    def __init__(self, description: str, *, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.error = error

    def __str__(self) -> str:
        head = f"Partner Center sign-in failed ({self.error})" if self.error else "Partner Center sign-in failed"
        return f"{head}: {self.description}"


class PartnerCenterUnavailable(PartnerCenterError):
    """Retries ran out: throttled, 5xx, timeouts or connection errors for longer than the retry budget.

    The same ``request_id`` may be retried later: Partner Center treats it as the same logical call.
    """


def is_transient(exc: PartnerCenterError) -> bool:
    """Worth trying again later with the same ``MS-RequestId`` (Partner Center down, sign-in failing, throttling,
    408, 5xx); anything else is Partner Center's answer to the request itself."""
    return isinstance(exc, PartnerCenterUnavailable | PartnerCenterAuthError) or (
        exc.status_code is None or exc.status_code in (408, 429) or exc.status_code >= 500)
