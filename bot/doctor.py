"""``ncebot doctor``: check the settings, the database, Partner Center and Slack, one line per check.

``✓ name: detail`` when a check passes, ``✗ name: what is wrong — how to fix it`` when it fails. Exit code 0
when everything passes, 1 on any ✗, 2 when the settings cannot be read at all. Every line is scrubbed of the
configured secrets before it is written.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from bot.logging_setup import redact
from bot.settings import SECRET_FIELDS, Settings, SettingsError, load_settings

OK = "✓"
FAIL = "✗"
WARN = "⚠"
FIX_TOKEN_FIRST = "fix the Partner Center token first"  # the fix of every check that needs the token
FIX_DB_UPGRADE = "run `ncebot db upgrade`"


@dataclass(frozen=True)
class Line:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    warning: bool = False  # not ok, but ncebot still works: ⚠, and the exit code stays 0

    def render(self) -> str:
        if self.ok:
            return f"{OK} {self.name}: {self.detail}"
        mark = WARN if self.warning else FAIL
        return f"{mark} {self.name}: {self.detail}" + (f" — {self.fix}" if self.fix else "")


class _Printer:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.secrets: list[Any] = []
        self.failed = False

    def __call__(self, line: Line) -> None:
        self.failed = self.failed or not (line.ok or line.warning)
        self.out.write(redact(line.render(), self.secrets) + "\n")
        self.out.flush()


def _first_line(text: str) -> str:
    lines = [part.strip() for part in str(text).strip().splitlines() if part.strip()]
    return lines[0] if lines else ""


def _exc_text(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's exception
    inner = orig if orig is not None else exc
    message = _first_line(str(inner))
    return f"{type(inner).__name__}: {message}" if message else type(inner).__name__


# --- settings --------------------------------------------------------------------------------------------


def _describe_settings(settings: Settings) -> str:
    transport = ("Socket Mode (SLACK_APP_TOKEN set, so SLACK_SIGNING_SECRET is not needed)" if settings.socket_mode
                 else f"HTTP on port {settings.port}")
    mode = "App+User" if settings.app_plus_user else "App-only"
    where = ("the built-in sandbox (PARTNER_CENTER_SANDBOX=true, no credentials needed)"
             if settings.partner_center_sandbox else urlsplit(settings.partner_center_base_url).netloc)
    approvers = len(settings.approvers)
    entries = "entry" if approvers == 1 else "entries"
    return (
        f"{transport}; Partner Center {mode} at {where}; "
        f"{settings.ncebot_required_approvals} approval(s) from {approvers} approver {entries}"
    )


def check_approval_rules(settings: Settings) -> Line:
    """Whose requests could never be approved under NCEBOT_APPROVERS / _REQUESTERS / _REQUIRED_APPROVALS /
    _ALLOW_SELF_APPROVAL (the rule the workflow applies to each request, ``bot.rules``). User groups are resolved
    only at request time, so with groups listed the check counts their members as unknown and passes."""
    from bot.rules import approval_shortfall, possible_approvers

    name = "approval rules"
    required, allow_self = settings.ncebot_required_approvals, settings.ncebot_allow_self_approval
    approvers = settings.approvers
    if any(p.startswith("S") for p in approvers):
        return Line(name, True, f"{required} approval(s); user-group members are counted at request time")
    requesters = settings.requesters
    # Who may ask: the listed requesters (groups aside), else anyone: an approver, or someone who is not one.
    askers = [p for p in requesters if not p.startswith("S")] if requesters else [*approvers, ""]
    blocked = [u for u in askers if approval_shortfall(
        required, possible_approvers(approvers, u, allow_self_approval=allow_self), allow_self_approval=allow_self)]
    if not blocked:
        return Line(name, True, f"{required} approval(s) from {len(approvers)} approver(s); every request can be "
                                "approved")
    sample = possible_approvers(approvers, blocked[0], allow_self_approval=allow_self)
    why = approval_shortfall(required, sample, allow_self_approval=allow_self)
    who = ", ".join(u or "anyone who is not an approver" for u in blocked)
    fixes = ["add approvers to NCEBOT_APPROVERS"]
    if sample:
        fixes.append(f"lower NCEBOT_REQUIRED_APPROVALS to {len(sample)}")
    if not allow_self:
        fixes.append("set NCEBOT_ALLOW_SELF_APPROVAL=true")
    fix = ", ".join(fixes[:-1]) + " or " + fixes[-1] if len(fixes) > 1 else fixes[0]
    # ⚠ while someone's requests can still be approved; ✗ when nobody's can.
    return Line(name, False, f"requests by {who} can never be approved: {why}", fix,
                warning=len(blocked) < len(askers))


# --- database --------------------------------------------------------------------------------------------


def check_database(url: str) -> Line:
    from sqlalchemy.engine import make_url

    from storage.db import create_engine_for, is_sqlite, normalize_url

    name = "database"
    try:
        parsed = make_url(normalize_url(url))
    except Exception as exc:
        return Line(name, False, f"DATABASE_URL is not a database URL ({type(exc).__name__})",
                    "use e.g. sqlite:////data/ncebot.db or postgresql+psycopg://user:password@host/db")
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if is_sqlite(url):
        database = parsed.database or ""
        if database not in ("", ":memory:") and not database.startswith("file:"):
            path = Path(database)
            if not path.parent.is_dir():
                return Line(name, False, f"{shown}: directory {path.parent} does not exist",
                            "create it (or mount the volume) or fix DATABASE_URL")
            if not path.exists():
                return Line(name, False, f"{shown}: {path} does not exist yet", FIX_DB_UPGRADE)
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine_for(url, **kwargs)
    except Exception as exc:
        return Line(name, False, f"{shown}: {_exc_text(exc)}", "fix DATABASE_URL (is the driver installed?)")
    try:
        from bot.health import database_revision

        current = database_revision(engine)
    except Exception as exc:
        return Line(name, False, f"cannot connect to {shown} ({_exc_text(exc)})",
                    "check DATABASE_URL and that the database server is running and reachable")
    finally:
        engine.dispose()
    from storage.migrate import head_revision

    head = head_revision()
    if current != head:
        return Line(name, False, f"{shown} is at migration {current or 'none'}, head is {head}",
                    FIX_DB_UPGRADE)
    return Line(name, True, f"{shown} reachable, migrations at head ({head})")


# --- Partner Center --------------------------------------------------------------------------------------

_TOKEN_FIXES: list[tuple[tuple[str, ...], str]] = [
    (("AADSTS7000215", "AADSTS7000222", "AADSTS7000216"),
     "check PARTNER_CENTER_CLIENT_SECRET: use the secret's Value (not its Secret ID) from the app registration's "
     "Certificates & secrets, and create a new one if it expired"),
    (("AADSTS700016",),
     "check PARTNER_CENTER_CLIENT_ID and PARTNER_CENTER_TENANT_ID: the app must be registered in (or consented "
     "to by) the partner tenant"),
    (("AADSTS90002", "AADSTS900023", "AADSTS90013"),
     "check PARTNER_CENTER_TENANT_ID (the partner tenant's id or primary domain)"),
    (("AADSTS50076", "AADSTS50079", "AADSTS50158"),
     "the consenting user must pass MFA: redo the secure application model consent with MFA and store the new "
     "refresh token in PARTNER_CENTER_REFRESH_TOKEN"),
    (("AADSTS70008", "AADSTS700082", "AADSTS50173", "AADSTS700084", "AADSTS9002313"),
     "the refresh token is expired or revoked: redo the secure application model consent and set the new "
     "PARTNER_CENTER_REFRESH_TOKEN"),
]

_ERROR_FIXES = {
    "invalid_client": "check PARTNER_CENTER_CLIENT_ID and PARTNER_CENTER_CLIENT_SECRET (the secret's Value, "
    "not its ID; it may have expired)",
    "unauthorized_client": "check PARTNER_CENTER_CLIENT_ID and PARTNER_CENTER_TENANT_ID",
    "invalid_grant": "the refresh token is expired, revoked or for another app: redo the secure application "
    "model consent and set the new PARTNER_CENTER_REFRESH_TOKEN",
    "interaction_required": "the consenting user must pass MFA: redo the consent and store the new refresh token",
    "authority_unreachable": "check PARTNER_CENTER_AUTHORITY and outbound HTTPS to it (proxy, firewall, "
    "SSL_CERT_FILE)",
    "invalid_authority": "check PARTNER_CENTER_AUTHORITY and PARTNER_CENTER_TENANT_ID",
}


def token_fix(error: str | None, description: str) -> str:
    for codes, fix in _TOKEN_FIXES:
        if any(code in description for code in codes):
            return fix
    return _ERROR_FIXES.get(error or "", "check PARTNER_CENTER_TENANT_ID, PARTNER_CENTER_CLIENT_ID and "
                            "PARTNER_CENTER_CLIENT_SECRET; the AADSTS code in the message names the cause")


def _read_fix(status: int | None) -> str:
    if status == 401:
        return "the token was refused: check that the app registration is added to Partner Center " \
               "(Account settings → App management) and PARTNER_CENTER_BASE_URL matches the cloud"
    if status == 403:
        return "the account lacks a Partner Center role (Admin agent) or this API needs App+User: " \
               "set PARTNER_CENTER_REFRESH_TOKEN (secure application model)"
    if status == 429:
        return "throttled by Partner Center: wait for Retry-After and try again"
    if status is None or status >= 500:
        return "Partner Center did not answer: check PARTNER_CENTER_BASE_URL and outbound HTTPS, then retry"
    return "see the Partner Center error code and description"


def check_partner_center(settings: Settings, verify: str | bool | None) -> list[Line]:
    import httpx

    from bot.partner_center.client import build_partner_center_client, tls_verify
    from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError

    token_name, read_name = "partner center token", "partner center read"
    missing = settings.missing_partner_center_credentials()
    if missing:
        return [
            Line(token_name, False, f"{', '.join(missing)} not set", "set them from the app registration"),
            Line(read_name, False, "not tried", FIX_TOKEN_FIRST),
        ]
    mode = "App+User" if settings.app_plus_user else "App-only"
    calls: list[Any] = []
    http = httpx.Client(
        timeout=httpx.Timeout(30.0, connect=10.0),
        verify=tls_verify(verify),
        headers={"User-Agent": "ncebot-doctor"},
    )
    try:
        try:
            client = build_partner_center_client(settings, http=http, on_call=calls.append)
        except SettingsError as exc:
            return [
                Line(token_name, False, "; ".join(exc.problems), "fix the Partner Center settings"),
                Line(read_name, False, "not tried", FIX_TOKEN_FIRST),
            ]
        tokens = client.token_provider
        authority = urlsplit(settings.partner_center_authority).netloc
        lines: list[Line] = []
        try:
            tokens.token()
        except PartnerCenterAuthError as exc:
            description = _first_line(exc.description)
            error = f" ({exc.error})" if exc.error else ""
            return [
                Line(token_name, False, f"{mode} sign-in at {authority} failed{error}: {description}",
                     token_fix(exc.error, exc.description)),
                Line(read_name, False, "not tried", FIX_TOKEN_FIRST),
            ]
        except Exception as exc:  # MSAL raises on some unexpected answers (e.g. a 5xx from the authority)
            return [
                Line(token_name, False, f"{mode} sign-in at {authority} failed: {_exc_text(exc)}",
                     "check PARTNER_CENTER_AUTHORITY and PARTNER_CENTER_TENANT_ID; retry if Entra ID is "
                     "having an outage"),
                Line(read_name, False, "not tried", FIX_TOKEN_FIRST),
            ]
        lines.append(Line(token_name, True, f"{mode} token from {authority} for tenant "
                                            f"{settings.partner_center_tenant_id}"))
        try:
            customers = client.list_customers(page_size=500)
        except PartnerCenterAuthError as exc:
            lines.append(Line(token_name, False, f"{mode} sign-in failed ({exc.error}): {_first_line(exc.description)}",
                              token_fix(exc.error, exc.description)))
            return lines
        except PartnerCenterError as exc:
            ids = f" (MS-RequestId {exc.request_id})" if exc.request_id else ""
            lines.append(Line(read_name, False, f"list customers failed: {_first_line(str(exc))}{ids}",
                              _read_fix(exc.status_code)))
            return lines
        except Exception as exc:
            lines.append(Line(read_name, False, f"list customers failed: {_exc_text(exc)}", _read_fix(None)))
            return lines
        last = calls[-1] if calls else None
        ids = f", MS-RequestId {last.request_id}" if last is not None else ""
        lines.append(Line(read_name, True, f"list customers answered: {len(customers)} customer(s) "
                                           f"at {urlsplit(settings.partner_center_base_url).netloc}{ids}"))
        return lines
    finally:
        http.close()


def in_sandbox(settings: Settings, check: Callable[[Settings, str], list[Line]], name: str) -> list[Line]:
    """PARTNER_CENTER_SANDBOX=true: no credentials are needed; start the built-in sandbox (as ``ncebot run``
    does) and run ``check`` against it, each passing line saying so."""
    from bot.runtime import sandbox_settings
    from sandbox.server import SandboxServer

    server = SandboxServer()
    try:
        server.start()
    except Exception as exc:
        return [Line(name, False, f"the built-in sandbox did not start ({_exc_text(exc)})",
                     "report this as a bug, or set PARTNER_CENTER_SANDBOX=false to use Partner Center")]
    try:
        lines = check(sandbox_settings(settings, server), str(server.ca_path))
    finally:
        server.stop()
    note = " (built-in sandbox, PARTNER_CENTER_SANDBOX=true: no Partner Center credentials needed)"
    return [Line(line.name, line.ok, line.detail + note, line.fix) if line.ok else line for line in lines]


def check_partner_center_sandbox(settings: Settings) -> list[Line]:
    return in_sandbox(settings, check_partner_center, "partner center token")


# --- Slack -----------------------------------------------------------------------------------------------

_SLACK_AUTH_FIXES = {
    "invalid_auth": "check SLACK_BOT_TOKEN: copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, "
    "and reinstall the app if it was revoked",
    "not_authed": "set SLACK_BOT_TOKEN",
    "token_revoked": "the token was revoked: reinstall the app to the workspace and update SLACK_BOT_TOKEN",
    "token_expired": "token rotation is on: turn it off for this app or supply a fresh token",
    "account_inactive": "the app or its workspace was deactivated: reinstall the app and update SLACK_BOT_TOKEN",
}

_SLACK_CHANNEL_FIXES = {
    "channel_not_found": "invite the bot to the channel (/invite @ncebot) or fix {setting}",
    "missing_scope": "add the channels:read and groups:read bot scopes (manifest.yml) and reinstall the app",
    "not_in_channel": "invite the bot to the channel (/invite @ncebot)",
}


def _slack_client(settings: Settings, verify: str | bool | None) -> Any:
    from slack_sdk import WebClient

    assert settings.slack_bot_token is not None
    kwargs: dict[str, Any] = {}
    if isinstance(verify, str) and settings.slack_api_url.startswith("https://"):
        kwargs["ssl"] = ssl.create_default_context(cafile=verify)
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=15, **kwargs
    )


def _slack_error(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return str(response.get("error") or "") or None
    except Exception:
        return None


def check_slack(settings: Settings, verify: str | bool | None) -> list[Line]:
    from slack_sdk.errors import SlackApiError

    channels: list[tuple[str, str, str]] = []
    if settings.ncebot_approval_channel:
        channels.append(("approval channel", settings.ncebot_approval_channel, "NCEBOT_APPROVAL_CHANNEL"))
    if settings.ncebot_notify_channel and settings.ncebot_notify_channel != settings.ncebot_approval_channel:
        channels.append(("notify channel", settings.ncebot_notify_channel, "NCEBOT_NOTIFY_CHANNEL"))

    def not_tried() -> list[Line]:
        return [Line(label, False, "not tried", "fix the Slack token first") for label, _, _ in channels]

    if settings.slack_bot_token is None:
        return [Line("slack auth", False, "SLACK_BOT_TOKEN not set", _SLACK_AUTH_FIXES["not_authed"]), *not_tried()]
    host = urlsplit(settings.slack_api_url).netloc
    client = _slack_client(settings, verify)
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        error = _slack_error(exc) or "error"
        fix = _SLACK_AUTH_FIXES.get(error, "check SLACK_BOT_TOKEN and SLACK_API_URL")
        return [Line("slack auth", False, f"auth.test at {host} answered {error}", fix), *not_tried()]
    except Exception as exc:
        return [Line("slack auth", False, f"could not reach {settings.slack_api_url} ({_exc_text(exc)})",
                     "check SLACK_API_URL and outbound HTTPS to Slack"), *not_tried()]
    lines = [Line("slack auth", True, f"bot {auth.get('user') or '?'} ({auth.get('user_id') or '?'}) in "
                                      f"{auth.get('team') or '?'} ({auth.get('team_id') or '?'})")]
    for label, channel, setting in channels:
        try:
            info = client.conversations_info(channel=channel)
        except SlackApiError as exc:
            error = _slack_error(exc) or "error"
            fix = _SLACK_CHANNEL_FIXES.get(error, f"check {setting}").format(setting=setting)
            lines.append(Line(label, False, f"{channel}: conversations.info answered {error}", fix))
            continue
        except Exception as exc:
            lines.append(Line(label, False, f"{channel}: {_exc_text(exc)}", "check SLACK_API_URL"))
            continue
        data = info.get("channel") or {}
        name = data.get("name")
        if data.get("is_archived"):
            lines.append(Line(label, False, f"{channel} (#{name}) is archived", f"unarchive it or fix {setting}"))
            continue
        private = " private" if data.get("is_private") else ""
        member = data.get("is_member")
        if member is False and data.get("is_private"):
            lines.append(Line(label, False, f"{channel} (#{name}): the bot is not a member",
                              f"invite the bot to the channel or fix {setting}"))
            continue
        joined = "" if member is None else (", bot is a member" if member else ", bot posts via chat:write.public")
        lines.append(Line(label, True, f"{channel} (#{name}){private}{joined}"))
    return lines


# --- entry point -----------------------------------------------------------------------------------------


def check_webhooks(settings: Settings, verify: str | bool | None) -> list[Line]:
    """Whether the partner's webhook registration points at NCEBOT_PUBLIC_URL (SPEC §11)."""
    from bot.partner_center.client import build_partner_center_client
    from bot.partner_center.errors import PartnerCenterError
    from bot.webhooks.registration import status_line

    if settings.missing_partner_center_credentials():
        return [Line("webhooks", False, "not tried", FIX_TOKEN_FIRST)]
    client = build_partner_center_client(settings, verify=verify)
    try:
        ok, detail, fix = status_line(settings, client)
    except PartnerCenterError as exc:
        ok, detail, fix = False, f"could not read the registration ({_exc_text(exc)})", "check the Partner Center roles"
    finally:
        client.close()
    return [Line("webhooks", ok, detail, fix)]


def _ca_bundle(env: Mapping[str, str] | None) -> str | None:
    source = env if env is not None else os.environ
    return source.get("SSL_CERT_FILE") or None


def run_doctor(
    env: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    *,
    verify: str | None = None,
) -> int:
    """Run every check and print one line each. ``env``: settings source instead of the process environment
    and ``.env`` (tests). ``verify``: CA bundle for TLS to Partner Center and Slack (default: ``SSL_CERT_FILE``)."""
    printer = _Printer(out if out is not None else sys.stdout)
    if env is not None:
        # Scrub the raw values too: a malformed secret is still a secret.
        printer.secrets.extend(v for k, v in env.items() if k.lower() in SECRET_FIELDS)
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        for problem in exc.problems:
            printer(Line("settings", False, problem, "fix it in the environment or .env"))
        return 2
    printer.secrets.extend(getattr(settings, name) for name in SECRET_FIELDS)
    problems = settings.missing_for_run()
    if problems:
        for problem in problems:
            fix = "set it in the environment or .env (see .env.example)"
            if problem.startswith("SLACK_SIGNING_SECRET"):
                fix = ("set it from Basic Information → App Credentials for HTTP mode, or set SLACK_APP_TOKEN "
                       "(xapp-…) to use Socket Mode, which needs no signing secret")
            printer(Line("settings", False, problem, fix))
    else:
        printer(Line("settings", True, _describe_settings(settings)))

    ca = verify if verify is not None else _ca_bundle(env)
    steps: dict[str, Callable[[Settings], list[Line]]] = {
        "approval rules": lambda s: [check_approval_rules(s)],
        "database": lambda s: [check_database(s.database_url)],
        "partner center": lambda s: (check_partner_center_sandbox(s) if s.partner_center_sandbox
                                     else check_partner_center(s, ca)),
        "slack": lambda s: check_slack(s, ca),
        "webhooks": lambda s: (in_sandbox(s, check_webhooks, "webhooks") if s.partner_center_sandbox
                               else check_webhooks(s, ca)),
    }
    for name, step in steps.items():
        try:
            lines = step(settings)
        except Exception as exc:  # a bug in one check must not hide the others
            lines = [Line(name, False, f"check crashed ({_exc_text(exc)})", "report this as a bug")]
        for line in lines:
            printer(line)
    return 1 if printer.failed else 0
