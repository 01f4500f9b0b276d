"""``ncebot demo``: the whole product, offline, in about half a minute.

Starts the Partner Center sandbox (fast clock), a local Slack Web API stand-in (an approval channel, a work
channel and four people), and the real app in HTTP mode through :func:`bot.runtime.build_runtime` — the same
builder as ``ncebot run`` — on SQLite in a temporary directory, with the tracking service running
(:class:`bot.demo_world.DemoWorld`). It then plays a session (:mod:`bot.demo_play`) through SIGNED Slack HTTP
requests (slash commands, button clicks, modal submissions, the Home tab, exactly as Slack sends them), checks
what the app answered at every step, prints the conversation and a one-line summary. Exit code 0 when every
expectation held, 1 otherwise (with a line saying which one failed). ``--keep-running`` then leaves it all up and
serves the browser playground (:mod:`sandbox.playground`), whose URL is the last line printed.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from typing import IO

from bot.demo_session import DemoFailure, Session, Stats
from bot.demo_world import (
    APPROVAL_CHANNEL,
    APPROVERS_GROUP,
    CHANNELS,
    DEFAULT_TIME_SCALE,
    GROUPS,
    ROLES,
    USERS,
    WORK_CHANNEL,
    DemoWorld,
)

__all__ = ["DemoFailure", "Session", "run_demo"]


# ==================================================================================================== the harness
def run_demo(keep_running: bool = False, time_scale: float | None = None, out: IO[str] = sys.stdout, *,
             port: int = 0) -> int:
    """Play the demo; ``keep_running``: then serve the playground on 127.0.0.1:``port`` (0: any free port)
    until SIGINT/SIGTERM."""
    from bot.demo_play import play
    from bot.logging_setup import configure_logging

    started = time.monotonic()
    configure_logging("ERROR", json_output=False)
    scale = DEFAULT_TIME_SCALE if time_scale is None else time_scale
    if scale <= 0:
        print("ncebot demo: --time-scale must be positive", file=out)
        return 2
    if keep_running and port and not _port_free(port):  # say so now, not after the whole demo
        print(f"ncebot demo: the playground could not listen on 127.0.0.1:{port} (is the port taken?); "
              "choose another with --port", file=out)
        return 2
    stats = Stats()
    session: Session | None = None
    world: DemoWorld | None = None
    code = 0
    try:
        world = DemoWorld.start(scale)
        _header(out, world, scale)
        session = Session(runtime=world.runtime, standin=world.standin, requester=world.requester, out=out,
                          stats=stats)
        play(session)
    except DemoFailure as exc:
        stats.errors += 1
        code = 1
        failure = f"demo FAILED: expected {exc}"
    except Exception as exc:  # a crash of the harness or the app: still print what happened
        stats.errors += 1
        code = 1
        failure = f"demo FAILED: {type(exc).__name__}: {exc}"
    else:
        failure = ""
    if session is not None:
        session.collect()
        print("\n".join(session.lines), file=out)
    if world is not None:
        stats.requests = world.requester.sent
    if failure:
        print("", file=out)
        print(failure, file=out)
    elapsed = time.monotonic() - started
    print("", file=out)
    print(f"demo {'complete' if code == 0 else 'failed'}: {stats.requests} Slack requests, "
          f"{stats.migrations_requested} migrations requested, {stats.migrations_completed} completed, "
          f"{stats.migrations_failed} failed, {stats.schedule_changes} schedule changes, "
          f"{stats.rejections} rejected, {stats.reports} CSV report, {stats.errors} errors in {elapsed:.1f} s",
          file=out)
    out.flush()
    if world is None:
        return code
    try:
        if keep_running and not _keep_running(out, world, port):
            code = 2
    finally:
        world.close()
    return code


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a listener still refuses it
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _header(out: IO[str], world: DemoWorld, scale: float) -> None:
    sandbox = world.runtime.sandbox
    print("ncebot demo: everything below runs on this machine; nothing talks to Slack or Microsoft.", file=out)
    print(f"  Partner Center sandbox  {sandbox.base_url if sandbox else '?'} (clock x{scale:g})", file=out)
    print(f"  Slack Web API stand-in  {world.standin.base_url}", file=out)
    print(f"  ncebot (HTTP mode)      {world.app_url}/slack/events, built by the same runtime as `ncebot run`",
          file=out)
    people = ", ".join(f"@{name}" for name in USERS.values())
    print(f"  people: {people} — approvers: @nce-approvers (@alice, @bob, @carol); @dave is in sales", file=out)
    print("  transcript: '#channel @who: …' is what someone did; indented lines are what Slack shows.", file=out)
    out.flush()


def demo_env(world: DemoWorld) -> dict[str, str]:
    """The settings of the running demo, as a ``.env`` holds them (another ncebot or a script can use them)."""
    env: dict[str, str] = {}
    if world.runtime.sandbox is not None:
        env.update(world.runtime.sandbox.client_env())
    env.update({
        "SLACK_API_URL": world.standin.base_url,
        "SLACK_BOT_TOKEN": world.bot_token,
        "SLACK_SIGNING_SECRET": world.signing_secret,
        "DATABASE_URL": world.database_url,
        "NCEBOT_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
        "NCEBOT_APPROVERS": APPROVERS_GROUP,
    })
    return env


def _keep_running(out: IO[str], world: DemoWorld, port: int) -> bool:
    """Serve the playground and keep everything up until SIGINT/SIGTERM; False if the playground cannot listen."""
    from sandbox.playground import Person, Playground, PlaygroundServer

    app_url = world.app_url
    sandbox = world.runtime.sandbox
    playground = Playground(world.standin, world.requester, people=[Person(uid, name, ROLES.get(uid, ""))
                                                                    for uid, name in USERS.items()],
                            channels=CHANNELS, groups=GROUPS, default_channel=WORK_CHANNEL)
    try:
        server = PlaygroundServer(playground, port=port).start()
    except RuntimeError as exc:
        print(f"ncebot demo: {exc}; choose another with --port", file=out)
        return False
    try:
        print("", file=out)
        print("Still running (Ctrl-C to stop):", file=out)
        print(f"  ncebot           POST {app_url}/slack/events   GET {app_url}/healthz   GET {app_url}/metrics",
              file=out)
        print(f"  Slack stand-in   {world.standin.base_url} (what the app posted: the transcript above)", file=out)
        if sandbox is not None:
            print(f"  Partner Center   {sandbox.base_url} (sandbox; see `ncebot sandbox --help`)", file=out)
        print("  people: " + ", ".join(f"{name} ({uid})" for uid, name in USERS.items()), file=out)
        print("", file=out)
        print("# Environment of this demo, paste-ready for a .env file (valid while the demo runs;", file=out)
        print(f"# sign your own requests to {app_url}/slack/events with SLACK_SIGNING_SECRET):", file=out)
        for key, value in demo_env(world).items():
            print(f"{key}={value}", file=out)
        print("", file=out)
        print("Open the playground in a browser: pick who you are, type /nce commands, click, fill in modals:",
              file=out)
        print(f"Playground: {server.url}", file=out)
        out.flush()
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda _signum, _frame: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        print("stopping", file=out)
    finally:
        server.stop()
    return True
