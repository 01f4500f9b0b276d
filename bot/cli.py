"""``ncebot`` command line (SPEC §7). Each subcommand's work lives in its own module, imported lazily so
``ncebot --help`` stays fast and a broken optional part cannot stop the others."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.settings import SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ncebot",
        description="Slack app that validates, approves, migrates and tracks legacy CSP subscriptions "
        "to the New Commerce Experience through the Partner Center API.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="run the Slack app (Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT)")

    demo = sub.add_parser("demo", help="offline end-to-end run: sandbox Partner Center + local Slack stand-in")
    demo.add_argument("--keep-running", action="store_true", help="leave the sandbox and the app up afterwards")
    demo.add_argument("--time-scale", type=float, default=None, help="sandbox clock speed-up (default: fast)")
    demo.add_argument("--port", type=int, default=0, help="browser playground port with --keep-running (default: any)")

    sandbox = sub.add_parser("sandbox", help="serve the Partner Center sandbox on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8443)
    sandbox.add_argument("--data", default=None, help="seed data file (YAML or JSON)")
    sandbox.add_argument("--time-scale", type=float, default=1.0, help="run the sandbox clock N times faster")

    sub.add_parser("doctor", help="check settings, Partner Center token, Slack auth.test and the database")

    from bot.webhooks.registration import add_parser as add_webhooks_parser

    add_webhooks_parser(sub)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply database migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from bot.runtime import run

            return run()
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo(keep_running=args.keep_running, time_scale=args.time_scale, port=args.port)
        if args.command == "sandbox":
            from sandbox.cli import serve

            return serve(host=args.host, port=args.port, data=args.data, time_scale=args.time_scale)
        if args.command == "doctor":
            from bot.doctor import run_doctor

            return run_doctor()
        if args.command == "webhooks" and args.webhooks_command:
            from bot.webhooks.registration import run_webhooks

            return run_webhooks(args)
        if args.command == "db" and args.db_command == "upgrade":
            from storage.migrate import upgrade_command

            return upgrade_command()
    except SettingsError as exc:
        for line in exc.problems:
            print(f"ncebot: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
