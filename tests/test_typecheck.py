"""``mtl/`` type-checks cleanly under mypy's strict mode (configured in pyproject.toml).

Part of the default test run, so a change that breaks a signature's promise fails the suite like
any other test. The first run in a fresh clone analyses torch's and altair's annotations (about
45 s of one core); later runs reuse ``.mypy_cache``.
"""

import sys
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mtl_is_clean_under_strict_mypy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # mypy reads [tool.mypy] from the working directory's pyproject
    limit = sys.getrecursionlimit()
    try:  # mypy raises the process's recursion limit to 16,384: give the other tests theirs back
        stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    finally:
        sys.setrecursionlimit(limit)
    assert status == 0, f"mypy found type errors:\n{stdout}{stderr}"
    assert "Success: no issues found" in stdout
