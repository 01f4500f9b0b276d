"""A deterministic large partner for the sandbox (``ncebot sandbox --seed large``): 200 customers and 5,000 legacy
subscriptions with add-ons and a realistic mix of ineligibility, generated from a fixed random seed.

It has the same shape as ``data/default.yaml`` (and reuses its partner credentials, settings and offers), so the
sandbox loads it like any seed file. One customer is very large (600 subscriptions, as in issue #11's trial);
customer names share words ("… Bank", "Contoso …") so that searching by part of a name finds several.
"""

from __future__ import annotations

import random
import uuid
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

SEED: Final = 20_261_203
CUSTOMERS: Final = 200
SUBSCRIPTIONS: Final = 5_000
BIG_CUSTOMER_SUBSCRIPTIONS: Final = 600
NAME: Final = "large"

_DEFAULT = Path(__file__).parent / "data" / "default.yaml"

_FIRST = ("Contoso", "Fabrikam", "Northwind", "Adventure", "Woodgrove", "Litware", "Tailspin", "Wingtip", "Proseware",
          "Lucerne", "Alpine", "Blue Yonder", "Coho", "Consolidated", "Graphic", "Humongous", "Margie's", "Relecloud",
          "Trey", "Fourth Coffee", "Lamna", "Munson's", "Nod", "Southridge", "VanArsdel", "Wide World")
_SECOND = ("Bank", "Cycles", "Traders", "Insurance", "Health", "Logistics", "Foods", "Energy", "Legal", "Media",
           "Pharma", "Airlines", "Motors", "Studios", "Partners", "Retail", "Labs", "Holdings")
_PLACES = ("Berlin", "Lyon", "Leeds", "Austin", "Oslo", "Porto", "Graz", "Turin", "Cork", "Ghent", "Malmö", "Brno")

# Legacy offers of default.yaml: bases (NCE equivalent exists unless noted) and add-on offers.
_BASES: Final = (
    ("796b6b5f-613c-4e24-a17c-eba730d49c02", "Office 365 E3", 30),
    ("3451a3b0-8cda-44a7-bad7-c30be81c4aaa", "Business Basic", 25),
    ("91fd106f-4b2c-4938-95ac-f54f74e9a239", "Business Standard", 25),
    ("8f0c5670-4e56-4892-b06d-91c085d7004f", "Microsoft 365 E5", 10),
    ("d8b6f4e2-0c1a-4e3d-9b5f-7a2c4e6d8f15", "Business Central Essentials", 6),
    ("c1a9e7b5-2d4f-4a6c-8e0b-9f7d5c3a1e84", "Skype for Business Plus CAL", 4),  # no NCE offer: code 5
)
_ADDONS: Final = (
    ("a4c2f5d7-3b1e-4d9a-8c6f-2e7b0a9d1c53", "Audio Conferencing"),
    ("b7e3d1f9-5a2c-4e8b-9d0f-6c1a3e5b7d92", "Domestic Calling"),
    ("e6d2a3b1-08c4-4f4c-9a85-5c9f0b7d1e21", "Extra File Storage"),
)
_DEPARTMENTS = ("Finance", "Sales", "Head office", "Warehouse", "Support", "Engineering", "Front desk", "HR", "Legal",
                "Marketing", "Branch", "Contractors", "Field staff", "Executives", "IT")

#: Share of subscriptions per ineligibility (sandbox eligibility codes of validate); the rest are eligible.
INELIGIBILITY_MIX: Final[dict[str, float]] = {
    "suspended (0)": 0.03,
    "processing (1)": 0.01,
    "term ends within the hour (2)": 0.005,
    "promotion (3)": 0.02,
    "unsupported term/billing (6)": 0.01,
    "active for less than a month (7)": 0.02,
    "trade blocked (8)": 0.01,
    "invalid partner id (9)": 0.01,
    "last day of term (10)": 0.005,
    "trial (5)": 0.02,
}
ADDON_SHARE: Final = 0.22  # of all subscriptions
FAILING_SHARE: Final = 0.01  # migrations that end Failed (900225)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _sizes(rng: random.Random) -> list[int]:
    """Subscriptions per customer: one of 600, the rest between 2 and ~45, summing to exactly 5,000."""
    rest = SUBSCRIPTIONS - BIG_CUSTOMER_SUBSCRIPTIONS
    sizes = [rng.randint(4, 40) for _ in range(CUSTOMERS - 1)]
    while (total := sum(sizes)) != rest:
        at = rng.randrange(len(sizes))
        if total < rest:
            sizes[at] += 1
        elif sizes[at] > 2:
            sizes[at] -= 1
    return [BIG_CUSTOMER_SUBSCRIPTIONS, *sizes]


def _names(rng: random.Random) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < CUSTOMERS:
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
        if name in seen:
            name = f"{name} {rng.choice(_PLACES)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _domain(name: str) -> str:
    slug = "".join(ch for ch in name.lower() if ch.isalnum())
    return f"{slug}.onmicrosoft.com"


def _term(rng: random.Random, offer_id: str) -> tuple[str, str]:
    """A term and billing plan the offer's NCE product supports (default.yaml's ``terms``), mostly annual terms."""
    supported = (_defaults()["offers"].get(offer_id) or {}).get("terms") or {"P1Y": ["monthly"]}
    terms = list(supported)
    term = rng.choices(terms, weights=[{"P1M": 30, "P1Y": 64, "P3Y": 6}.get(t, 1) for t in terms])[0]
    return term, rng.choice(supported[term])


def _base(rng: random.Random, number: int) -> dict[str, Any]:
    offer_id, offer_name, _weight = rng.choices(_BASES, weights=[b[2] for b in _BASES])[0]
    term, billing = _term(rng, offer_id)
    return {
        "id": _guid(rng),
        "offer_id": offer_id,
        "friendly_name": f"{offer_name} - {rng.choice(_DEPARTMENTS)} {number}",
        "quantity": min(int(rng.lognormvariate(2.4, 1.0)) + 1, 300),
        "term_duration": term,
        "billing_cycle": billing,
        "created": f"-{rng.randint(60, 1000)}d",
        "term_end": f"+{rng.randint(2, 360)}d",
    }


def _addon(rng: random.Random, base: dict[str, Any], number: int) -> dict[str, Any]:
    offer_id, offer_name = rng.choice(_ADDONS)
    return {
        "id": _guid(rng),
        "parent": base["id"],
        "offer_id": offer_id,
        "friendly_name": f"{offer_name} - {number}",
        "quantity": max(1, min(base["quantity"], int(rng.lognormvariate(1.8, 0.8)))),
        "term_duration": base["term_duration"] if base["term_duration"] != "P3Y" else "P1Y",
        "billing_cycle": "monthly",
        "created": f"-{rng.randint(40, 900)}d",
        "term_end": base["term_end"],
    }


def _make_ineligible(rng: random.Random, sub: dict[str, Any], why: str) -> None:
    if why.startswith("suspended"):
        sub["status"] = "suspended"
    elif why.startswith("processing"):
        sub["processing"] = True
    elif why.startswith("term ends within"):
        sub["term_end"] = f"+{rng.randint(5, 50)}m"
    elif why.startswith("promotion"):
        sub["promotion_id"] = "39NFJQT1Q5KJ:0002:39NFJQT1Q5KV"
    elif why.startswith("unsupported"):
        sub["term_duration"], sub["billing_cycle"] = "P1Y", "triennial"
    elif why.startswith("active for less"):
        sub["created"] = f"-{rng.randint(1, 25)}d"
    elif why.startswith("trade"):
        sub["trade_status"] = "blocked"
    elif why.startswith("invalid partner"):
        sub["invalid_partner_id"], sub["partner_id"] = True, "0000000"
    elif why.startswith("last day"):
        sub["term_end"] = f"+{rng.randint(2, 20)}h"
    elif why.startswith("trial"):
        sub["is_trial"], sub["term_duration"], sub["billing_cycle"] = True, "P1M", "monthly"


def _customer_subscriptions(rng: random.Random, size: int) -> list[dict[str, Any]]:
    subs: list[dict[str, Any]] = []
    bases: list[dict[str, Any]] = []
    reasons = list(INELIGIBILITY_MIX)
    weights = [*INELIGIBILITY_MIX.values(), 1.0 - sum(INELIGIBILITY_MIX.values())]
    for number in range(1, size + 1):
        if bases and rng.random() < ADDON_SHARE:
            sub = _addon(rng, rng.choice(bases), number)
        else:
            sub = _base(rng, number)
            bases.append(sub)
        why = rng.choices([*reasons, None], weights=weights)[0]
        if why is not None and not (sub.get("parent") and why.startswith(("unsupported", "trial"))):
            _make_ineligible(rng, sub, why)
        if rng.random() < FAILING_SHARE:
            sub["migration_outcome"] = {
                "status": "failed",
                "error_code": 900225,
                "error_description": "Migration failed: the seat count exceeds the 300-seat limit for this SMB "
                "offer across the customer's subscriptions.",
            }
        subs.append(sub)
    return subs


@cache
def _defaults() -> dict[str, Any]:
    return yaml.safe_load(_DEFAULT.read_text(encoding="utf-8")) or {}


def build(seed: int = SEED) -> dict[str, Any]:
    """The seed data (same shape as ``data/default.yaml``); the same ``seed`` gives the same partner."""
    rng = random.Random(seed)
    defaults = _defaults()
    customers = []
    for name, size in zip(_names(rng), _sizes(rng), strict=True):
        customers.append({
            "id": _guid(rng),
            "company_name": name,
            "domain": _domain(name),
            "subscriptions": _customer_subscriptions(rng, size),
        })
    return {
        "partner": defaults.get("partner") or {},
        "settings": defaults.get("settings") or {},
        "offers": defaults.get("offers") or {},
        "customers": customers,
    }
