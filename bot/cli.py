"""``ncebot`` command line (SPEC §7). Each subcommand's work lives in its own module, imported lazily so
``ncebot --help`` stays fast and a broken optional part cannot stop the others.

To add a subcommand: write ``_add_<name>(sub)`` that makes its parser with :func:`_command` (what it does, the
settings it reads) and sets ``handler`` to a function of the parsed arguments returning the exit code, then list
it in :data:`_COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from importlib import metadata

from bot.settings import SettingsError

Handler = Callable[[argparse.Namespace], int]

#: Settings ``run`` and ``doctor`` read (every one is described in .env.example).
ALL_SETTINGS = ("SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode), SLACK_API_URL, "
                "PORT, DATABASE_URL, PARTNER_CENTER_* (credentials, or PARTNER_CENTER_SANDBOX=true), "
                "NCEBOT_APPROVAL_CHANNEL, NCEBOT_APPROVERS and the other NCEBOT_* settings")
SETTINGS_SOURCE = "Settings come from the environment and from a .env file in the current directory (see .env.example)."


def version() -> str:
    try:
        return metadata.version("ncebot")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def _command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, description: str,
             reads: str | None) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` says what it does and which settings it reads."""
    epilog = textwrap.fill(f"Settings read: {reads}. {SETTINGS_SOURCE}" if reads else "Reads no settings.", 100)
    return sub.add_parser(name, help=summary, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        sub, "run", "run the Slack app (Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT)",
        "Run the Slack app: the /nce command, the approval buttons, the Home tab and the tracking of migrations.\n"
        "Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP on PORT (POST /slack/events, GET /healthz,\n"
        "GET /metrics). Run `ncebot db upgrade` first and `ncebot doctor` to check the configuration.",
        ALL_SETTINGS)

    def handler(args: argparse.Namespace) -> int:
        from bot.runtime import run

        return run()

    parser.set_defaults(handler=handler)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        sub, "demo", "offline end-to-end run: sandbox Partner Center + local Slack stand-in",
        "Play an offline end-to-end session and print its transcript: the built-in Partner Center sandbox,\n"
        "a local Slack stand-in and the real app on 127.0.0.1, with a throw-away SQLite database. Nothing talks\n"
        "to Slack or Microsoft. Exit code 0 when every step behaved as expected.",
        None)
    parser.add_argument("--keep-running", action="store_true", help="leave the sandbox and the app up afterwards")
    parser.add_argument("--port", type=int, default=0,
                        help="browser playground port with --keep-running (default: a free one)")
    parser.add_argument("--time-scale", type=float, default=None, help="sandbox clock speed-up (default: fast)")

    def handler(args: argparse.Namespace) -> int:
        from bot.demo import run_demo

        return run_demo(keep_running=args.keep_running, time_scale=args.time_scale, port=args.port)

    parser.set_defaults(handler=handler)


def _add_sandbox(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        sub, "sandbox", "serve the Partner Center sandbox on its own",
        "Serve the Partner Center sandbox (a local stand-in for the REST API and its sign-in) in the foreground.\n"
        "Prints the PARTNER_CENTER_* settings that point a client at it; Ctrl-C stops it.",
        None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--data", default=None, help="seed data file (YAML or JSON)")
    seed.add_argument("--seed", choices=("default", "large"), default="default",
                      help="built-in seed: default (sandbox/known.py), or large (200 customers, 5,000 subscriptions)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="run the sandbox clock N times faster")
    parser.add_argument("--create-latency", type=float, default=None,
                        help="real seconds every migration create waits before its answer (benchmarks)")

    def handler(args: argparse.Namespace) -> int:
        from sandbox.cli import serve

        return serve(host=args.host, port=args.port, data=args.data, time_scale=args.time_scale, seed=args.seed,
                     create_latency=args.create_latency)

    parser.set_defaults(handler=handler)


def _add_doctor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = _command(
        sub, "doctor", "check settings, the database, Partner Center and Slack",
        "Check the configuration, one line per check: the settings, the database (reachable, migrations at\n"
        "head), the Partner Center token and a read call (or the built-in sandbox when\n"
        "PARTNER_CENTER_SANDBOX=true), Slack auth.test and the approval channel. `✗` lines say how to fix them.\n"
        "Exit code 0 when all pass, 1 when one fails, 2 when the settings cannot be read.",
        ALL_SETTINGS + ", SSL_CERT_FILE (CA bundle, optional)")

    def handler(args: argparse.Namespace) -> int:
        from bot.doctor import run_doctor

        return run_doctor()

    parser.set_defaults(handler=handler)


def _add_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = _command(sub, "db", "database commands", "Database commands.", "DATABASE_URL")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    upgrade = _command(
        db_sub, "upgrade", "apply database migrations",
        "Create the database schema or upgrade it to this version (Alembic). Run it once per release, before\n"
        "starting or rolling the replicas.",
        "DATABASE_URL")

    def handler(args: argparse.Namespace) -> int:
        from storage.migrate import upgrade_command

        return upgrade_command()

    upgrade.set_defaults(handler=handler)
    db.set_defaults(handler=lambda args: _usage(db))


def _add_webhooks(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.webhooks.registration import add_parser

    add_parser(sub)
    hooks = sub.choices["webhooks"]
    hooks.description = ("Partner Center webhook registration (one per partner tenant): `register` adds ncebot's "
                         "events (never dropping others; --replace to take over a registration pointing "
                         "elsewhere), `status` prints it, `test` sends a validation event.")
    hooks.epilog = textwrap.fill(
        f"Settings read: PARTNER_CENTER_* (the app registration's credentials), NCEBOT_PUBLIC_URL (the "
        f"default --url), SSL_CERT_FILE (optional). {SETTINGS_SOURCE}", 100)

    def handler(args: argparse.Namespace) -> int:
        if not args.webhooks_command:
            return _usage(hooks)
        from bot.webhooks.registration import run_webhooks

        return run_webhooks(args)

    hooks.set_defaults(handler=handler)


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_run, _add_demo, _add_sandbox, _add_doctor, _add_webhooks, _add_db,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ncebot",
        description="Slack app that validates, approves, migrates and tracks legacy CSP subscriptions "
        "to the New Commerce Experience through the Partner Center API.",
        epilog=f"`ncebot COMMAND --help` says what a command does and which settings it reads. {SETTINGS_SOURCE}",
    )
    parser.add_argument("--version", action="version", version=f"ncebot {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _COMMANDS:
        add(sub)
    parser.set_defaults(handler=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    """A command without its subcommand: the help, on stderr, and exit code 2 (a usage error)."""
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        for line in exc.problems:
            print(f"ncebot: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
