"""What ncebot says while it turns a bulk command or a BAM file into a campaign request, and ``/nce check all``'s
answers (SPEC §8, §9): the import modal, the first answer with its estimate, progress, the final answer.
Pure builders; estimates come from :mod:`bot.estimates`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final

from bot.bam.models import BamFileError, BamPlan, SkippedRow, at_a_glance, headline
from bot.slack import ids
from bot.slack.blocks.common import Block, code, context, error_text, esc, plain, section
from bot.slack.blocks.modals import ModalMetadata

SHOWN: Final = 10  # refused rows listed in an answer before the list is cut (with totals)


# --- /nce import: the modal ---------------------------------------------------------------------------------


def import_modal(metadata: ModalMetadata) -> Block:
    """One file_input for one CSV file (SPEC §8.1)."""
    return {
        "type": "modal",
        "callback_id": ids.IMPORT_MODAL,
        "title": plain("Import a BAM file", 24),
        "submit": plain("Import"),
        "close": plain("Cancel"),
        "private_metadata": metadata.dump(),
        "blocks": [
            section("Upload a CSV file of Microsoft's NCE batch migration tool (BAM): *subscriptions.csv* (migrate "
                    "now), *subscriptionsforschedule.csv* (schedule) or *schedulemigrations.csv* (rows with "
                    "`Status=Cancel` cancel schedules). Every row is checked and validated with Partner Center; "
                    "then one approval request is posted for the whole file."),
            {"type": "input", "block_id": ids.IMPORT_FILE_BLOCK, "label": plain("BAM file (CSV)"),
             "element": {"type": "file_input", "action_id": ids.IMPORT_FILE_INPUT, "filetypes": ["csv"],
                         "max_files": 1}},
            context("Columns are matched by name (older layouts too), `,` or `;` separators. A file with bad rows "
                    "is refused as a whole, naming each line and column; nothing is stored."),
        ],
    }


NO_FILE: Final = "Attach one CSV file."


# --- answers -------------------------------------------------------------------------------------------------


def reading_file(name: str) -> str:
    return f":hourglass_flowing_sand: Reading `{esc(name)}`…"


def file_refused(name: str, error: BamFileError) -> str:
    """Every bad row by line and column (the error's own message lists them; escaped here)."""
    return error_text(":x:", f"`{esc(name)}` was not imported.\n{esc(error)}")


def problems_file(name: str, count: int) -> str:
    return f":page_facing_up: All {count:,} problems of `{esc(name)}`, by line and column. Nothing was imported."


def planning_bulk(customers: int, query: str | None) -> str:
    who = f"customer {esc(query)}" if query else f"{customers:,} customers"
    return (f":hourglass_flowing_sand: Planning a bulk migration of {who}: listing the legacy subscriptions, then "
            "validating each with Partner Center. This answer is updated as it goes.")


def listing(done: int, total: int, subscriptions: int) -> str:
    return (f":hourglass_flowing_sand: Listed the subscriptions of {done:,} of {total:,} customers "
            f"({subscriptions:,} so far)…")


def validating(estimate: str, source: str) -> str:
    """``Validating 600 subscriptions; Partner Center allows 450 validations … : about 6 minutes.``"""
    return f":hourglass_flowing_sand: Validating {esc(source)}: {estimate}. This answer is updated as it goes."


def validated_so_far(done: int, total: int, left: str) -> str:
    return f":hourglass_flowing_sand: Validated {done:,} of {total:,} migrations; {left}."


def plan_read(name: str, plan: BamPlan) -> str:
    return f"`{esc(name)}`: {esc(headline(plan))} ({esc(at_a_glance(plan))})"


def refused_rows(rows: Sequence[SkippedRow], *, what: str = "row") -> str:
    """``12 rows are not in the request`` with the reasons counted and the first rows listed, cut with totals."""
    if not rows:
        return ""
    reasons = Counter(r.reason.split(":", 1)[0] if ":" in r.reason else r.reason for r in rows)
    top = ", ".join(f"{code(reason)} {count:,}" for reason, count in reasons.most_common(5))
    lines = [f"*{len(rows):,} {what}{'' if len(rows) == 1 else 's'} not in the request* (by reason: {top}):"]
    for row in rows[:SHOWN]:
        where = f"line {row.line}, " if row.line else ""
        sub = code(row.subscription_id) if row.subscription_id else f"customer {code(row.customer_tenant_id)}"
        lines.append(f"• {where}{sub}: {esc(row.reason)}")
    if len(rows) > SHOWN:
        lines.append(f"_showing {SHOWN} of {len(rows):,} — the approval request's thread has them all_")
    return "\n".join(lines)


def nothing_to_send(what: str, rows: Sequence[SkippedRow]) -> str:
    head = error_text(":information_source:", f"No request was made: nothing in {esc(what)} can be sent to "
                                              "Partner Center")
    return head + ("\n" + refused_rows(rows) if rows else "")


def requested(confirmation: str, plan: BamPlan, rows: Sequence[SkippedRow]) -> str:
    text = f"{confirmation}\n{esc(headline(plan))}: {esc(at_a_glance(plan))}."
    return text + ("\n" + refused_rows(rows) if rows else "")


# --- /nce check all ------------------------------------------------------------------------------------------


def check_all_started(customers: int, estimate: str) -> str:
    return (f":hourglass_flowing_sand: Checking every legacy subscription of all {customers:,} customers with Partner "
            f"Center ({estimate}). One CSV follows; this answer is updated as it goes.")


def check_all_progress(done: int, total: int, subscriptions: int, estimate: str) -> str:
    return (f":hourglass_flowing_sand: Checked {done:,} of {total:,} customers, {subscriptions:,} subscriptions so "
            f"far; {estimate}.")


def check_all_done(customers: int, rows: int, eligible: int, ineligible: int, skipped: int, note: str,
                   failures: Sequence[tuple[str, str]]) -> str:
    text = (f":bar_chart: Checked {customers - len(failures):,} of {customers:,} customers: {rows:,} subscriptions, "
            f"{eligible:,} eligible, {ineligible:,} ineligible, {skipped:,} skipped. {note}")
    if failures:
        listed = "\n".join(f"• {esc(name)}: {esc(reason)}" for name, reason in failures[:SHOWN])
        more = f"\n_showing {SHOWN} of {len(failures):,}_" if len(failures) > SHOWN else ""
        text += f"\n*{len(failures):,} customer(s) could not be checked* (not in the CSV):\n{listed}{more}"
    return text


def needs_customer_list(command: str) -> str:
    """``/nce bulk all`` and ``/nce check all`` without a customer list (no customer lookup configured)."""
    return f"`{command}` needs the customer list; give one customer id"


def bulk_subject(customers: int, customer: str | None) -> str:
    """What a bulk command plans, for its progress answers: every customer's subscriptions, or one customer's."""
    if customer is None:
        return f"the subscriptions of {customers:,} customers"
    return f"customer {customer}'s subscriptions"
