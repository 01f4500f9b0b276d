"""``ncebot webhooks register|status|test`` and the ``doctor`` line (SPEC §11).

There is one registration per partner tenant, and other tools (CIPP, a PSA) may own it. So ``register`` reads it
first: none → create one for ncebot's events; one at this URL → add the events it lacks; one elsewhere → refuse
(exit 2, naming its URL and events) unless ``--replace``, which moves it here keeping every event it had.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from bot.partner_center.webhooks import WebhookRegistration
from bot.settings import Settings

if TYPE_CHECKING:  # `ncebot --help` builds this module's parser: keep httpx & co. out of its imports
    from bot.partner_center.client import PartnerCenterClient

WEBHOOK_PATH = "/partner-center/webhooks"
MIGRATION_EVENTS = (
    "new-commerce-migration-created",
    "new-commerce-migration-completed",
    "new-commerce-migration-failed",
    "new-commerce-migration-schedule-failed",
)
# test-created too: Partner Center sends a validation event only to a registration that includes it.
NCEBOT_EVENTS = (*MIGRATION_EVENTS, "test-created")


def default_url(settings: Settings) -> str | None:
    """``NCEBOT_PUBLIC_URL`` + ``/partner-center/webhooks``, or None when it is not set."""
    base = settings.ncebot_public_url
    return base.rstrip("/") + WEBHOOK_PATH if base else None


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def points_here(registration: WebhookRegistration | None, url: str | None) -> bool:
    """The registration delivers ncebot's migration events to ``url``."""
    return (registration is not None and url is not None and _same_url(registration.url, url)
            and all(e in registration.events for e in MIGRATION_EVENTS))


def webhooks_point_here(partner_center: PartnerCenterClient, settings: Settings) -> bool:
    """Read the registration (SPEC §11: at start and hourly) and say whether it points at this deployment."""
    url = default_url(settings)
    return url is not None and points_here(partner_center.get_webhook_registration(), url)


@dataclass(frozen=True)
class Outcome:
    action: str  # created | updated | unchanged | replaced | refused
    registration: WebhookRegistration
    previous: WebhookRegistration | None = None


def register(partner_center: PartnerCenterClient, url: str, *, replace: bool = False) -> Outcome:
    """Read, then create / merge / refuse / replace (never dropping an event that was registered)."""
    current = partner_center.get_webhook_registration()
    if current is None:
        return Outcome("created", partner_center.save_webhook_registration(url, NCEBOT_EVENTS, create=True))
    merged = list(dict.fromkeys([*current.events, *NCEBOT_EVENTS]))
    if _same_url(current.url, url):
        if len(merged) == len(current.events):
            return Outcome("unchanged", current, current)
        return Outcome("updated", partner_center.save_webhook_registration(current.url, merged, create=False),
                       current)
    if not replace:
        return Outcome("refused", current, current)
    return Outcome("replaced", partner_center.save_webhook_registration(url, merged, create=False), current)


def describe(registration: WebhookRegistration) -> str:
    return f"{registration.url} ({', '.join(registration.events) or 'no events'})"


def status_line(settings: Settings, partner_center: PartnerCenterClient) -> tuple[bool, str, str | None]:
    """For ``ncebot doctor``: (ok, detail, fix). Without NCEBOT_PUBLIC_URL, polling alone is fine."""
    url = default_url(settings)
    registration = partner_center.get_webhook_registration()
    where = describe(registration) if registration else "no registration"
    if url is None:
        return True, (f"NCEBOT_PUBLIC_URL not set: polling every {settings.ncebot_poll_interval} s "
                      f"(partner registration: {where})"), None
    if points_here(registration, url):
        return True, (f"registered to this deployment ({url}); reconciling every "
                      f"{settings.ncebot_reconcile_interval} s"), None
    return False, f"not registered to {url} (partner registration: {where}); polling every " \
        f"{settings.ncebot_poll_interval} s", "run `ncebot webhooks register`"


# --- the command -------------------------------------------------------------------------------------------------

def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = sub.add_parser("webhooks", help="Partner Center webhook registration (register, status, test)")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", metavar="WEBHOOKS_COMMAND")
    reg = hooks_sub.add_parser("register", help="register ncebot's events (merging with any existing registration)")
    reg.add_argument("--url", default=None, help="delivery URL (default: NCEBOT_PUBLIC_URL/partner-center/webhooks)")
    reg.add_argument("--replace", action="store_true",
                     help="take over a registration that points elsewhere (its events are kept)")
    hooks_sub.add_parser("status", help="print the partner's registration")
    hooks_sub.add_parser("test", help="send a validation event and print its result")


def run_webhooks(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    *,
    verify: str | None = None,
    poll: Callable[[float], None] = time.sleep,
    wait_seconds: float = 20.0,
) -> int:
    """``ncebot webhooks …``; ``env``/``verify`` as for doctor (tests). Exit 0 done, 1 failed, 2 refused/usage."""
    from bot.partner_center.client import build_partner_center_client
    from bot.partner_center.errors import PartnerCenterError
    from bot.settings import load_settings

    out = out or sys.stdout
    settings = load_settings(env)
    source = env if env is not None else os.environ
    pc = build_partner_center_client(settings, verify=verify or source.get("SSL_CERT_FILE") or None)
    try:
        if args.webhooks_command == "register":
            url = args.url or default_url(settings)
            if not url:
                print("ncebot: give --url or set NCEBOT_PUBLIC_URL", file=sys.stderr)
                return 2
            outcome = register(pc, url, replace=args.replace)
            if outcome.action == "refused":
                print(f"ncebot: the partner's webhook registration points elsewhere: {describe(outcome.registration)}"
                      f". Nothing was changed; use --replace to move it to {url} (its events are kept).",
                      file=sys.stderr)
                return 2
            print(f"{outcome.action}: {describe(outcome.registration)}", file=out)
            if outcome.previous is not None and outcome.action == "replaced":
                print(f"previously: {describe(outcome.previous)}", file=out)
            return 0
        if args.webhooks_command == "status":
            registration = pc.get_webhook_registration()
            print(describe(registration) if registration else "no webhook registration", file=out)
            if registration is not None:
                here = default_url(settings)
                print("points at this deployment" if points_here(registration, here) else
                      f"does not point at this deployment ({here or 'NCEBOT_PUBLIC_URL not set'})", file=out)
            return 0
        if args.webhooks_command == "test":
            correlation = pc.send_webhook_validation()
            print(f"validation event sent (correlation id {correlation})", file=out)
            waited = 0.0
            result = pc.webhook_validation_status(correlation)
            while not result.results and waited < wait_seconds:
                poll(0.5)
                waited += 0.5
                result = pc.webhook_validation_status(correlation)
            for item in result.results or ({"responsecode": "", "responsemessage": "no delivery yet"},):
                print(f"{result.status}: {result.callback_url or '?'} answered {item.get('responsecode') or '-'} "
                      f"{item.get('responsemessage') or ''} {item.get('systemerror') or ''}".rstrip(), file=out)
            codes = [str(item.get("responsecode") or "") for item in result.results]
            return 0 if codes and all(c.startswith("2") for c in codes) else 1
    except PartnerCenterError as exc:
        print(f"ncebot: {exc}", file=sys.stderr)
        return 1
    finally:
        pc.close()
    return 2


def main_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``webhooks …`` arguments alone (tests)."""
    parser = argparse.ArgumentParser(prog="ncebot")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["webhooks", *argv])
