"""The playground in a real browser (Debian's chromium, driven by Playwright): a person types ``/nce`` commands,
switches who they are, clicks buttons, fills in modals and opens the Home tab, and the page shows what the real
app answered through the Slack stand-in. Screenshots are written as test artifacts (see conftest)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.demo_world import ALICE, APPROVAL_CHANNEL, BOB, CAROL, WORK_CHANNEL, DemoWorld
from bot.slack import ids
from sandbox import known
from sandbox.playground import PlaygroundServer
from tests.playground.conftest import screenshot

pw = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed")
expect = pw.expect
WAITING = re.compile("waiting for approval", re.I)  # the requester's private confirmation


def _open(page: Any, playground: PlaygroundServer, user: str, channel: str) -> None:
    page.goto(f"{playground.url}?user={user}&channel={channel}")
    expect(page.get_by_test_id("title")).not_to_be_empty()


def _command(page: Any, text: str) -> None:
    page.get_by_test_id("composer").fill(text)
    page.get_by_test_id("composer").press("Enter")


def _be(page: Any, user: str) -> None:
    page.get_by_test_id("who").select_option(user)


def _go(page: Any, place: str) -> None:
    page.locator(f"[data-place='{place}']").click()


def _ask(page: Any, text: str) -> str:
    """Type a change command; the request id in the private 'waiting for approval' answer that follows."""
    notes = page.locator(".message.ephemeral", has_text=WAITING)
    expect(page.get_by_test_id("messages")).not_to_be_empty()
    before = notes.count()
    _command(page, text)
    expect(notes).to_have_count(before + 1)
    note = notes.last
    expect(note).to_contain_text("Only visible to you")
    found = re.search(r"[0-9a-f]{32}", note.inner_text())
    assert found, note.inner_text()
    return found.group(0)


def _request_message(page: Any, request_id: str) -> Any:
    message = page.get_by_test_id("messages").locator("[data-testid=message]:not(.ephemeral)", has_text=request_id)
    expect(message).to_have_count(1)
    return message


def test_a_migration_is_asked_for_approved_and_followed_to_completion(
        page: Any, playground: PlaygroundServer, demo_world: DemoWorld) -> None:
    _open(page, playground, ALICE, WORK_CHANNEL)
    request_id = _ask(page, f"/nce migrate {known.CONTOSO} {known.ELIGIBLE_SIMPLE} term=P1Y billing=monthly")

    _be(page, BOB)  # bob does not see alice's private answer
    expect(page.locator(".message.ephemeral", has_text=request_id)).to_have_count(0)
    _go(page, APPROVAL_CHANNEL)
    message = _request_message(page, request_id)
    expect(message.locator(".block.header")).to_contain_text("Migrate")
    expect(message.locator(".fields").first).to_contain_text("Customer")
    expect(message.locator(".mention", has_text="@alice").first).to_be_visible()
    approve = message.locator(f"button[data-action-id='{ids.APPROVE_ACTION}']")
    reject = message.locator(f"button[data-action-id='{ids.REJECT_ACTION}']")
    expect(approve).to_have_class(re.compile(r"\bprimary\b"))
    expect(reject).to_have_class(re.compile(r"\bdanger\b"))
    approve.click()
    if page.get_by_test_id("confirm").is_visible():
        page.get_by_test_id("confirm-yes").click()
    expect(message).to_contain_text(re.compile(r"approved\b.*@bob", re.I))
    expect(approve).to_have_count(0)

    sandbox = demo_world.runtime.sandbox
    assert sandbox is not None
    sandbox.advance(240)  # Partner Center works on it; ncebot's tracking follows up in the thread
    expect(message).to_contain_text(re.compile("completed", re.I), timeout=40_000)
    message.get_by_test_id("thread-link").click()
    thread = page.get_by_test_id("thread")
    expect(thread).to_contain_text("Submitted to Partner Center")
    expect(thread).to_contain_text(re.compile(r"migration .*completed", re.I), timeout=30_000)
    expect(thread).to_contain_text("new NCE subscription")
    page.evaluate("document.getElementById('thread-messages').scrollTop = 1e9")  # the completion, in view
    screenshot(page, "approval-flow")


def test_a_rejection_through_its_modal(page: Any, playground: PlaygroundServer) -> None:
    _open(page, playground, ALICE, WORK_CHANNEL)
    request_id = _ask(page, f"/nce migrate {known.CONTOSO} {known.ELIGIBLE_MONTHLY}")

    _be(page, CAROL)
    _go(page, APPROVAL_CHANNEL)
    message = _request_message(page, request_id)
    message.locator(f"button[data-action-id='{ids.REJECT_ACTION}']").click()
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(page.get_by_test_id("modal-title")).to_have_text("Reject request")
    expect(modal).to_contain_text(request_id)
    page.get_by_test_id("modal-submit").click()  # nothing typed: Slack itself asks for the required field
    expect(modal.get_by_test_id("field-error")).to_have_text("Please complete this required field.")
    reason = modal.locator(f"[data-action-id='{ids.REASON_INPUT}']")
    reason.fill("Contoso renews in March: migrate then")
    screenshot(page, "reject-modal")
    page.get_by_test_id("modal-submit").click()
    expect(modal).to_have_count(0)
    expect(message).to_contain_text(re.compile(r"rejected\b.*@carol", re.I))
    expect(message).to_contain_text("Contoso renews in March: migrate then")
    expect(message.locator("button[data-action-id]")).to_have_count(0)
    expect(page.locator(".message.ephemeral", has_text=re.compile(rf"rejected.*{request_id}", re.I))).to_be_visible()
    screenshot(page, "rejected")


def test_the_home_tab_lists_requests_and_decides_them(page: Any, playground: PlaygroundServer) -> None:
    _open(page, playground, ALICE, WORK_CHANNEL)
    request_id = _ask(page, f"/nce migrate {known.CONTOSO} {known.ELIGIBLE_BASE}")

    _be(page, BOB)
    _go(page, "home")
    home = page.get_by_test_id("home")
    expect(home.locator(".block.header").first).to_have_text("ncebot: NCE migrations with approval")
    expect(home).to_contain_text("Waiting for a decision")
    decision = home.locator(f".block.actions[data-block-id='{ids.DECISION_BLOCK}:{request_id}']")
    expect(decision.locator("button.primary")).to_have_text("Approve")
    expect(decision.locator("button.danger")).to_have_text("Reject")
    screenshot(page, "home-tab")
    decision.locator("button.primary").click()
    if page.get_by_test_id("confirm").is_visible():
        page.get_by_test_id("confirm-yes").click()
    expect(home).to_contain_text(re.compile(rf"approved.*{request_id}", re.I))
    expect(decision).to_have_count(0)
    _go(page, APPROVAL_CHANNEL)
    expect(_request_message(page, request_id)).to_contain_text(re.compile(r"approved\b.*@bob", re.I))


def test_a_request_made_through_the_migrate_modal(page: Any, playground: PlaygroundServer) -> None:
    """``/nce migrate`` without ids opens the form: the customer picker asks the app for options as you type
    (block_suggestion), picking one makes the app re-render the modal with that customer's subscriptions."""
    _open(page, playground, ALICE, WORK_CHANNEL)
    notes = page.locator(".message.ephemeral", has_text=WAITING)
    expect(page.get_by_test_id("messages")).not_to_be_empty()
    before = notes.count()
    _command(page, "/nce migrate")
    modal = page.get_by_test_id("modal")
    expect(page.get_by_test_id("modal-title")).to_have_text("Migrate to NCE")
    customer = modal.locator(f"input[data-action-id='{ids.CUSTOMER_SELECT}']")
    customer.fill("Northwind")
    modal.locator(".combo li", has_text="Northwind Traders").click()
    subscription = modal.locator(f"select[data-action-id='{ids.SUBSCRIPTION_SELECT}']")
    expect(subscription.locator("option")).to_have_count(len(known.NORTHWIND_SUBS) + 1)
    expect(customer).to_have_value(re.compile("Northwind Traders"))
    subscription.select_option(index=1)
    expect(modal.get_by_test_id("modal-submit")).to_have_text("Request approval")
    screenshot(page, "migrate-modal")
    modal.get_by_test_id("modal-submit").click()
    expect(modal).to_have_count(0)
    expect(notes).to_have_count(before + 1)
    expect(notes.last).to_contain_text("Migrate now")


def test_a_check_report_is_downloaded_as_csv(page: Any, playground: PlaygroundServer) -> None:
    _open(page, playground, ALICE, WORK_CHANNEL)
    _command(page, f"/nce check {known.WIDE_WORLD}")
    card = page.locator("[data-testid=file]", has_text=known.WIDE_WORLD)
    expect(card).to_be_visible()
    with page.expect_download() as download:
        card.get_by_test_id("file-download").click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert content.splitlines()[0].startswith("PartnerTenantId,")
    assert known.WIDE_WORLD in content


GALLERY: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Gallery :tada:"}},
    {"type": "section", "block_id": "s1",
     "text": {"type": "mrkdwn", "text": "*bold* _italic_ ~gone~ `code` <https://example.com/x?a=1&amp;b=2|a link> "
                                        "<@UBOB000002> <#CNCEAPPROV1> <!subteam^SNCEAPPROV1> <!here> "
                                        "<!date^1700000000^{date_num} at {time}|fallback date>\n"
                                        "&gt; quoted\n```pre *not bold*```"},
     "fields": [{"type": "mrkdwn", "text": "*Field 1*\none"}, {"type": "plain_text", "text": "Field 2 *plain*"}],
     "accessory": {"type": "button", "action_id": "acc", "text": {"type": "plain_text", "text": "Accessory"}}},
    {"type": "section", "block_id": "evil",
     "text": {"type": "mrkdwn", "text": "&lt;script&gt;window.pwned=1&lt;/script&gt; &amp; <javascript:alert(1)|js> "
                                        "<img src=x onerror=window.pwned=1>"}},
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "context :white_check_mark:"},
                                     {"type": "image", "image_url": "https://x.invalid/a.png", "alt_text": "pic"}]},
    {"type": "actions", "block_id": "a1", "elements": [
        {"type": "button", "action_id": "ok", "style": "primary", "text": {"type": "plain_text", "text": "Go"}},
        {"type": "button", "action_id": "no", "style": "danger", "text": {"type": "plain_text", "text": "Stop"},
         "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "mrkdwn", "text": "*Really*"},
                     "confirm": {"type": "plain_text", "text": "Yes, stop"},
                     "deny": {"type": "plain_text", "text": "Keep going"}, "style": "danger"}},
        {"type": "static_select", "action_id": "pick", "placeholder": {"type": "plain_text", "text": "Pick"},
         "options": [{"text": {"type": "plain_text", "text": "One"}, "value": "1"},
                     {"text": {"type": "plain_text", "text": "Two"}, "value": "2"}]},
        {"type": "datepicker", "action_id": "day", "initial_date": "2027-03-31"},
        {"type": "overflow", "action_id": "more", "options": [{"text": {"type": "plain_text", "text": "Edit"},
                                                              "value": "e"}]},
    ]},
    {"type": "input", "block_id": "i1", "label": {"type": "plain_text", "text": "Reason"}, "optional": True,
     "hint": {"type": "plain_text", "text": "Say why"},
     "element": {"type": "plain_text_input", "action_id": "why", "multiline": True, "initial_value": "because"}},
    {"type": "input", "block_id": "i2", "label": {"type": "plain_text", "text": "Customer"},
     "element": {"type": "external_select", "action_id": "cust", "placeholder": {"type": "plain_text",
                                                                                 "text": "Type a name"}}},
    {"type": "input", "block_id": "i3", "label": {"type": "plain_text", "text": "Flags"},
     "element": {"type": "checkboxes", "action_id": "flags", "options": [
         {"text": {"type": "mrkdwn", "text": "*Full term*"}, "value": "full",
          "description": {"type": "plain_text", "text": "pay the whole term"}}]}},
    {"type": "input", "block_id": "i4", "label": {"type": "plain_text", "text": "File"},
     "element": {"type": "file_input", "action_id": "f"}},
    {"type": "mystery_block"},
]


def test_block_kit_is_rendered_faithfully_and_slack_text_is_never_html(page: Any, playground: PlaygroundServer,
                                                                     ) -> None:
    _open(page, playground, BOB, WORK_CHANNEL)
    page.evaluate("""(blocks) => {
        const box = document.createElement('div'); box.id = 'gallery';
        box.append(window.ncePlayground.renderBlocks(blocks));
        // Not inside #messages: the page's poller redraws that list whenever the stand-in's record changes.
        document.body.append(box);
    }""", GALLERY)
    g = page.locator("#gallery")
    expect(g.locator(".block.header")).to_have_text("Gallery 🎉")
    s1 = g.locator("[data-block-id='s1']")
    expect(s1.locator("b").first).to_have_text("bold")
    expect(s1.locator("i")).to_have_text("italic")
    expect(s1.locator("s")).to_have_text("gone")
    expect(s1.locator("code")).to_have_text("code")
    expect(s1.locator("pre")).to_have_text("pre *not bold*")
    expect(s1.locator("blockquote")).to_have_text("quoted")
    link = s1.locator("a", has_text="a link")
    expect(link).to_have_attribute("href", "https://example.com/x?a=1&b=2")
    mentions = s1.locator(".mention").all_inner_texts()
    assert mentions == ["@bob", "#nce-approvals", "@nce-approvers", "@here"]
    expect(s1.locator(".slack-date")).to_have_text(re.compile(r"^2023-11-1[45] at \d{1,2}:\d\d [AP]M$"))
    expect(s1.locator(".fields > *")).to_have_count(2)
    expect(s1.locator(".fields")).to_contain_text("Field 2 *plain*")
    expect(s1.locator(".accessory button")).to_have_text("Accessory")

    evil = g.locator("[data-block-id='evil']")
    expect(evil).to_contain_text("<script>window.pwned=1</script> &")
    assert evil.locator("script, img").count() == 0
    expect(evil.locator("a")).to_have_count(0)  # javascript: is not a link
    assert page.evaluate("window.pwned") is None

    expect(g.locator("hr.block.divider")).to_have_count(1)
    expect(g.locator(".block.context")).to_contain_text("context ✅")
    expect(g.locator("button.primary")).to_have_text("Go")
    g.locator("button.danger").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("Sure?")
    expect(confirm.locator("b")).to_have_text("Really")
    expect(page.get_by_test_id("confirm-yes")).to_have_text("Yes, stop")
    page.get_by_test_id("confirm-deny").click()
    expect(confirm).to_be_hidden()
    expect(g.locator("select[data-action-id='pick'] option")).to_have_count(3)  # placeholder + 2
    expect(g.locator("input[type=date]")).to_have_value("2027-03-31")
    expect(g.locator("[data-type='overflow'] button")).to_have_text("⋮")
    expect(g.locator("[data-block-id='i1'] label")).to_contain_text("Reason (optional)")
    expect(g.locator("[data-block-id='i1'] textarea")).to_have_value("because")
    expect(g.locator("[data-block-id='i1'] .hint-text")).to_have_text("Say why")
    expect(g.locator("[data-block-id='i2'] input")).to_have_attribute("placeholder", "Type a name")
    expect(g.locator("[data-block-id='i3'] .choice b")).to_have_text("Full term")
    expect(g.locator("[data-block-id='i4'] input[type=file]")).to_be_disabled()
    expect(g.locator(".block.unknown")).to_contain_text("mystery_block")
    screenshot(page, "block-kit-gallery")
