"""The texts of bot/texts escape what people and Partner Center wrote (``&``, ``<``, ``>``) and keep ncebot's own
markup (mentions, code spans) live. Pure functions: no service, no Slack."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.partner_center.models import Migration, MigrationSchedule
from bot.texts import announcements, refusals, thread

EVIL = "<!channel> & <https://evil.example|click>"
SAFE = "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
WHEN = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def test_a_rejection_escapes_the_reason_and_keeps_the_mentions() -> None:
    assert thread.rejected("UREQ", "UAPP", EVIL) == f"<@UREQ> rejected by <@UAPP>: {SAFE}"


def test_a_refusal_by_partner_center_escapes_its_code_and_description() -> None:
    assert thread.refused("UREQ", "<b>", EVIL) == f"<@UREQ> Partner Center refused the request: &lt;b&gt;: {SAFE}"
    footer = thread.submitted_footer("ms-1", [("sub-1", "Code&", EVIL)])
    assert footer == f" MS-RequestId `ms-1`. Refused: `sub-1`: Code&amp;: {SAFE}"


def test_a_failed_migration_escapes_partner_centers_words_and_ends_in_one_full_stop() -> None:
    migration = Migration(id="mig-1", error_code="<E>", error_description=EVIL + ".")
    text = thread.migration_failed("UREQ", migration, thread.AFTER_FAILURE_UNKNOWN)
    assert text == (f"<@UREQ> :x: Migration `mig-1` failed: &lt;E&gt;: {SAFE}. " + thread.AFTER_FAILURE_UNKNOWN)


def test_a_failed_schedule_escapes_partner_centers_words() -> None:
    text = thread.schedule_failed("UREQ", "sch-1", "Bad>", EVIL, thread.AFTER_SCHEDULE_FAILURE_UNKNOWN)
    assert text.startswith(f"<@UREQ> :x: Schedule `sch-1` failed: Bad&gt;: {SAFE}. ")


def test_announcements_escape_status_and_error() -> None:
    migration = Migration(id="mig-2", current_subscription_id="sub-2", error_code="E<1>", error_description=EVIL)
    text = announcements.migration_made_outside("cust-1", migration, "Fail<ed>", announcements.failed_tail(migration))
    assert text == (":eyes: Migration `mig-2` made outside ncebot for customer `cust-1`, legacy subscription "
                    f"`sub-2`: *Fail&lt;ed&gt;*: E&lt;1&gt;: {SAFE}.")
    schedule = MigrationSchedule(id="sch-2", current_subscription_id="sub-3", target_date=WHEN, error_code="X&Y",
                                 error_description=EVIL)
    assert announcements.schedule_made_outside("cust-1", schedule, "Failed").endswith(
        f"(on 2026-12-03): *Failed*: X&amp;Y: {SAFE}.")


def test_refusals_read_as_before() -> None:
    """Spot checks of sentences moved from the services (the end-to-end tests assert the rest)."""
    assert refusals.already_open("r1", "migrate", "sub-1", "pending") == (
        "Request r1 (migrate, pending) is already open for subscription sub-1.")
    assert refusals.already_open("r2", "bulk", "sub-1") == "Request r2 (bulk) is already open for subscription sub-1."
    assert refusals.already_decided("r3", "expired", ["UAPP"]) == "Request r3 was already expired"
    assert refusals.already_decided("r3", "rejected", []) == "Request r3 was already rejected by the system"
    assert refusals.pc_refused("reading the schedule", None, "gone") == (
        "Partner Center refused reading the schedule: gone")
    assert refusals.nothing_to_do(0) == "Nothing to do: no row of the plan is eligible."
    assert refusals.nothing_to_do(2) == "Nothing to do: no row of the plan is eligible (2 not eligible)."
