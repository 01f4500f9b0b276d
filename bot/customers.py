"""Customers by id, domain or name (SPEC §4 and §9), without Slack.

Wherever a ``<customer>`` is expected people may give its tenant id, its domain, or a unique part of its company
name. :class:`CustomerDirectory` answers from the partner's customer list (paged through the Partner Center
client, kept for a few minutes in a ``cachetools.TTLCache``): exactly one match, the matches to choose from, or
none, always with the totals. Names are compared without letter case or accents ("malmo" finds "Malmö").
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from cachetools import TTLCache

from bot.domain import InvalidInput, NotFound
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Customer, is_guid

DEFAULT_TTL: Final = 300.0  # seconds; a customer added in Partner Center shows up by name after this at worst
ALL: Final = "all"  # reserved: every customer (`/nce check all`, `/nce bulk all`), never a name part
LIST_LIMIT: Final = 48  # matches shown in a list before it is cut ("showing 48 of 600")
_SLACK_LINK: Final = re.compile(r"^<([^|>]*)(?:\|([^>]*))?>$")


class CustomerSource(Protocol):
    """What the directory needs of the Partner Center client."""

    def list_customers(self, *, page_size: int = 500) -> list[Customer]: ...

    def get_customer(self, customer_id: str) -> Customer: ...


@dataclass(frozen=True)
class CustomerRef:
    id: str
    name: str
    domain: str

    @classmethod
    def of(cls, customer: Customer) -> CustomerRef:
        profile = customer.company_profile
        return cls(
            id=customer.id.lower(),
            name=(profile.company_name if profile else None) or customer.display_name,
            domain=(profile.domain if profile else None) or "",
        )

    def describe(self) -> str:
        """``Contoso Ltd (contoso.onmicrosoft.com, 75c5e79e-…)`` in full."""
        return f"{self.name} ({self.domain}, {self.id})" if self.domain else f"{self.name} ({self.id})"


class MatchedBy(StrEnum):
    ID = "id"
    DOMAIN = "domain"
    NAME = "name"  # the whole company name
    PART = "part"  # a part of the company name (or of the domain)
    SEARCH = "search"  # /nce customers: everything that contains the query
    ALL = "all"  # /nce customers without a query


@dataclass(frozen=True)
class CustomerMatches:
    """The answer to a query: ``matches`` sorted by name, out of ``total_customers`` of the partner."""

    query: str
    matches: tuple[CustomerRef, ...]
    total_customers: int
    by: MatchedBy

    @property
    def one(self) -> CustomerRef | None:
        return self.matches[0] if len(self.matches) == 1 else None

    @property
    def count(self) -> int:
        return len(self.matches)

    def head(self, limit: int = LIST_LIMIT) -> tuple[CustomerRef, ...]:
        return self.matches[:limit]

    def cut_note(self, limit: int = LIST_LIMIT) -> str | None:
        """``showing 48 of 600`` when the list is cut at ``limit``, else ``None``."""
        return f"showing {limit:,} of {self.count:,}" if self.count > limit else None


class AmbiguousCustomer(InvalidInput):
    """A name part that fits several customers; ``matches`` are the ones to choose from."""

    def __init__(self, found: CustomerMatches, limit: int = 10) -> None:
        self.found = found
        listed = "; ".join(c.describe() for c in found.head(limit))
        note = found.cut_note(limit)
        super().__init__(
            f"{found.query!r} matches {found.count} customers: {listed}"
            + (f" ({note}; `/nce customers {found.query}` lists them all)" if note else "")
            + ". Give more of the name, the domain or the id.",
            field="customer",
        )


class UnknownCustomer(NotFound):
    def __init__(self, found: CustomerMatches) -> None:
        self.found = found
        super().__init__(
            f"No customer matches {found.query!r} among the partner's {found.total_customers:,} customers: "
            "give the tenant id, the domain (contoso.onmicrosoft.com) or a part of the company name."
        )


def fold(text: str) -> str:
    """Text for comparing names: no accents, no letter case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def clean_query(text: str) -> str:
    """The query as typed: Slack may send a domain as a link (``<http://contoso.com|contoso.com>``)."""
    value = text.strip()
    link = _SLACK_LINK.match(value)
    if link:
        value = (link.group(2) or link.group(1)).strip()
    value = re.sub(r"^(?:https?|mailto):(?://)?", "", value, flags=re.IGNORECASE)
    return value.strip().strip("/").strip('"\u201c\u201d').strip()


class CustomerDirectory:
    """The partner's customers, listed at most once per ``ttl`` seconds across threads."""

    def __init__(
        self, source: CustomerSource, *, ttl: float = DEFAULT_TTL, timer: Callable[[], float] = time.monotonic,
        page_size: int = 500,
    ) -> None:
        self._source = source
        self._page_size = page_size
        self._cache: TTLCache[str, tuple[CustomerRef, ...]] = TTLCache(maxsize=1, ttl=ttl, timer=timer)
        # Held while listing: concurrent misses wait for one paged list instead of each making their own.
        self._lock = threading.Lock()

    def customers(self) -> tuple[CustomerRef, ...]:
        """Every customer of the partner, sorted by name."""
        with self._lock:
            cached = self._cache.get("all")
            if cached is None:
                listed = self._source.list_customers(page_size=self._page_size)
                cached = tuple(sorted((CustomerRef.of(c) for c in listed), key=lambda c: (fold(c.name), c.id)))
                self._cache["all"] = cached
            return cached

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def resolve(self, query: str) -> CustomerMatches:
        """An exact id, an exact domain, a whole company name, else the customers whose name (or domain)
        contains ``query``: one match, several to choose from, or none."""
        text = clean_query(query)
        if not text:
            raise InvalidInput("give a customer: its id, its domain or a part of its name", field="customer")
        if text.lower() == ALL:  # `/nce bulk all` must never become a bulk of "Allied Corp" (SPEC §8 campaigns)
            raise InvalidInput("`all` stands for every customer, which this command does not take yet: give one "
                               "customer by id, domain or name", field="customer")
        everyone = self.customers()
        total = len(everyone)
        if is_guid(text):
            return CustomerMatches(text, self._by_id(text.lower(), everyone), total, MatchedBy.ID)
        lower = text.lower()
        by_domain = tuple(c for c in everyone if c.domain.lower() == lower)
        if by_domain:
            return CustomerMatches(text, by_domain, total, MatchedBy.DOMAIN)
        wanted = fold(text)
        whole = tuple(c for c in everyone if fold(c.name) == wanted)
        if whole:
            return CustomerMatches(text, whole, total, MatchedBy.NAME)
        part = tuple(c for c in everyone if wanted in fold(c.name))
        if not part:
            part = tuple(c for c in everyone if lower in c.domain.lower())
        return CustomerMatches(text, part, total, MatchedBy.PART)

    def require(self, query: str) -> CustomerRef:
        """The one customer ``query`` names, or :class:`AmbiguousCustomer` / :class:`UnknownCustomer`."""
        found = self.resolve(query)
        if found.one is not None:
            return found.one
        if found.matches:
            raise AmbiguousCustomer(found)
        raise UnknownCustomer(found)

    def search(self, query: str | None = None) -> CustomerMatches:
        """``/nce customers [query]``: every customer whose name, domain or id contains ``query``."""
        everyone = self.customers()
        text = clean_query(query or "")
        if not text:
            return CustomerMatches("", everyone, len(everyone), MatchedBy.ALL)
        wanted, lower = fold(text), text.lower()
        found = tuple(c for c in everyone if wanted in fold(c.name) or lower in c.domain.lower() or lower in c.id)
        return CustomerMatches(text, found, len(everyone), MatchedBy.SEARCH)

    def _by_id(self, customer_id: str, everyone: tuple[CustomerRef, ...]) -> tuple[CustomerRef, ...]:
        known = tuple(c for c in everyone if c.id == customer_id)
        if known:
            return known
        try:  # newer than the cached list, or not listed: ask for it directly (one call)
            return (CustomerRef.of(self._source.get_customer(customer_id)),)
        except PartnerCenterError as exc:
            if exc.status_code in (403, 404):
                return ()
            raise
