"""Docker cannot run here: check the Dockerfile's promises by reading it."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (k, _) in enumerate(instructions) if k == "FROM")
    return instructions[last_from:]


def test_base_image_is_python_311_slim() -> None:
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert froms and all(rest.startswith("python:3.11-slim") for rest in froms)


def test_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in _final_stage() if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_healthcheck_hits_healthz_on_port_without_curl() -> None:
    [check] = [rest for keyword, rest in _final_stage() if keyword == "HEALTHCHECK"]
    assert "/healthz" in check and "PORT" in check and "urllib" in check
    assert "curl" not in check and "wget" not in check
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")  # the one-liner is valid Python


def test_cmd_volume_port_and_database_on_the_volume() -> None:
    stage = _final_stage()
    assert [json.loads(rest) for k, rest in stage if k == "CMD"][-1] == ["ncebot", "run"]
    volumes = [rest for k, rest in stage if k == "VOLUME"]
    assert volumes and "/data" in volumes[-1]
    assert any(k == "EXPOSE" and "3000" in rest.split() for k, rest in stage)
    env = " ".join(rest for k, rest in stage if k == "ENV")
    assert "DATABASE_URL=sqlite:////data/ncebot.db" in shlex.split(env)


def test_pip_does_not_keep_a_cache() -> None:
    for keyword, rest in _instructions():
        if keyword == "RUN" and "pip install" in rest:
            assert "--no-cache-dir" in rest


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    for entry in (".env", ".venv", ".git", "*.db", "tests"):
        assert entry in ignored
