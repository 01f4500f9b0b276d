"""The one CSV writer of every file ncebot writes: check, plan, results and audit (SPEC §8.6).

UTF-8 with a byte-order mark (Excel then reads accents right), CRLF line ends, the value formats of Microsoft's NCE
batch migration tool (BAM, which writes with CsvHelper and the invariant culture): ``True``/``False`` and
``MM/dd/yyyy HH:mm:ss`` (in UTC here), quoting only where needed, and formula-safe cells: text a spreadsheet would
run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Final

BOM: Final = "\ufeff"
LINE_END: Final = "\r\n"
DATE_TIME_FORMAT: Final = "%m/%d/%Y %H:%M:%S"  # .NET's invariant "G": MM/dd/yyyy HH:mm:ss
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def format_datetime(value: datetime | date) -> str:
    """BAM's date-time text. A date is midnight of that day (BAM's ``DateTime``); aware times are shown in UTC."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
    else:
        moment = datetime(value.year, value.month, value.day)
    return moment.strftime(DATE_TIME_FORMAT)


def cell(value: Any) -> str:
    """The text of one cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, datetime | date):
        return format_datetime(value)
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole file as text (BOM first). Slack's upload encodes it as UTF-8; :func:`to_bytes` does the same."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a file ncebot wrote, by column name (BOM dropped); for tests and round trips."""
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM), newline="")))
