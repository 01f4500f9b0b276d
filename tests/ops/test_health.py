"""/healthz composition and the real checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine

from bot.health import HealthCheck, database_check, lease_check, scheduler_check

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_all_ok_is_200() -> None:
    health = HealthCheck({"a": lambda: (True, "fine")}).add("b", lambda: (True, "also fine"))
    status, body = health.report()
    assert status == 200
    assert body == {"status": "ok", "checks": {"a": {"ok": True, "detail": "fine"},
                                               "b": {"ok": True, "detail": "also fine"}}}


def test_one_failure_is_503_and_a_raising_check_fails_without_leaking() -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("cannot use xoxb-123-456-abcdef")

    status, body = HealthCheck({"ok": lambda: (True, "x"), "broken": broken}).report()
    assert status == 503
    assert body["status"] == "fail"
    assert body["checks"]["ok"]["ok"] is True
    assert body["checks"]["broken"]["ok"] is False
    assert "RuntimeError" in body["checks"]["broken"]["detail"]
    assert "xoxb-123" not in body["checks"]["broken"]["detail"]


def test_database_check_reachable_and_migration_level(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('rev2')")
    assert database_check(engine, head="rev2")() == (True, "reachable, at head rev2")
    ok, detail = database_check(engine, head=lambda: "rev3")()
    assert not ok and "rev2" in detail and "rev3" in detail and "ncebot db upgrade" in detail


def test_database_check_unreachable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    ok, detail = database_check(engine, head="rev1")()
    assert not ok and detail.startswith("unreachable: OperationalError")


def test_scheduler_check() -> None:
    assert scheduler_check(SimpleNamespace(running=True))() == (True, "running")
    assert scheduler_check(lambda: False)() == (False, "not running")


def test_lease_check_holder_standby_and_dead() -> None:
    live, dead = NOW + timedelta(seconds=30), NOW - timedelta(seconds=5)

    def check(**state: object) -> tuple[bool, str]:
        return lease_check(lambda: state, now=lambda: NOW)()

    ok, detail = check(held=True, holder="me", expires_at=live)
    assert ok and "this process" in detail
    ok, detail = check(held=False, holder="replica-2", expires_at=live)
    assert ok and "standby" in detail and "replica-2" in detail
    ok, detail = check(held=False, holder="replica-2", expires_at=dead)
    assert not ok and "expired" in detail
    ok, detail = check(held=True, holder="me", expires_at=dead)
    assert not ok and "renewal" in detail
    ok, detail = check(held=False, holder=None, expires_at=None)
    assert not ok and "no process" in detail
    # Objects with attributes work as well as mappings; naive datetimes are taken as UTC.
    obj = SimpleNamespace(held=False, holder="r3", expires_at=live.replace(tzinfo=None))
    assert lease_check(lambda: obj, now=lambda: NOW)()[0]


def test_served_by_the_http_server_as_its_health_callable() -> None:
    """``HealthCheck`` plugs into ``bot.http_server.build_asgi(health=...)`` as is."""
    import anyio
    import httpx

    from bot.http_server import build_asgi
    from bot.metrics import CONTENT_TYPE, Metrics

    state = {"db": True}
    health = HealthCheck({"database": lambda: (state["db"], "reachable" if state["db"] else "unreachable"),
                          "scheduler": lambda: (True, "running")})
    metrics = Metrics()
    metrics.set_poll_lag(3)
    asgi = build_asgi(SimpleNamespace(), health=health, metrics=metrics.render)  # type: ignore[arg-type]

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://ncebot") as client:
            ok = await client.get("/healthz")
            assert ok.status_code == 200
            assert ok.json()["checks"]["database"] == {"ok": True, "detail": "reachable"}
            state["db"] = False
            bad = await client.get("/healthz")
            assert bad.status_code == 503
            assert bad.json()["checks"]["database"] == {"ok": False, "detail": "unreachable"}
            scrape = await client.get("/metrics")
            assert scrape.headers["content-type"] == CONTENT_TYPE
            assert "ncebot_poll_lag_seconds 3.0\n" in scrape.text

    anyio.run(scenario)
