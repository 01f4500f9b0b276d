"""Playground fixtures: the demo world (sandbox Partner Center, Slack stand-in, the real app over signed HTTP)
with the playground served on it, and — for the browser tests — Debian's chromium driven by Playwright.

Screenshots go to ``$NCEBOT_TEST_ARTIFACTS`` (default: ``tmp/artifacts`` in the repository), under
``playground/``; the path is printed at the end of the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo_world import CHANNELS, GROUPS, ROLES, USERS, WORK_CHANNEL, DemoWorld
from sandbox.playground import Person, Playground, PlaygroundServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("NCEBOT_TEST_ARTIFACTS") or ROOT / "tmp" / "artifacts") / "playground"
_written: list[Path] = []


@pytest.fixture(scope="session")
def demo_world() -> Iterator[DemoWorld]:
    with DemoWorld.start() as world:
        yield world


@pytest.fixture(scope="session")
def playground(demo_world: DemoWorld) -> Iterator[PlaygroundServer]:
    people = [Person(uid, name, ROLES[uid]) for uid, name in USERS.items()]
    model = Playground(demo_world.standin, demo_world.requester, people=people, channels=CHANNELS, groups=GROUPS,
                       default_channel=WORK_CHANNEL)
    with PlaygroundServer(model) as server:
        yield server


@pytest.fixture
def api(playground: PlaygroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=playground.url, timeout=30) as client:
        yield client


def browser_executable() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: the playwright package is missing (pip install -e '.[dev]')")
    executable = browser_executable()
    if executable is None:
        pytest.skip("browser tests skipped: no chromium installed (Debian: apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, playground: PlaygroundServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    _written.append(path)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _written:
        terminalreporter.write_line(f"playground screenshots ({len(_written)}): {ARTIFACTS}")
