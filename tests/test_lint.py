"""ruff and mypy, as configured in pyproject.toml, pass on the code: run here so `make test` runs them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]' installs it)")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-cache", "rag", "api", "evals", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing() -> None:
    # The files to check (rag/, api/, evals/, benchmarks/) and the strictness are in pyproject.toml's [tool.mypy].
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
