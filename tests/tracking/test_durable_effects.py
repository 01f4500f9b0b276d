"""Issue #10 item 2: a state change and the Slack writes it causes commit together. A process that dies right
after submitting a request (before anything reached Slack) leaves its thread post and parent edit in the outbox;
the next lease holder sends them."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain import RequestKind, RequestState, RequestView
from bot.tracking.outbox import OutboxNotifier
from sandbox import known
from storage.tracking import OutboxMessage
from tests.tracking.conftest import TrackingEnv, count


class DiesAfterCommit(OutboxNotifier):
    """The process dies right after a state change commits: every notice the code would send AFTER the commit is
    lost (here: raises, and the services only log it)."""

    def update_request(self, request: RequestView) -> None:
        raise RuntimeError("the process died after the commit")


def test_a_crash_right_after_the_submission_commits_loses_no_thread_post(tracking_env: TrackingEnv) -> None:
    env = tracking_env
    doomed = env.node("replica-a", notifier_class=DiesAfterCommit)
    view = env.approved(doomed, RequestKind.MIGRATE, known.CONTOSO, known.ELIGIBLE_SIMPLE)
    assert view.state in (RequestState.PROCESSING, RequestState.SUBMITTED) and view.migration_id
    # The process dies here: the state change is committed, nothing was sent to Slack.
    assert not any("Submitted to Partner Center" in t for t in env.thread_texts(view))
    with env.session_factory() as session:
        queued = {(row.kind, row.key) for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.request_id == view.id, OutboxMessage.status == "pending"))}
    assert ("thread", f"{view.id}:submitted") in queued and ("update", f"state:{view.state.value}") in queued
    doomed.service.lease.release()

    successor = env.node("replica-b")
    assert successor.service.run_once()  # takes the lease, drains the outbox
    texts = env.thread_texts(view)
    assert count(texts, lambda t: "Submitted to Partner Center" in t and view.migration_id in t) == 1
    assert view.migration_id in str(env.parent(view).blocks)
