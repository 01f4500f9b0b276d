"""Well-known ids of the default seed data (``sandbox/data/default.yaml`` is the source of truth; a test checks
that these agree with it). Subscription ids are lower-case; the sandbox compares ids case-insensitively."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------------------------- partner
TENANT_ID = "3d6b4f7e-2a81-4c5e-9f0d-7e1b2c3a4d5f"
CLIENT_ID = "5a8f2c1d-9e3b-4f6a-8d7c-1b2e3f4a5b6c"
PC_SCOPE = "https://api.partnercenter.microsoft.com/.default"

# ----------------------------------------------------------------------------------------------- customers
CONTOSO = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"  # Contoso Ltd: the ids of Microsoft's create examples
FABRIKAM = "6f297517-16e6-4313-8c6d-4e10496d2871"  # Fabrikam, Inc.: the ids of Microsoft's schedule examples
ADVENTURE_WORKS = "0b3e5a7c-9d1f-4b2a-8e6c-4a7d9f1b3e58"  # one ineligible subscription per eligibility code
WIDE_WORLD = "5e7a9c1b-3d5f-4e7a-9b1c-8d0f2a4c6e79"  # Wide World Importers
WOODGROVE = "8c0e2a4b-6d8f-4c0e-a2b4-6d8f0a2c4e93"  # Woodgrove Bank: no subscriptions
NORTHWIND = "1a3c5e7f-9b1d-4f3a-8c5e-7a9c1e3f5b12"  # Northwind Traders: 32 subscriptions
LITWARE = "9d1f3b5c-7e9a-4d1f-b3c5-7e9a1d3f5b04"  # Litware, Inc.: no relationship -> 403 / 20002
LISTED_CUSTOMERS = [CONTOSO, FABRIKAM, ADVENTURE_WORKS, WIDE_WORLD, WOODGROVE, NORTHWIND]  # list order
UNKNOWN_CUSTOMER = "00000000-0000-4000-8000-00000000dead"  # -> 403 / 20002
UNKNOWN_SUB = "00000000-0000-4000-8000-00000000beef"  # -> 404 / 20003

# ----------------------------------------------------------------------------------------------- Contoso
ELIGIBLE_SIMPLE = "9beb6319-6889-4d28-a155-68ca9c783842"  # M365 E5, P1Y monthly, 25 seats, no add-ons
ELIGIBLE_MONTHLY = "5c77dc7f-be2c-4306-a3b5-0ebb4365d7fc"  # Business Basic, P1M monthly
ELIGIBLE_BASE = "66e738d6-e0bc-4ffb-8818-bde99bc7008b"  # O365 E3, P1Y annual, with two add-ons
ELIGIBLE_BASE_ADDONS = ["359011dc-b5b0-4660-850b-a8fa9b2e3309", "159d9f87-ce39-4ebd-b9c2-ecf0892a85a1"]
NESTED_BASE = "2e56c7f5-e120-4ca4-bff3-7da763b4d777"  # base whose add-on has its own add-on
NESTED_PARENT_ADDON = "e3afd30d-d6e7-45af-a6c5-fb905992ae00"  # add-on of NESTED_BASE, parent of NESTED_ADDON
NESTED_ADDON = "72e424f4-10ff-4c76-b101-c274f73ba498"  # add-on of an add-on
NESTED_BASE_ADDONS = [NESTED_PARENT_ADDON, NESTED_ADDON, "80906bd9-e45c-4d1b-92a8-ea3f3fb6e105"]  # active, flat
INACTIVE_ADDON = "1d3f5b7a-9c2e-4a6b-8d0f-3e5a7c9b1d24"  # suspended add-on of NESTED_BASE -> 900262 if listed
TRIAL_SUB = "7a2b9c4d-1e3f-4a5b-8c6d-0e9f8a7b6c51"
NCE_SUB = "4b8e2f6a-0c3d-4e9f-a1b7-5d2c8e4f6a93"  # NCE, offerId with colons; its end date is a valid anchor
FAILING_SUB = "9e5d3c1b-7a2f-4e8d-b6c4-1f0a9e8d7c62"  # its migration ends Failed (900225) and reverts
FAILING_ERROR_CODE = 900225

# ----------------------------------------------------------------------------------------------- Fabrikam
SCHEDULE_SUB = "c6105a9c-36cb-4f88-92ea-9573040725c4"  # term ends in 60 days
SCHEDULE_RENEWAL_SUB = "2f4a6c8e-0b1d-4f3a-9c5e-7b9d1f3a5c86"  # term ends in 25 days (migrateOnRenewal)
SCHEDULE_FAILING_SUB = "8d6b4f2a-9e7c-4a5b-b3d1-6f8e0a2c4e97"  # its migration ends Failed

# ----------------------------------------------------------------------------------------------- Wide World
EXTERNAL_SUB = "3c5e7a9b-1d3f-4b5a-8c7e-9f1b3d5a7c20"  # for /_sandbox/external-migration (Microsoft-led)
WIDE_WORLD_MONTHLY = "6a8c0e2b-4d6f-4a8c-9e0b-2d4f6a8c0e31"

# ----------------------------------------------------------------------------------------------- Northwind
NORTHWIND_SUBS = [f"4e0a0000-0000-4000-8000-{i:012d}" for i in range(1, 33)]

# ----------------------------------------------------------------------------------------------- eligibility
#: eligibility error code (0-12) -> (customer, subscription) that trips it on validate.
INELIGIBLE_BY_CODE: dict[int, tuple[str, str]] = {
    code: (ADVENTURE_WORKS, f"ad0c0000-0000-4000-8000-0000000000{code:02d}") for code in range(13)
}
LAST_DAY_SUB = INELIGIBLE_BY_CODE[10][1]  # last 24 h of term: eligible only with purchaseFullTerm=true
RECENT_ADDON = "ad0c0000-0000-4000-8000-000000000104"  # add-on bought 7 days ago (makes its base code 4)

#: extra request fields needed for the codes that depend on the request rather than the subscription.
INELIGIBLE_EXTRA_BODY: dict[int, dict[str, Any]] = {
    11: {"customTermEndDate": "2001-01-31T00:00:00Z"},  # month end, but in the past -> 900242
    12: {"customTermEndDate": "2099-06-15T00:00:00Z"},  # neither month end nor an NCE end date -> 900292
}
CUSTOM_END_BEYOND_TERM: dict[str, Any] = {"customTermEndDate": "2099-12-31T00:00:00Z"}  # -> code 11 / 900291

#: eligibility code -> (HTTP status, Partner Center error code) of a create for the same subscription.
CREATE_ERROR_BY_CODE: dict[int, tuple[int, int]] = {
    0: (400, 900215),
    1: (400, 900216),
    2: (400, 900217),
    3: (400, 900218),
    4: (400, 900219),
    5: (400, 900220),
    6: (400, 900222),
    7: (403, 900226),
    8: (400, 900221),
    9: (400, 900247),
    10: (400, 900217),
    11: (400, 900242),
    12: (400, 900292),
}

# ----------------------------------------------------------------------------------------------- BAM files
#: Example files of Microsoft's NCE batch migration tool for the default seed (see sandbox/README.md).
BAM_EXAMPLES = Path(__file__).parent / "data" / "bam"
