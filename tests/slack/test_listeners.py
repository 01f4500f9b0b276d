"""Listeners as plain functions (fast tier): they ack at once and hand the rest to the work queue; a full queue is
answered in the ack. No HTTP here; tests/slack/test_ack_under_load.py does the same over signed HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack.deps import CONTEXT_KEY, AppDeps, app_deps
from bot.work_queue import QueueFull, WorkQueue
from handlers.commands import nce_command


class Recorder:
    """Stands in for Bolt's ``ack`` / ``respond`` (Bolt's objects, not ours): records each call and its thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.done = threading.Event()

    def __call__(self, text: str = "", **kwargs: Any) -> None:
        self.calls.append((threading.current_thread().name, {"text": text, **kwargs}))
        self.done.set()


def command(text: str) -> dict[str, Any]:
    return {"command": "/nce", "text": text, "user_id": "UUNIT00001", "channel_id": "CUNIT00001",
            "trigger_id": "1.trigger", "response_url": "http://127.0.0.1:9/response/x"}


def deps(work: WorkQueue) -> AppDeps:
    # The workflow is never reached by `help` or by a refused command.
    return AppDeps(workflow=None, slack_client=WebClient(base_url="http://127.0.0.1:9/api/"),  # type: ignore[arg-type]
                   work=work)


def test_the_ack_comes_first_and_the_work_runs_on_the_queue() -> None:
    work = WorkQueue(workers=1, backlog=0)
    ack, respond = Recorder(), Recorder()
    nce_command(ack=ack, body=command("help"), respond=respond, client=WebClient(), context={CONTEXT_KEY: deps(work)})
    assert len(ack.calls) == 1 and ack.calls[0][1] == {"text": ""}  # a plain ack, from the listener's thread
    assert ack.calls[0][0] == threading.current_thread().name
    assert respond.done.wait(10)
    thread, answer = respond.calls[0]
    assert thread.startswith("ncebot-work") and "/nce validate" in answer["text"]
    work.close()


def test_a_full_queue_is_answered_in_the_ack_and_nothing_runs() -> None:
    work = WorkQueue(workers=1, backlog=0)
    release = threading.Event()
    work.submit(release.wait)  # the only place is taken
    try:
        ack, respond = Recorder(), Recorder()
        nce_command(ack=ack, body=command("help"), respond=respond, client=WebClient(),
                    context={CONTEXT_KEY: deps(work)})
        [(_, answer)] = ack.calls
        assert answer["response_type"] == "ephemeral"
        assert "busy" in answer["text"] and "1 requests ahead" in answer["text"]
        assert work.pending == 1 and respond.calls == []
    finally:
        release.set()
        work.close()
    assert respond.calls == []


def test_work_queue_bounds_reservations_and_releases() -> None:
    work = WorkQueue(workers=1, backlog=1)
    assert work.capacity == 2
    first, second = work.reserve(), work.reserve()
    with pytest.raises(QueueFull) as full:
        work.reserve()
    assert full.value.ahead == 2
    second.release()
    ran = threading.Event()
    first.submit(ran.set)
    assert ran.wait(5)
    work.close()
    with pytest.raises(QueueFull):
        work.reserve()  # closed: nothing more is accepted
    with pytest.raises(ValueError):
        WorkQueue(workers=0)


def test_listeners_find_their_deps_in_the_context() -> None:
    with pytest.raises(RuntimeError, match="create_app"):
        app_deps({})
    made = deps(WorkQueue())
    assert app_deps({CONTEXT_KEY: made}) is made
    made.work.close()
