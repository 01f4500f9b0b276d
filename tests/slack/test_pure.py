"""Parser and Block Kit builders, without Slack."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain import (
    ChangeOptions,
    EligibilityReason,
    InvalidInput,
    RequestKind,
    RequestState,
    RequestView,
    ValidationOutcome,
    Vote,
)
from bot.slack import blocks as ui
from bot.slack import ids
from bot.slack.commands import SUBCOMMANDS, parse_command
from bot.slack.forms import FormErrors, read_change_form, read_reason

C = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
S = "9beb6319-6889-4d28-a155-68ca9c783842"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_parse_full_migrate_command() -> None:
    cmd = parse_command(f"migrate {C} {S} term=p1y billing=Annual quantity=12 full-term addons=none")
    assert (cmd.name, cmd.customer_id, cmd.subscription_id, cmd.needs_modal) == ("migrate", C, S, False)
    assert cmd.options == ChangeOptions(term="P1Y", billing="annual", quantity=12, full_term=True, addons="none")


def test_parse_schedule_without_date_opens_the_modal() -> None:
    assert parse_command(f"schedule {C} {S}").missing == ("date",)
    cmd = parse_command(f"schedule {C} {S} date=2030-01-31")
    assert cmd.options.target_date == date(2030, 1, 31) and not cmd.needs_modal
    assert parse_command("migrate").missing == ("customer", "subscription")
    assert parse_command(f"reschedule {C}").missing == ("schedule",)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("frobnicate", "subcommand", "unknown subcommand"),
        ("migrate contoso not-a-guid", "subscription", "not a valid subscription id"),  # a customer may be named
        (f"migrate {C} {S} colour=blue", "colour", "unknown option"),
        (f"migrate {C} {S} term=P2Y", "term", "P1M, P1Y, P3Y"),
        (f"migrate {C} {S} billing=weekly", "billing", "monthly"),
        (f"migrate {C} {S} quantity=0", "quantity", "whole number"),
        (f"migrate {C} {S} end-date=2030-02-30", "end-date", "not a real date"),
        (f"migrate {C} {S} date=2030-01-01", "date", "not used by"),
        (f"schedule {C} {S} date=2030-01-01 on-renewal", "date", "not both"),
        (f"migrate {C} {S} addons=xyz", "addons", "not a valid addons id"),
        (f"migrate {C} {S} term=P1Y term=P1M", "term", "twice"),
        (f"status {C} {S} {S}", "arguments", "unexpected argument"),
    ],
)
def test_wrong_arguments_name_the_argument(text: str, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_command(text)
    assert caught.value.field == field
    assert words in str(caught.value)


def _request(state: RequestState, **extra: object) -> RequestView:
    base = dict(id="r" * 32, kind=RequestKind.MIGRATE, state=state, customer_id=C, subscription_id=S,
                requester="UREQ", created_at=NOW, expires_at=NOW + timedelta(hours=24),
                options=ChangeOptions(term="P1Y"))
    base.update(extra)
    return RequestView(**base)  # type: ignore[arg-type]


def _buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    return [(e["action_id"], e["value"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_request_message_has_the_two_buttons_with_the_request_id() -> None:
    blocks = ui.request_blocks(_request(RequestState.PENDING, votes=(Vote("UA", NOW),), required_approvals=2))
    assert _buttons(blocks) == [(ids.APPROVE_ACTION, "r" * 32), (ids.REJECT_ACTION, "r" * 32)]
    text = json.dumps(blocks)
    assert "Waiting for approval (1 of 2)" in text and "<@UA>" in text and "<@UREQ>" in text


def test_decided_messages_drop_the_buttons() -> None:
    approved = ui.request_blocks(_request(RequestState.APPROVED, decided_by=("UA",), decided_at=NOW))
    assert _buttons(approved) == []
    assert "Approved by <@UA> at <!date^" in json.dumps(approved) and "|2025-03-01 12:00 UTC>" in json.dumps(approved)
    rejected = ui.request_blocks(_request(RequestState.REJECTED, decided_by=("UB",), decided_at=NOW,
                                          reject_reason="wrong seats"))
    assert _buttons(rejected) == [] and "|2025-03-01 12:00 UTC>: wrong seats" in json.dumps(rejected)
    assert "Rejected by <@UB> at <!date^" in json.dumps(rejected)
    expired = ui.request_blocks(_request(RequestState.EXPIRED))
    assert _buttons(expired) == [] and "Expired at" in json.dumps(expired)


def test_help_lists_every_subcommand() -> None:
    text = json.dumps(ui.help_blocks())
    for sub in SUBCOMMANDS:
        assert f"/nce {sub.name}" in text
    assert "coming soon" not in (text + ui.help_text()).lower()


def test_modal_metadata_is_small_and_round_trips() -> None:
    meta = ui.ModalMetadata(kind="migrate", channel="C1", customer=C, customer_name="x" * 5000)
    dumped = meta.dump()
    assert len(dumped) <= 3000
    assert ui.ModalMetadata.load(dumped).customer == C
    modal = ui.change_modal("schedule", meta)
    assert modal["callback_id"] == ids.SCHEDULE_MODAL and len(modal["private_metadata"]) <= 3000
    assert {b.get("block_id") for b in modal["blocks"]} >= {ids.CUSTOMER_BLOCK, ids.TARGET_DATE_BLOCK}


def test_form_errors_land_on_input_blocks() -> None:
    values = {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": C}}},
              ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"value": "many"}}}
    with pytest.raises(FormErrors) as caught:
        read_change_form(values, kind="schedule", today=date(2025, 1, 1))
    assert set(caught.value.errors) == {ids.SUBSCRIPTION_BLOCK, ids.QUANTITY_BLOCK, ids.TARGET_DATE_BLOCK}
    with pytest.raises(FormErrors):
        read_reason({})


# --- the bulk request message, without Slack -------------------------------------------------------------


def test_bulk_message_caps_the_list_and_names_the_excluded() -> None:
    now = NOW
    subs = [f"00000000-0000-4000-8000-{n:012d}" for n in range(25)]
    left_out = [f"11111111-0000-4000-8000-{n:012d}" for n in range(13)]
    outcome = ValidationOutcome(customer_id=C, subscription_id="", eligible=True, reasons=tuple(
        EligibilityReason(sub, 5, "The new commerce product is not available") for sub in left_out))
    request = RequestView(id="r1", kind=RequestKind.BULK, state=RequestState.PENDING, customer_id=C,
                          subscription_id=None, requester="UR", created_at=now, expires_at=now,
                          subscription_name="25 subscription(s)", validation=outcome)
    items = [{"target": sub, "name": f"Sub {n}", "catalog_item_id": "CFQ:0001:X",
              "body": {"addOnMigrations": [{}] if n == 0 else []}} for n, sub in enumerate(subs)]
    blocks = ui.request_blocks(request, items)
    shown = json.dumps(blocks)
    assert "25 subscription(s) will be migrated now" in shown and "and 5 more" in shown
    assert all(sub in shown for sub in subs[:20]) and not any(sub in shown for sub in subs[20:])
    assert "+ 1 add-on(s)" in shown
    assert "Left out (13)" in shown and "and 3 more" in shown and left_out[0] in shown and left_out[12] not in shown
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks) and len(blocks) <= ui.MAX_BLOCKS
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [
        ids.APPROVE_ACTION, ids.REJECT_ACTION]
    without = json.dumps(ui.request_blocks(request))  # items could not be read: the count still shows
    assert "25 subscription(s)" in without and "Left out (13)" in without
    assert "Bulk migration of 25 subscription(s)" in ui.request_text(request)


def test_submitted_line_says_what_partner_center_accepted() -> None:
    on_date = _request(RequestState.SUBMITTED, kind=RequestKind.SCHEDULE, schedule_id="sch-1",
                       options=ChangeOptions(target_date=date(2026, 12, 5)))
    assert ui.progress_line(on_date) == ":outbox_tray: Schedule `sch-1` created: migrates on 2026-12-05"
    at_renewal = _request(RequestState.SUBMITTED, kind=RequestKind.SCHEDULE, schedule_id="sch-2",
                          options=ChangeOptions(on_renewal=True))
    assert ui.progress_line(at_renewal) == ":outbox_tray: Schedule `sch-2` created: migrates at renewal"
    moved = _request(RequestState.SUBMITTED, kind=RequestKind.RESCHEDULE, schedule_id="sch-3",
                     options=ChangeOptions(on_renewal=True))
    assert ui.progress_line(moved) == ":outbox_tray: Schedule `sch-3` updated: migrates at renewal"
    migrated = _request(RequestState.SUBMITTED, migration_id="mig-1")
    assert ui.progress_line(migrated) == ":outbox_tray: Migration `mig-1` submitted to Partner Center"
    for view in (on_date, at_renewal, moved, migrated):
        assert "the change" not in json.dumps(ui.request_blocks(view))


def test_a_cancelled_schedule_reads_cancelled_not_failed() -> None:
    cancelled = _request(RequestState.FAILED, kind=RequestKind.SCHEDULE, schedule_id="sch-9",
                         error_code="ScheduleCancelled", error_description="cancelled by request `r2`")
    line = ui.progress_line(cancelled)
    assert line is not None and line.startswith(":no_entry_sign: Cancelled: schedule `sch-9` cancelled by request")
    assert "Failed" not in line
    failed = _request(RequestState.FAILED, error_code="900225", error_description="seat cap")
    assert ui.progress_line(failed) == ":x: Failed: `900225`: seat cap"


# --- App Home tab -----------------------------------------------------------------------------------------


def _home_requests(n: int, state: RequestState = RequestState.PENDING) -> list[RequestView]:
    return [_request(state, id=f"{i:032x}", customer_name="Contoso Ltd", subscription_name="Microsoft 365 E5")
            for i in range(n)]


def test_home_view_for_an_approver_has_buttons_reusing_the_approval_ids() -> None:
    pending = _home_requests(2)
    view = ui.home_view("UAPPROVER", pending, [], True)
    assert view["type"] == "home" and view["blocks"][0]["type"] == "header"
    text = json.dumps(view["blocks"])
    assert "/nce migrate" in text and "/nce pending" in text and "Waiting for a decision (2)" in text
    assert "Contoso Ltd" in text and "Microsoft 365 E5" in text and "<@UREQ>" in text
    assert "expires <!date^" in text and "|2025-03-02" in text
    assert _buttons(view["blocks"]) == [(ids.APPROVE_ACTION, pending[0].id), (ids.REJECT_ACTION, pending[0].id),
                                        (ids.APPROVE_ACTION, pending[1].id), (ids.REJECT_ACTION, pending[1].id)]
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)) == 2  # unique within the view, as Slack requires
    assert "You have not asked for any change yet" in text


def test_home_view_for_a_non_approver_has_no_buttons_and_lists_their_requests() -> None:
    mine = [_request(RequestState.COMPLETED, new_subscription_id="n" * 8, migration_id="m" * 8),
            _request(RequestState.REJECTED, id="a" * 32, decided_by=("UAPP",), decided_at=NOW, reject_reason="no")]
    view = ui.home_view("UREQ", [], mine, False, notice=":white_check_mark: done")
    text = json.dumps(view["blocks"])
    assert _buttons(view["blocks"]) == [] and "Nothing is waiting for a decision" in text
    assert ":white_check_mark: done" in text and "Your recent requests" in text
    assert "*Completed*" in text and "nnnnnnnn" in text and f"/nce status {C} mmmmmmmm" in text
    assert "*Rejected*" in text and "Rejected by <@UAPP>" in text


def test_home_view_caps_its_lists_within_slack_limits() -> None:
    view = ui.home_view("UAPPROVER", _home_requests(150), _home_requests(30, RequestState.SUBMITTED), True)
    blocks = view["blocks"]
    assert len(blocks) <= ui.MAX_HOME_BLOCKS
    text = json.dumps(blocks)
    assert "Waiting for a decision (150)" in text
    assert f"and {150 - ui.HOME_PENDING_LISTED} more" in text and f"and {30 - ui.HOME_MINE_LISTED} more" in text
    assert len(_buttons(blocks)) == 2 * ui.HOME_PENDING_LISTED
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert all(len(b["text"]["text"]) <= 150 for b in blocks if b["type"] == "header")
