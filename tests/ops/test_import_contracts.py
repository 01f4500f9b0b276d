"""The layering of issue #10 is enforced by import-linter contracts (pyproject.toml, run by ``make test``):
they hold for the code as it is, and a forbidden import makes ``lint-imports`` fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("bot", "handlers", "storage", "sandbox")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages, before the editable install's
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_the_unchanged_copy_passes(copy_of_the_code: Path) -> None:
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract", "shown"),
    [
        ("bot/workflow_slack.py", "from slack_sdk import WebClient\n",
         "The Slack-free core never imports slack_bolt or slack_sdk", "bot.workflow_slack"),
        ("handlers/back_to_the_app.py", "from bot.app import create_app\n",
         "Layers:", "handlers.back_to_the_app -> bot.app"),
        ("storage/asks_partner_center.py", "from bot.partner_center.client import PartnerCenterClient\n",
         "Layers:", "storage.asks_partner_center -> bot.partner_center.client"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy_of_the_code: Path, module: str, source: str, contract: str,
                                              shown: str) -> None:
    if module == "bot/workflow_slack.py":  # the workflow itself importing it: an import the core must not make
        path = copy_of_the_code / "bot" / "workflow.py"
        path.write_text(path.read_text() + "\nimport bot.workflow_slack  # noqa\n")
    (copy_of_the_code / module).write_text(source)
    result = lint_imports(copy_of_the_code)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and shown in broken, result.stdout


def test_a_cycle_between_sibling_modules_breaks_a_contract(copy_of_the_code: Path) -> None:
    commands = copy_of_the_code / "handlers" / "commands.py"
    commands.write_text(commands.read_text() + "\nfrom handlers import views  # noqa\n")
    views = copy_of_the_code / "handlers" / "views.py"
    views.write_text(views.read_text() + "\nfrom handlers import commands  # noqa\n")
    result = lint_imports(copy_of_the_code)
    assert result.returncode != 0
    assert "No import cycles between the modules of a package BROKEN" in result.stdout, result.stdout
