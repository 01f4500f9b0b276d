"""Guard of issue #10 item 6: the user-facing sentences of the Slack-free core live in ``bot/texts`` (one module per
surface), not inline in the services, the tracker, campaigns, intake, deadlines, webhooks, the workflow facade or
the access rules.

A heuristic over the AST (fast: no service is started): a ``str`` constant or f-string whose literal text has four
words or more is a sentence, unless it is a docstring, an argument of a logging call, the message of an exception
raised for a programmer error (or of one that only reaches the log), an ``assert`` message, a dict key or
subscript, or SQL. What is legitimately kept elsewhere is allow-listed below, each with its reason.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("bot/services", "bot/tracking", "bot/campaigns", "bot/intake", "bot/deadlines", "bot/webhooks",
           "bot/workflow.py", "bot/access.py")
MIN_WORDS = 4

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
# Exceptions whose message is never shown to a Slack user: programmer errors, and WebhookRejected (why a webhook
# delivery failed verification: logged, the sender only gets a bare 401).
NOT_USER_EXCEPTIONS = frozenset({
    "ValueError", "TypeError", "RuntimeError", "AssertionError", "KeyError", "LookupError", "IndexError",
    "NotImplementedError", "WebhookRejected",
})
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP)\b", re.IGNORECASE)

# Whole modules kept out of bot/texts: module -> why.
ALLOWED_MODULES = {
    "bot/webhooks/registration.py": "the `ncebot webhooks` command: operator terminal output and argparse help, "
                                    "the CLI's surface like bot/cli.py and bot/doctor.py (no Slack user reads it)",
}
# Single literals kept where they are: (module, start of the text) -> why.
ALLOWED_TEXTS = {
    ("bot/webhooks/receiver.py", "not a Partner Center event"): "the HTTP 400 body answered to Partner Center's "
                                                                "webhook sender (a machine), not a user",
    ("bot/tracking/outbox.py", "the request has no Slack message"): "an outbox row's diagnostic (its error column, "
                                                                    "for operators), never posted",
    ("bot/tracking/outbox.py", "no parent message yet"): "an outbox row's diagnostic, never posted",
    ("bot/tracking/outbox.py", "live reply not posted yet"): "an outbox row's diagnostic, never posted",
}


@dataclass(frozen=True)
class Finding:
    module: str
    line: int
    text: str


def _literal_text(node: ast.Constant | ast.JoinedStr) -> str:
    """The literal text, each f-string placeholder as ``{}``."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _words(text: str) -> int:
    return sum(1 for word in re.sub(r"\{\}", " ", text).split() if re.search(r"[A-Za-z]", word))


def _ignored(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are not sentences for users (see the module docstring)."""
    ignored: set[int] = set()

    def all_of(node: ast.AST) -> None:
        ignored.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            ignored.add(id(node.value))  # a docstring (or a bare string statement)
        elif isinstance(node, ast.Call):
            func = node.func
            logging_call = (isinstance(func, ast.Attribute) and func.attr in LOG_METHODS
                            and "log" in ast.unparse(func.value).lower())
            if logging_call or (isinstance(func, ast.Name) and func.id in NOT_USER_EXCEPTIONS):
                all_of(node)
        elif isinstance(node, ast.Assert) and node.msg is not None:
            all_of(node.msg)
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    ignored.add(id(key))
        elif isinstance(node, ast.Subscript):
            ignored.add(id(node.slice))
        elif isinstance(node, ast.JoinedStr):
            ignored.update(id(n) for n in ast.walk(node) if n is not node)  # judged as a whole
    return ignored


def find_sentences(source: str, module: str) -> list[Finding]:
    """The user-facing sentence literals in ``source`` (the heuristic of this guard)."""
    tree = ast.parse(source)
    ignored = _ignored(tree)
    found: list[Finding] = []
    for node in ast.walk(tree):
        if id(node) in ignored:
            continue
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            text = _literal_text(node)
            if _words(text) >= MIN_WORDS and not SQL.match(text):
                found.append(Finding(module, node.lineno, text))
    return sorted(found, key=lambda f: (f.module, f.line))


def _modules() -> list[Path]:
    paths: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        paths.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return paths


def _allowed(finding: Finding) -> bool:
    return finding.module in ALLOWED_MODULES or any(
        module == finding.module and finding.text.startswith(start) for module, start in ALLOWED_TEXTS
    )


def _scan() -> list[Finding]:
    found: list[Finding] = []
    for path in _modules():
        found.extend(find_sentences(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()))
    return found


def test_no_user_facing_sentence_outside_bot_texts() -> None:
    stray = [f"{f.module}:{f.line}: {f.text!r}" for f in _scan() if not _allowed(f)]
    assert stray == [], "sentences for users belong in bot/texts (one module per surface):\n" + "\n".join(stray)


def test_every_allow_list_entry_still_matches() -> None:
    """A stale entry would silently allow a future sentence: each one must still name something kept."""
    found = _scan()
    for module, start in ALLOWED_TEXTS:
        assert any(f.module == module and f.text.startswith(start) for f in found), (module, start)
    for module in ALLOWED_MODULES:
        assert any(f.module == module for f in found), module
    assert all((ROOT / name).exists() for name in SCANNED)


def test_the_checker_reports_an_inline_sentence() -> None:
    snippet = '''
def submit(outbox, view, request_id):
    if view is None:
        raise NotFound(f"Request {request_id} does not exist.")
    outbox.thread(view.id, f"{view.id}:ran", "Schedule ran: the migration started.")
    return NotAuthorized("Only approvers " "can decide.")
'''
    found = find_sentences(snippet, "bot/services/example.py")
    assert [(f.line, f.text) for f in found] == [
        (4, "Request {} does not exist."),
        (5, "Schedule ran: the migration started."),
        (6, "Only approvers can decide."),
    ]
    assert not _allowed(found[0])


def test_the_checker_leaves_logs_docstrings_programmer_errors_keys_and_sql_alone() -> None:
    snippet = '''
"""A module docstring with many words in it."""
import logging
log = logging.getLogger("x")

def f(session, rows, key):
    """A function docstring with many words."""
    log.warning("request %s: the notifier failed to post it", key)
    logging.getLogger("y").info("another log line with words %s", key)
    assert rows, "the pending row is locked by this transaction"
    counts = {"a dict key with four words": 1}
    value = rows["a subscript with four words"]
    session.execute("SELECT id FROM requests WHERE state = 'pending'")
    outbox_key = f"{key}:deferred:{rows}:{value}"
    if not rows:
        raise ValueError(f"a programmer error with {key} words")
    raise WebhookRejected("bad_signature", "the signature does not match the body")
'''
    assert find_sentences(snippet, "bot/tracking/example.py") == []
