"""The project's lint, format and type checks, as the development section runs them.

ruff (``check`` and ``format --check``) over the whole project and mypy over the
engine, each with the project's configuration in ``pyproject.toml``, run from the
project's root with the tools of this virtual environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The folder of this environment's executables (not resolved: a venv's python is a link).
BIN = Path(sys.executable).parent


def _run(args: list[str]) -> subprocess.CompletedProcess:
    """Run a tool of this environment from the project's root, its output captured."""
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_ruff_and_mypy_report_nothing(tmp_path):
    checks = {
        "ruff check .": [str(BIN / "ruff"), "check", "."],
        "ruff format --check .": [str(BIN / "ruff"), "format", "--check", "."],
        "mypy": [str(BIN / "mypy"), "--cache-dir", str(tmp_path / "mypy-cache")],
    }
    failed = {}
    for name, args in checks.items():
        done = _run(args)
        if done.returncode != 0:
            failed[name] = f"exit {done.returncode}\n{done.stdout}{done.stderr}"
    assert not failed, "\n\n".join(f"$ {name}\n{output}" for name, output in failed.items())
