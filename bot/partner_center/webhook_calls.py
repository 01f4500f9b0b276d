"""Partner Center calls of the webhook registration API (``/webhooks/v1/registration``, SPEC §11)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.transport import CallCore
from bot.partner_center.transport import quote_segment as _q
from bot.partner_center.webhooks import REGISTRATION_PATH, ValidationResult, WebhookRegistration


class WebhookCalls(CallCore):
    """The partner's webhook registration (SPEC §11)."""

    def get_webhook_registration(self) -> WebhookRegistration | None:
        """The partner's registration, None when there is none (404)."""
        try:
            response = self._call("get_webhook_registration", "GET", REGISTRATION_PATH)
        except PartnerCenterError as exc:
            if exc.status_code == 404:
                return None
            raise
        return WebhookRegistration.parse(self._json(response))

    def save_webhook_registration(self, url: str, events: Sequence[str], *, create: bool) -> WebhookRegistration:
        """POST a new registration (``create``) or PUT over the existing one."""
        response = self._call("create_webhook_registration" if create else "update_webhook_registration",
                              "POST" if create else "PUT", REGISTRATION_PATH,
                              body={"WebhookUrl": url, "WebhookEvents": list(events)})
        return WebhookRegistration.parse(self._json(response))

    def webhook_events(self) -> list[str]:
        response = self._call("webhook_events", "GET", REGISTRATION_PATH + "/events")
        return [str(e) for e in self._page(response).items]

    def send_webhook_validation(self) -> str:
        """Ask Partner Center to send a test event; its correlation id."""
        response = self._call("webhook_validation", "POST", REGISTRATION_PATH + "/validationEvents")
        body = self._json(response)
        found = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        return str(found.get("correlationid") or "")

    def webhook_validation_status(self, correlation_id: str) -> ValidationResult:
        response = self._call("webhook_validation_status", "GET",
                              f"{REGISTRATION_PATH}/validationEvents/{_q(correlation_id)}")
        return ValidationResult.parse(correlation_id, self._json(response))
