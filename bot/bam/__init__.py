"""Microsoft's NCE batch migration tool (BAM): its CSV files in (a campaign's plan) and out (results)."""

from bot.bam.models import (
    BamFileError,
    BamKind,
    BamPlan,
    BamProblem,
    PlannedCancel,
    PlannedMigration,
    PlannedSubscription,
    SkippedRow,
    at_a_glance,
    headline,
)
from bot.bam.reader import read_bam

__all__ = [
    "BamFileError",
    "BamKind",
    "BamPlan",
    "BamProblem",
    "PlannedCancel",
    "PlannedMigration",
    "PlannedSubscription",
    "SkippedRow",
    "at_a_glance",
    "headline",
    "read_bam",
]
