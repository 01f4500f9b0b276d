"""What the sandbox was asked, for tests: each Partner Center call's route name, path parameters and JSON body.

Kept beside the state (not in it) so that resets of the seed data do not touch it; ``clear(state)`` empties it.
Bounded, so that a long-running sandbox (``ncebot sandbox``) never grows without end.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

MAX_ENTRIES: Final = 20_000


@dataclass(frozen=True)
class Entry:
    name: str
    params: dict[str, str]
    body: Any


_lock = threading.Lock()
_journals: weakref.WeakKeyDictionary[Any, deque[Entry]] = weakref.WeakKeyDictionary()


def record(state: Any, name: str, params: dict[str, str], body: Any) -> None:
    with _lock:
        _journals.setdefault(state, deque(maxlen=MAX_ENTRIES)).append(Entry(name, dict(params), body))


def entries(state: Any, name: str | None = None) -> list[Entry]:
    with _lock:
        found = list(_journals.get(state, ()))
    return [e for e in found if name is None or e.name == name]


def clear(state: Any) -> None:
    with _lock:
        _journals.pop(state, None)
