"""The pure parser of ``/nce renewals [days=N] [customer|all]``."""

from __future__ import annotations

import pytest

from bot.domain import InvalidInput
from bot.slack.commands import parse_command
from sandbox import known


def test_renewals_arguments() -> None:
    assert (parse_command("renewals").customer_id, parse_command("renewals").days) == (None, None)
    every = parse_command("renewals days=14 all")
    assert (every.name, every.customer_id, every.days, every.needs_modal) == ("renewals", None, 14, False)
    one = parse_command(f"renewals {known.CONTOSO.upper()} days=7")
    assert (one.customer_id, one.days) == (known.CONTOSO, 7)
    named = parse_command("renewals adventure works days=7")  # a name, resolved by the handler (SPEC §4)
    assert (named.customer_id, named.query, named.days) == (None, "adventure works", 7)


@pytest.mark.parametrize(("text", "field", "words"), [
    ("renewals days=abc", "days", "whole number"),
    ("renewals days=400", "days", "1 to 366"),
    ("renewals term=P1Y", "term", "only `days=N`"),
    ("renewals all all", "arguments", "unexpected argument"),
    ("renewals days=٣", "days", "whole number"),
])
def test_renewals_refusals_name_the_argument(text: str, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_command(text)
    assert caught.value.field == field and words in str(caught.value)
