"""Every command block of the README runs, in a fresh clone of the repository.

The clone is made with ``git clone`` from this checkout (committed files only, nothing
downloaded). The quick start's set-up (``python3 -m venv``, ``pip install``) is replaced by the
current environment, whose ``dlreport`` is the one under test; the test-suite block is not
run from inside the test suite. After the blocks, the clone's ``git status`` is clean: what
the quick start writes (``report.html``) is git-ignored.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETUP = ("python3 -m venv", ". .venv/bin/activate", "pip install")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def _commands(block: str) -> list[str]:
    """The block's commands, less the environment set-up the test provides itself."""
    out = []
    for line in block.splitlines():
        parts = [p.strip() for p in line.split("&&")]
        kept = [p for p in parts if p and not p.startswith(SETUP)]
        if kept and "pytest" not in line:
            out.append(" && ".join(kept))
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    dest = tmp_path_factory.mktemp("fresh") / "dlreport"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    return dest


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DLREPORT_SCHEDULER", None)
    return env


def test_every_sh_and_python_block_runs(clone: Path) -> None:
    commands = [c for block in _blocks("sh") for c in _commands(block)]
    assert any(c.startswith("dlreport analyze sample_logs/") for c in commands)  # the quick start
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=clone, env=_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stderr[-2000:]}"
    python = _blocks("python")
    assert any("import dlreport" in b for b in python)
    for block in python:
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=clone, env=_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, f"{block}\n{done.stderr[-2000:]}"
    assert (clone / "report.html").exists()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # report.html and the like are git-ignored


def test_the_workflow_block_uses_the_action() -> None:
    (block,) = [b for b in _blocks("yaml") if "uses:" in b]
    workflow = yaml.safe_load(block)
    steps = workflow["jobs"]["dlreport"]["steps"]
    (action,) = [s for s in steps if "dlreport@" in s.get("uses", "")]
    action_yml = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    required = {k for k, v in action_yml["inputs"].items() if v.get("required")}
    assert required <= set(action["with"])
    assert set(action["with"]) <= set(action_yml["inputs"])
