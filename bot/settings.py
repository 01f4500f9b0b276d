"""Settings of SPEC §3, from the environment and ``.env``.

``load_settings()`` turns every problem into one line naming the variable, and never echoes a secret's
value. ``ncebot`` prints those lines and exits with code 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FIELDS = frozenset(
    {
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "partner_center_client_secret",
        "partner_center_refresh_token",
    }
)

_PRINCIPAL = re.compile(r"^[US][A-Z0-9]+$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]+$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.ASCII)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SettingsError(Exception):
    """Start-up configuration problems, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``24h``, ``90m``, ``3600`` (seconds), ``2d`` → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError("expected a duration such as 24h, 90m, 2d or a number of seconds")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class RateLimit:
    """``calls`` in any sliding window of ``window`` seconds."""

    calls: int
    window: float


def parse_rate_limit(value: str) -> RateLimit:
    """``100/300s``, ``450/5m``, ``100/300`` → RateLimit(count, window seconds)."""
    count, sep, window = value.strip().partition("/")
    if not sep or not count.strip().isascii() or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"expected N/W such as 100/300s (N calls per W), got {value!r}")
    seconds = parse_duration(window).total_seconds()
    if seconds <= 0:
        raise ValueError(f"expected N/W with a window longer than zero, got {value!r}")
    return RateLimit(int(count), seconds)


def _split_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    else:
        items = [part.strip() for part in str(value).split(",")]
    return [item for item in items if item]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (logged at start-up)
    database_url: str = "sqlite:///./ncebot.db"

    partner_center_base_url: str = "https://api.partnercenter.microsoft.com"
    partner_center_authority: str = "https://login.microsoftonline.com"
    partner_center_tenant_id: str | None = None
    partner_center_client_id: str | None = None
    partner_center_client_secret: SecretStr | None = None
    partner_center_refresh_token: SecretStr | None = None
    partner_center_sandbox: bool = False

    ncebot_approval_channel: str | None = None
    # NoDecode-free: kept as raw strings and split by the validators below so "U1,U2" works from env.
    ncebot_approvers: str = ""
    ncebot_requesters: str = ""
    ncebot_required_approvals: int = Field(default=1, ge=1, le=20)
    ncebot_allow_self_approval: bool = False
    ncebot_approval_ttl: timedelta = timedelta(hours=24)
    ncebot_poll_interval: int = Field(default=300, ge=1)
    ncebot_notify_channel: str | None = None

    # SPEC §3 (campaigns, deadlines, webhooks). Limits are "N/W" with W a duration (300s, 5m): Microsoft's
    # documented limits by default, settings so operators can follow Microsoft when they change.
    partner_center_create_limit: str = "100/300s"
    partner_center_validate_limit: str = "450/300s"
    ncebot_digest_time: str = "09:00"  # UTC HH:MM, or "off"
    ncebot_digest_days: int = Field(default=30, ge=1, le=366)
    ncebot_reconcile_interval: int = Field(default=3600, ge=1)
    partner_center_webhook_cert_hosts: str = "3psostorageacct.blob.core.windows.net,www.microsoft.com"
    ncebot_public_url: str | None = None

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "partner_center_tenant_id",
        "partner_center_client_id",
        "partner_center_client_secret",
        "partner_center_refresh_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `PARTNER_CENTER_REFRESH_TOKEN=` in a .env means "not set": it must not switch on App+User with an
        # empty token, nor count as a present secret.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        if isinstance(raw, str) and not isinstance(value, SecretStr):
            return raw.strip()
        return value

    @field_validator("ncebot_approval_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> timedelta:
        ttl = parse_duration(value)
        if ttl <= timedelta(0):
            raise ValueError("must be longer than zero")
        return ttl

    @field_validator("partner_center_create_limit", "partner_center_validate_limit", mode="before")
    @classmethod
    def _rate_limit(cls, value: Any) -> str:
        parse_rate_limit(str(value))
        return str(value).strip()

    @field_validator("ncebot_digest_time", mode="before")
    @classmethod
    def _digest_time(cls, value: Any) -> str:
        text = str(value).strip().lower()
        if text == "off":
            return text
        match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", text)
        if not match:
            raise ValueError(f"expected a UTC time HH:MM such as 09:00, or off, got {value!r}")
        return text

    @field_validator("partner_center_webhook_cert_hosts", mode="before")
    @classmethod
    def _cert_hosts(cls, value: Any) -> str:
        hosts = _split_ids(value)
        bad = [h for h in hosts if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", h)]
        if bad:
            raise ValueError(f"expected a comma list of host or host:port, got {', '.join(bad)}")
        return ",".join(h.lower() for h in hosts)

    @field_validator("ncebot_public_url", mode="before")
    @classmethod
    def _public_url(cls, value: Any) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        text = str(value).strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", text):
            raise ValueError(f"expected the https base URL of this deployment, got {text!r}")
        return text

    @field_validator("ncebot_approvers", "ncebot_requesters", mode="before")
    @classmethod
    def _principals(cls, value: Any) -> str:
        ids = _split_ids(value)
        bad = [item for item in ids if not _PRINCIPAL.match(item)]
        if bad:
            raise ValueError(
                f"expected Slack user ids (U…) or user-group ids (S…), got {', '.join(bad)}"
            )
        return ",".join(ids)

    @field_validator("ncebot_approval_channel", "ncebot_notify_channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> str | None:
        if value is None or str(value).strip() == "":
            return None
        value = str(value).strip()
        if not _CHANNEL.match(value):
            raise ValueError(f"expected a Slack channel id such as C0123ABCD, got {value!r}")
        return value

    @field_validator("slack_api_url", "partner_center_base_url", "partner_center_authority")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @model_validator(mode="after")
    def _self_consistent(self) -> Settings:
        if self.ncebot_required_approvals > 1 and self.approvers and not any(
            p.startswith("S") for p in self.approvers
        ) and len(self.approvers) < self.ncebot_required_approvals:
            raise ValueError(
                "NCEBOT_REQUIRED_APPROVALS is larger than the number of users in NCEBOT_APPROVERS"
            )
        return self

    # --- derived views -----------------------------------------------------------------------------------

    @property
    def approvers(self) -> list[str]:
        return _split_ids(self.ncebot_approvers)

    @property
    def requesters(self) -> list[str]:
        """Empty list: everyone may request."""
        return _split_ids(self.ncebot_requesters)

    @property
    def notify_channel(self) -> str | None:
        return self.ncebot_notify_channel or self.ncebot_approval_channel

    @property
    def create_limit(self) -> RateLimit:
        return parse_rate_limit(self.partner_center_create_limit)

    @property
    def validate_limit(self) -> RateLimit:
        return parse_rate_limit(self.partner_center_validate_limit)

    @property
    def digest_time(self) -> time | None:
        """UTC time of the daily renewal digest; None when ``off``."""
        if self.ncebot_digest_time == "off":
            return None
        hours, minutes = self.ncebot_digest_time.split(":")
        return time(int(hours), int(minutes))

    @property
    def webhook_cert_hosts(self) -> list[str]:
        return _split_ids(self.partner_center_webhook_cert_hosts)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def app_plus_user(self) -> bool:
        return self.partner_center_refresh_token is not None

    def missing_partner_center_credentials(self) -> list[str]:
        """Names of the app-registration values that are not set (all three are needed to get a token)."""
        credentials = {
            "PARTNER_CENTER_TENANT_ID": self.partner_center_tenant_id,
            "PARTNER_CENTER_CLIENT_ID": self.partner_center_client_id,
            "PARTNER_CENTER_CLIENT_SECRET": self.partner_center_client_secret,
        }
        return [name for name, value in credentials.items() if not _is_set(value)]

    def missing_for_run(self) -> list[str]:
        """Problems that stop ``ncebot run`` (and ``doctor``): required values that are absent."""
        required = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "NCEBOT_APPROVAL_CHANNEL": self.ncebot_approval_channel,
            "NCEBOT_APPROVERS": self.ncebot_approvers or None,
        }
        if not self.socket_mode:
            required["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        missing = [name for name, value in required.items() if not _is_set(value)]
        if not self.partner_center_sandbox:
            missing += self.missing_partner_center_credentials()
        return [f"{name}: missing (required)" for name in missing]


def _is_set(value: str | SecretStr | None) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and bool(value.strip())


def _problem_line(error: Mapping[str, Any]) -> str:
    location = error.get("loc") or ()
    field = str(location[0]) if location else "settings"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if field == "settings" or not location:
        return message
    return f"{field.upper()}: {message}"


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: str | None = ".env", require_run: bool = False
) -> Settings:
    """Read settings; raise :class:`SettingsError` listing every problem (secrets never echoed).

    ``env``: use this mapping instead of the process environment (tests). ``require_run``: also demand what
    ``ncebot run`` needs.
    """
    values: dict[str, Any] = {}
    if env is not None:
        lowered = {key.lower(): value for key, value in env.items()}
        values = {k: v for k, v in lowered.items() if k in Settings.model_fields}

    def build(overrides: Mapping[str, Any]) -> Settings:
        if env is not None:
            return Settings(_env_file=None, **{**values, **overrides})
        # Keyword arguments win over the environment and .env.
        return Settings(_env_file=env_file, **overrides)

    try:
        settings = build({})
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        problems = [_problem_line(e) for e in errors]
        if require_run:
            # Report what is missing too, so one run lists every problem: re-read with the bad values unset.
            bad = {str(e["loc"][0]) for e in errors if e.get("loc")}
            try:
                rest = build({name: Settings.model_fields[name].get_default() for name in bad})
            except ValidationError:
                rest = None
            if rest is not None:
                named = {line.split(":", 1)[0] for line in problems}
                problems += [line for line in rest.missing_for_run() if line.split(":", 1)[0] not in named]
        raise SettingsError(problems) from None
    if require_run:
        problems = settings.missing_for_run()
        if problems:
            raise SettingsError(problems)
    return settings
