"""``GET /healthz``: named checks, each a callable returning ``(ok, detail)``.

``HealthCheck.report()`` → ``(200, {"status": "ok", "checks": {...}})`` when every check passes, else
``(503, {"status": "fail", ...})``. A check that raises counts as failed with the exception's (redacted) text.
The runtime wires the real checks with :func:`database_check`, :func:`scheduler_check` and :func:`lease_check`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.logging_setup import redact

CheckFn = Callable[[], tuple[bool, str]]


class HealthCheck:
    def __init__(self, checks: Mapping[str, CheckFn] | None = None) -> None:
        self._checks: dict[str, CheckFn] = dict(checks or {})
        self._lock = threading.Lock()

    def add(self, name: str, check: CheckFn) -> HealthCheck:
        with self._lock:
            self._checks[name] = check
        return self

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._checks)

    def run(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            checks = list(self._checks.items())
        results: dict[str, dict[str, Any]] = {}
        for name, check in checks:
            try:
                ok, detail = check()
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results[name] = {"ok": bool(ok), "detail": redact(str(detail))}
        return results

    def report(self) -> tuple[int, dict[str, Any]]:
        checks = self.run()
        healthy = all(result["ok"] for result in checks.values())
        return (200 if healthy else 503), {"status": "ok" if healthy else "fail", "checks": checks}

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        """The shape ``bot.app.AppDeps.health`` / ``bot.http_server`` expect: ``(healthy, {"checks": {...}})``."""
        status, body = self.report()
        return status == 200, {"checks": body["checks"]}


# --- real checks -------------------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig if orig is not None else exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def database_check(engine: Any, head: str | Callable[[], str | None] | None = None) -> CheckFn:
    """``SELECT 1`` through ``engine``, then the Alembic revision in the database against ``head``.

    ``head``: the expected revision, or a callable giving it; ``None`` asks ``storage.migrate.head_revision`` (on
    every check).
    """

    def check() -> tuple[bool, str]:
        try:
            current = database_revision(engine)
        except Exception as exc:
            return False, f"unreachable: {_first_line(exc)}"
        expected = _expected_head(head)
        if expected is None:
            return True, f"reachable, revision {current or 'none'}"
        if current != expected:
            return False, f"migration level {current or 'none'}, head is {expected}: run `ncebot db upgrade`"
        return True, f"reachable, at head {expected}"

    return check


def database_revision(engine: Any) -> str | None:
    """``SELECT 1`` through ``engine``, then the Alembic revision(s) stored in the database (None: not migrated).
    Raises when the database cannot be reached."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) if heads else None


def _expected_head(head: str | Callable[[], str | None] | None) -> str | None:
    if callable(head):
        return head()
    if head is not None:
        return head
    try:
        from storage.migrate import head_revision
    except ImportError:
        return None
    return head_revision()


def scheduler_check(scheduler: Any) -> CheckFn:
    """``scheduler``: a callable returning bool, or an object with ``running`` (APScheduler's schedulers)."""

    def check() -> tuple[bool, str]:
        running = scheduler() if callable(scheduler) else getattr(scheduler, "running", False)
        return (True, "running") if running else (False, "not running")

    return check


def lease_check(
    state: Callable[[], Any], *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> CheckFn:
    """The poller lease. ``state()`` → an object (or mapping) with ``held`` (this process holds it),
    ``holder`` (who does) and ``expires_at`` (aware datetime, when the holder's lease runs out).

    Healthy when this process holds a live lease, or when it is a standby that sees a live holder; unhealthy
    when nobody holds a live lease (the poller is gone and no standby has taken over yet).
    """

    def get(obj: Any, name: str) -> Any:
        return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)

    def check() -> tuple[bool, str]:
        current = state()
        held = bool(get(current, "held"))
        holder = get(current, "holder")
        expires_at = get(current, "expires_at")
        moment = now()
        live = expires_at is None or (
            (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)) > moment
        )
        if held and live:
            return True, "held by this process" + (f" until {expires_at.isoformat()}" if expires_at else "")
        if held:
            return False, f"held by this process but expired at {expires_at.isoformat()}; renewal is failing"
        if holder and live:
            return True, f"standby; lease held by {holder}" + (
                f" until {expires_at.isoformat()}" if expires_at else ""
            )
        if holder:
            return False, f"no live holder: {holder}'s lease expired at {expires_at.isoformat()}"
        return False, "no process holds the poller lease"

    return check
